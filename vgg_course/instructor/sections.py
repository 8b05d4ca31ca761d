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
from vgg_course.i18n import N_, in_lang
from vgg_course.instructor import languages as editions

SECTION = N_(
    "## Exercises\n\n"
    "Write your answer under each task, run it, then run the check: it tries your code on other "
    "models and tables and says what is wrong, never the answer. **Predict**: commit to your "
    "numbers first; the check records them and the verify cell shows what really happens. "
    "**Find the bug**: fix the code shown. Stuck? `ex.q1.hint()`. Given up? `ex.q1.solution()` "
    "(in a classroom release, solutions come from your instructor).")
TASK = N_("### ✏️ Exercise {number} · {title} ({points})\n\n{task}")
POINT, POINTS = N_("{n} point"), N_("{n} points")

def _meta(role: str, exercise: str | None = None, **nbgrader: object) -> dict:
    meta: dict = {"vgg_course": {"role": role}}
    if exercise:
        meta["vgg_course"]["exercise"] = exercise
    if nbgrader:
        grade_id = f"{exercise or 'setup'}-{role}".replace(".", "-")
        meta["nbgrader"] = {"grade": False, "grade_id": grade_id, "schema_version": 3,
                            "task": False, **nbgrader}
    return meta


def _prose(text: str, ja: str, metadata: dict) -> list[NotebookNode]:
    """An English prose cell and its Japanese counterpart (see ``vc.instructor.editions``)."""
    en = nbformat.v4.new_markdown_cell(text, metadata={**metadata, "tags": [editions.TAG["en"]]})
    en.id = _stable_id(metadata, "en")
    ja_cell = nbformat.v4.new_markdown_cell(ja, metadata=editions.pair_metadata(en))
    ja_cell.id = _stable_id(metadata, "ja")
    return [en, ja_cell]


def _stable_id(metadata: dict, lang: str) -> str:
    """A cell id that a re-stamp gives again (the pair's link survives a re-stamp)."""
    meta = metadata["vgg_course"]
    key = f"{meta['role']}:{meta.get('exercise', '')}:{lang}"
    return editions.sha256(key)[:8]


def task_text(number: int, ex, lang: str) -> str:
    """An exercise's task cell in ``lang``: its number, title, points and statement."""
    points = in_lang(lang, POINT if ex.points == 1 else POINTS).format(n=ex.points)
    return in_lang(lang, TASK).format(number=number, title=in_lang(lang, ex.title),
                                      points=points, task=in_lang(lang, ex.task))


def exercise_cells(lesson: str) -> list[NotebookNode]:
    """The "Exercises" section for a lesson, solution version (a banner, an answer cell and
    a check cell per exercise); the cells come from the lesson's exercise module. Prose
    comes in pairs, English then Japanese (the master's form, see ``vc.instructor.editions``)."""
    module = exercise_modules.load(lesson)
    name = module.__name__.rsplit(".", 1)[-1]
    v4 = nbformat.v4
    cells = [
        *_prose(SECTION, in_lang("ja", SECTION), _meta("section")),
        v4.new_code_cell(
            f"{exercise_modules.core.SETUP_IMPORTS}\n"
            f"from vgg_course.exercises import {name} as ex",
            metadata=_meta("setup", locked=True, solution=False)),
    ]
    for number, ex in enumerate(module.EXERCISES, start=1):
        cells += [
            *_prose(task_text(number, ex, "en"), task_text(number, ex, "ja"),
                    _meta("task", ex.id, locked=True, solution=False)),
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


def _key(cell: NotebookNode) -> tuple:
    return _role(cell), cell.cell_type, editions.cell_lang(cell)


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
    earlier = {_key(c): c for c in old}
    for cell in new:
        same = earlier.get(_key(cell))
        if same is None:
            continue
        if "id" in same and cell.cell_type == "code":  # a diff shows only what changed
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
