"""The order a graded notebook runs in: every code cell but the checks, each exercise probed after its own cells.

A notebook is graded the way it ran for the student: from the top, every code cell in
order (the lesson's cells with their imports, the setup cell, earlier exercises' answers
and the helper and scratch cells around them), so an answer sees what the notebook had
defined above it. Check cells are never run (the grader probes each answer itself): a
cell whose metadata says ``"check"`` or whose source is an exercise's check. An exercise
is probed right after its own cells (:func:`vgg_course.instructor.submissions.answer_cells`:
its answer cell and the cells below it, up to its check), where its check cell would have
run; cells after the last probe are not run. :mod:`vgg_course.instructor.probing` runs the
steps and says which limits apply to which step.
"""

from __future__ import annotations

import nbformat

from vgg_course import exercises
from vgg_course.instructor import submissions


def _role(cell) -> str | None:
    meta = cell.metadata.get("vgg_course", {})
    return meta.get("role") if isinstance(meta, dict) else None


def steps(nb: nbformat.NotebookNode, lesson: str) -> list[dict]:
    """The notebook's steps in order: ``{"cell": index, "source", "kind", "exercise"}``
    (``kind`` ``"setup"``, ``"own"`` for an exercise's own cells, ``"lesson"`` for the lesson's
    cells above the exercises, ``"other"`` for any other cell) and
    ``{"probe": exercise id}``. A deleted setup cell is replaced by the kit's, run just
    before the first exercise (its ``"cell"`` is ``None``).

    Example:
        >>> from vgg_course.instructor import sections
        >>> nb = nbformat.v4.new_notebook(cells=sections.exercise_cells("03_freezing"))
        >>> [s.get("probe") or (s["cell"], s["kind"]) for s in steps(nb, "03_freezing")]
        [(2, 'setup'), (5, 'own'), 'freezing.q1', (9, 'own'), 'freezing.q2', (13, 'own'), 'freezing.q3']
    """
    lesson_exercises = exercises.exercises(lesson)
    checks = {ex.check_source() for ex in lesson_exercises}
    own = submissions.answer_cells(nb, lesson)
    owner = {index: ex_id for ex_id, cells in own.items() for index, _ in cells}
    probe_at: dict[int, list[str]] = {}  # cell index -> exercises probed right after it
    for ex in lesson_exercises:
        if own[ex.id]:
            at = max(index for index, _ in own[ex.id])
        else:  # no answer cell: probed where its check cell is, else at the end
            at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                       and c.source.strip() == ex.check_source()), len(nb.cells))
        probe_at.setdefault(at, []).append(ex.id)
    has_setup = any(c.cell_type == "code" and _role(c) == "setup" for c in nb.cells)
    exercises_start = min([i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                           and _role(c) == "setup"] + list(owner) + list(probe_at))
    out: list[dict] = []
    setup_done = has_setup
    for index in range(len(nb.cells) + 1):
        cell = nb.cells[index] if index < len(nb.cells) else None
        if cell is not None and cell.cell_type == "code":
            role = _role(cell)
            if role != "check" and cell.source.strip() not in checks:
                kind = ("own" if index in owner else "setup" if role == "setup"
                        else "lesson" if index < exercises_start else "other")
                if kind == "own" and not setup_done:
                    out.append(_setup(nb, lesson))
                    setup_done = True
                out.append({"cell": index, "source": cell.source, "kind": kind,
                            "exercise": owner.get(index)})
        for ex_id in probe_at.get(index, []):
            if not setup_done:
                out.append(_setup(nb, lesson))
                setup_done = True
            out.append({"probe": ex_id})
    last = max(i for i, s in enumerate(out) if "probe" in s)
    return out[:last + 1]


def _setup(nb: nbformat.NotebookNode, lesson: str) -> dict:
    """The kit's setup cell, in place of a deleted one."""
    return {"cell": None, "source": submissions.setup_cell(nb, lesson), "kind": "setup",
            "exercise": None}
