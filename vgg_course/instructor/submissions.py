"""Reading submitted notebooks: who and which lesson, each exercise's answer cells, edited checks.

A submission is only read here, never run: :func:`answer_cells` says which cells the grader
runs for each exercise (the cells an exercise's answer cell starts, up to the next exercise
cell: a helper cell a student added below an answer belongs to it), :func:`setup_cell`
which cell every exercise runs first, and :func:`check_cell_notes` which check cells were
edited or deleted (the grader never runs check cells: it probes the answers itself).
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from vgg_course import exercises, workspace
from vgg_course.instructor import sections, students


class InvalidSubmission(ValueError):
    """The file is not a notebook the grader can read."""


@dataclass(frozen=True)
class Found:
    """One notebook under the submissions folder (or something refused in its place).

    ``student`` is the student's id (:func:`vc.instructor.students.student_id`), ``name``
    and ``file`` the folder's name and the file's path below the submissions folder, both
    escaped for printing. ``problem`` says why it is not graded (``""``: it is);
    ``others`` are the student's other notebooks of the same lesson.
    """

    student: str
    path: Path
    lesson: str | None
    problem: str = ""
    name: str = field(default="", compare=False)
    file: str = field(default="", compare=False)
    others: tuple[Path, ...] = field(default=(), compare=False)


def _lesson(entry: students.Entry, lesson: str | None) -> str | None:
    if not entry.path.name.lower().endswith(students.NOTEBOOK):
        return None  # a link or a folder refused in a student's place: no lesson to name
    named = workspace.lesson_stem(entry.path.name[:-len(students.NOTEBOOK)])
    try:
        exercises.load(named)
        return named
    except KeyError:
        return lesson


def _roster_rows(submissions: Path) -> list[dict[str, str]]:
    """The rows of the ``roster.csv`` that ``collect`` writes, if there is one, with each
    cell as written before ``students.cell`` escaped it."""
    try:
        text = students.read_regular(submissions / "roster.csv").decode("utf-8", "replace")
    except OSError:
        return []
    return [{k: v[1:] if v[:1] == "'" and v[1:2] in students.FORMULA else v
             for k, v in row.items() if k} for row in csv.DictReader(io.StringIO(text))]


def _roster(submissions: Path) -> dict[str, str]:
    """``{id: name}`` from the roster ``collect`` wrote."""
    return {row.get("id", ""): row.get("name", "") for row in _roster_rows(submissions)}


def _refused_when_collected(submissions: Path, lesson: str | None) -> list[Found]:
    """A row for each file ``collect`` refused (a link, a FIFO, a huge file): the student
    is in the gradebook with the reason, even when nothing of theirs was copied."""
    found = []
    for row in _roster_rows(submissions):
        sid, name = row.get("id", ""), row.get("name", "")
        for entry in filter(None, row.get("refused", "").split("; ")):
            file, _, why = entry.partition(": ")
            if not why or why.endswith("(copied once)") or not sid:
                continue
            path = submissions / sid / Path(file).name
            found.append(Found(sid, path, _lesson(students.Entry(sid, path), lesson),
                               f"{why}, when collected", name=name, file=file))
    return found


def _same_bytes(paths: list[Path]) -> bool:
    try:
        return len({students.read_regular(p) for p in paths}) == 1
    except OSError:
        return False


def _one_per_lesson(found: list[Found]) -> list[Found]:
    """The duplicate rule: two notebooks of one lesson in one student's folder are both
    left ungraded and named (identical copies are graded once), never raced."""
    groups: dict[tuple[str, str], list[Found]] = {}
    for f in found:
        if not f.problem and f.lesson is not None:
            groups.setdefault((f.student, f.lesson), []).append(f)
    out = [f for f in found if f.problem or f.lesson is None]
    for (_, lesson), group in groups.items():
        first, others = group[0], tuple(g.path for g in group[1:])
        if not others:
            out.append(first)
        elif _same_bytes([g.path for g in group]):
            out.append(dataclasses.replace(first, others=others))
        else:
            files = ", ".join(g.file for g in group)
            out.append(dataclasses.replace(first, others=others, problem=(
                f"duplicate: {len(group)} different notebooks of {lesson} ({files}); none "
                "was graded: keep one and grade again")))
    return out


def discover(submissions: Path, lesson: str | None = None) -> list[Found]:
    """Every ``*.ipynb`` under ``submissions``, one per student and lesson, sorted by id.

    Layouts: ``<student>/<NN_name>.ipynb`` (also nbgrader's ``<student>/<assignment>/...``)
    or ``<student>.ipynb`` with ``lesson`` given. The lesson is the one the file's stem
    names when it has exercises, else ``lesson``; a student copy's stem names its lesson
    too, by its name now (``03_freezing_student``) or its old one (``03_freezing``), see
    ``vc.workspace.student_name``. Hidden folders are skipped. Nothing is followed or
    opened (:func:`vc.instructor.students.walk`): links, FIFOs, devices and huge files
    come back with their ``problem``, and so do two notebooks of one lesson.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     for name in ("ann/03_freezing_student.ipynb", "bo/03_freezing.ipynb"):
        ...         (Path(tmp) / name).parent.mkdir()
        ...         _ = (Path(tmp) / name).write_text("{}")
        ...     [(f.student, f.lesson) for f in discover(Path(tmp))]
        [('ann', '03_freezing'), ('bo', '03_freezing')]
    """
    submissions = Path(submissions)
    entries = students.walk(submissions)
    ids = students.student_ids({e.student for e in entries})
    roster = _roster(submissions)
    found = [Found(ids[e.student], e.path, _lesson(e, lesson), e.problem,
                   name=roster.get(e.student) if ids[e.student] == e.student and roster.get(
                       e.student) else students.display(e.student),
                   file=students.display(str(e.path.relative_to(submissions))))
             for e in entries]
    found += _refused_when_collected(submissions, lesson)
    return sorted(_one_per_lesson(found),
                  key=lambda f: (f.student, f.lesson or "", os.fsencode(str(f.path))))


def read(path: Path) -> nbformat.NotebookNode:
    """The notebook, validated, with every stored output dropped (they are never trusted).
    The file is read only if it is a regular file within the size limit, never through
    a link (:func:`vc.instructor.students.read_regular`)."""
    try:
        text = students.read_regular(path).decode("utf-8", errors="replace")
    except OSError as exc:
        raise InvalidSubmission(f"not read: {exc}") from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # not JSON, not a notebook, a broken notebook
        raise InvalidSubmission(f"not a valid notebook ({type(exc).__name__}: "
                                f"{' '.join(str(exc).split())[:150]})") from None
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _role(cell) -> tuple[str | None, str | None]:
    meta = cell.metadata.get("vgg_course", {})
    return (meta.get("role"), meta.get("exercise")) if isinstance(meta, dict) else (None, None)


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
            return True
    return False


def setup_cell(nb: nbformat.NotebookNode, lesson: str) -> str:
    """The source of the notebook's exercise setup cell, or the kit's if it was deleted."""
    for cell in nb.cells:
        if cell.cell_type == "code" and _role(cell)[0] == "setup":
            return cell.source
    return next(c.source for c in sections.exercise_cells(lesson) if _role(c)[0] == "setup")


def answer_cells(nb: nbformat.NotebookNode, lesson: str) -> dict[str, list[tuple[int, str]]]:
    """``{exercise id: [(cell index, source), ...]}``: each answer cell (by its metadata)
    and the unmarked code cells after it, up to the next exercise cell. An exercise whose
    answer cell lost its metadata gets the code cells that define its answer's name.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=sections.exercise_cells("03_freezing"))
        >>> [index for index, source in answer_cells(nb, "03_freezing")["freezing.q2"]]
        [9]
    """
    owned: dict[str, list[tuple[int, str]]] = {e.id: [] for e in exercises.exercises(lesson)}
    current = None
    for index, cell in enumerate(nb.cells):
        role, exercise = _role(cell)
        if role is not None:
            current = exercise if role == "answer" and exercise in owned else None
        if cell.cell_type == "code" and current is not None:
            owned[current].append((index, cell.source))
    for ex in exercises.exercises(lesson):
        if not owned[ex.id]:
            owned[ex.id] = [(i, c.source) for i, c in enumerate(nb.cells)
                            if c.cell_type == "code" and _role(c)[0] is None
                            and _defines(c.source, ex.answer)]
    return owned


def check_cell_notes(nb: nbformat.NotebookNode, lesson: str) -> list[str]:
    """What happened to the check cells: edited or deleted ones, one line each."""
    notes = []
    for ex in exercises.exercises(lesson):
        source = ex.check_source()
        cells = [c for c in nb.cells if c.cell_type == "code" and (
            c.source.strip() == source or _role(c) == ("check", ex.id))]
        if not cells:
            notes.append(f"the check cell of {ex.id} was deleted")
        elif any(c.source.strip() != source for c in cells):
            notes.append(f"the check cell of {ex.id} was edited")
    return notes
