"""The Exercises section of a lesson notebook: cells made from its exercise module, stamped in.

Each lesson with an exercise module (``vgg_course.exercises.<name>``) ends on a section of
cells that :func:`exercise_cells` makes from that module: a banner, then per exercise a task
(markdown), an answer cell (the instructor's solution function, see
``vgg_course.exercises.solutions``), a check cell and, for a prediction, a verify cell. The
cells carry nbgrader's metadata, so the lesson is also an nbgrader source notebook.
:func:`stamp_exercises` writes the section into a lesson, and only when it changed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from vgg_course import exercises as exercise_modules

def _meta(role: str, exercise: str | None = None, **nbgrader: object) -> dict:
    meta: dict = {"vgg_course": {"role": role}}
    if exercise:
        meta["vgg_course"]["exercise"] = exercise
    if nbgrader:
        grade_id = f"{exercise or 'setup'}-{role}".replace(".", "-")
        meta["nbgrader"] = {"grade": False, "grade_id": grade_id, "schema_version": 3,
                            "task": False, **nbgrader}
    return meta


def exercise_cells(lesson: str) -> list[NotebookNode]:
    """The "Exercises" section for a lesson, solution version (a banner, an answer cell and
    a check cell per exercise); the cells come from the lesson's exercise module."""
    module = exercise_modules.load(lesson)
    name = module.__name__.rsplit(".", 1)[-1]
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell(
            "## Exercises\n\n"
            "Each exercise has a task, a cell for your answer and a check cell right after "
            "it. Write your answer, run it, then run the check: it runs your code on other "
            "models and tables (other widths, other networks, shuffled rows) and tells you "
            "what is right and what is not, without giving the answer away. In a **Predict** "
            "exercise, commit to your numbers first: the check records your prediction, and "
            "the verify cell after it shows what really happens beside it; your instructor's "
            "grader marks it. Some exercises are **Find the "
            "bug**: the task shows code with a mistake people really make; write the fixed "
            "version. Stuck? `ex.q1.hint()`; given up? `ex.q1.solution()` (in a classroom "
            "release, solutions come from your instructor).",
            metadata=_meta("section")),
        v4.new_code_cell(
            f"{exercise_modules.core.SETUP_IMPORTS}\n"
            f"from vgg_course.exercises import {name} as ex",
            metadata=_meta("setup", locked=True, solution=False)),
    ]
    for number, ex in enumerate(module.EXERCISES, start=1):
        points = f"{ex.points} point{'s' if ex.points != 1 else ''}"
        cells += [
            v4.new_markdown_cell(f"### ✏️ Exercise {number} · {ex.title} ({points})\n\n{ex.task}",
                                 metadata=_meta("task", ex.id, locked=True, solution=False)),
            v4.new_code_cell(ex.cell, metadata={
                **_meta("answer", ex.id, locked=False, solution=True),
                "vgg_course": {"role": "answer", "exercise": ex.id, "answer": ex.answer}}),
            v4.new_code_cell(ex.check_source(),
                             metadata=_meta("check", ex.id, locked=True, solution=False,
                                           grade=True, points=ex.points)),
        ]
        if ex.verify:  # predict-then-verify: the real result, after the prediction is checked
            cells.append(v4.new_code_cell(
                ex.verify, metadata=_meta("verify", ex.id, locked=True, solution=False)))
    return cells


_ROLES = {"section", "setup", "task", "answer", "check", "verify"}


def _role(cell: NotebookNode) -> tuple[str | None, str | None]:
    meta = cell.metadata.get("vgg_course", {})
    return meta.get("role"), meta.get("exercise")


def stamp_exercises(path: str | Path) -> bool:
    """Write the Exercises section into a lesson notebook; ``True`` when it changed.

    The section replaces an earlier version where that one began (at the end for a lesson
    without one); the lesson's other cells are left alone. A stamped cell keeps the id of the
    cell it replaces, and its stored outputs when its source and metadata did not change (a
    changed one has none until the lesson runs again). Nothing is written when nothing changed.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    at = [i for i, c in enumerate(nb.cells) if _role(c)[0] in _ROLES]
    old = [nb.cells[i] for i in at]
    new = exercise_cells(path.stem)
    if [(c.cell_type, c.source, c.metadata) for c in old] == \
            [(c.cell_type, c.source, c.metadata) for c in new]:
        return False
    earlier = {(_role(c), c.cell_type): c for c in old}
    for cell in new:
        same = earlier.get((_role(cell), cell.cell_type))
        if same is None:
            continue
        if "id" in same:  # the same exercise's cell: a diff shows only what changed
            cell.id = same.id
        if cell.cell_type == "code" and (same.source, same.metadata) == (cell.source, cell.metadata):
            cell.outputs, cell.execution_count = same.outputs, same.execution_count
    start = at[0] if at else len(nb.cells)
    nb.cells = [c for c in nb.cells if _role(c)[0] not in _ROLES]
    nb.cells[start:start] = new
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return True


def add_exercises(path: str | Path) -> Path:
    """Write (or replace) the Exercises section of a lesson notebook; returns its path."""
    stamp_exercises(path)
    return Path(path)
