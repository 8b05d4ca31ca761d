"""Student notebooks generated from the solution (lesson) notebooks: one source of truth.

Lesson notebooks are the solution notebooks. Their answer cells mark the solution with
nbgrader's delimiters, so an instructor can also use nbgrader unchanged::

    def freeze_features(model):
        ### BEGIN SOLUTION
        for p in model.features.parameters():
            p.requires_grad = False
        ### END SOLUTION

``student_version()`` replaces each region by a stub at the same indentation
(``# YOUR CODE HERE`` + ``raise NotImplementedError()`` inside a block, as nbgrader does;
at the top level of a cell ``name = ...`` for the names the rest of the cell or the
exercise needs, so an untouched student notebook runs to the end and its checks say
"not attempted"), and clears every output. ``python -m vgg_course student-notebooks``
first stamps the Colab block (``vc.colab``) into every lesson's first code cell, then writes ``student/NN_name.ipynb`` beside every lesson of the kit's lessons folder
(``notebooks/`` in the repository, see ``vc.workspace.lessons_folder``); ``--check`` only
compares.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from vgg_course import colab, workspace
from vgg_course import exercises as exercise_modules

_BEGIN = re.compile(r"^(?P<indent>\s*)#+\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
CODE_STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"


class AuthoringError(ValueError):
    """A lesson notebook's solution markers are malformed."""


def _assigned_names(block: str) -> list[str]:
    """Names a top-level block binds, outside any function or class it defines."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
            names.append(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(textwrap.dedent(block)))
    return names


def _used_names(code: str) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def clear_solutions(source: str, *, markdown: bool = False, keep: tuple[str, ...] = ()) -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region by a stub.

    Args:
        source: a cell's source.
        markdown: the cell is markdown (the stub is ``YOUR ANSWER HERE``).
        keep: names a top-level stub must still define (the exercise's answer).

    Raises:
        AuthoringError: a region is not closed, or an END comes without a BEGIN.

    Example:
        >>> print(clear_solutions("x = 1\\n### BEGIN SOLUTION\\ny = x + 1\\n### END SOLUTION\\nprint(y)"))
        x = 1
        # YOUR CODE HERE
        y = ...
        print(y)
    """
    lines, out, i = source.splitlines(), [], 0
    while i < len(lines):
        begin = _BEGIN.match(lines[i])
        if _END.match(lines[i]):
            raise AuthoringError(f"line {i + 1}: END SOLUTION without BEGIN SOLUTION")
        if not begin:
            out.append(lines[i])
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if _END.match(lines[j])), None)
        if end is None:
            raise AuthoringError(f"line {i + 1}: BEGIN SOLUTION without END SOLUTION")
        if any(_BEGIN.match(line) for line in lines[i + 1:end]):
            raise AuthoringError(f"line {i + 1}: nested BEGIN SOLUTION")
        indent, block = begin["indent"], "\n".join(lines[i + 1:end])
        if markdown:
            out.append(indent + TEXT_STUB)
        elif indent:
            out += [indent + CODE_STUB, indent + "raise NotImplementedError()"]
        else:
            later = _used_names("\n".join(lines[end + 1:]))
            try:
                bound = _assigned_names(block)
            except SyntaxError as exc:
                raise AuthoringError(f"line {i + 1}: the solution does not parse: {exc}") from exc
            out += [CODE_STUB] + [f"{n} = ..." for n in bound if n in later or n in keep]
        i = end + 1
    return "\n".join(out)


def student_version(nb: NotebookNode) -> NotebookNode:
    """A copy of a solution notebook with solutions stubbed and all outputs cleared."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        answer = cell.metadata.get("vgg_course", {}).get("answer")
        try:
            cell.source = clear_solutions(cell.source, markdown=cell.cell_type == "markdown",
                                          keep=(answer,) if answer else ())
        except AuthoringError as exc:
            raise AuthoringError(f"cell {index}: {exc}") from None
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["vgg_course"] = {"student": True}
    return nb


# --- the exercise section appended to a lesson ----------------------------------------

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
            "it. Write your answer, run it, then run the check: it runs your code on fresh "
            "models and tables (other widths, other networks, shuffled rows) and tells you "
            "what is right and what is not, without giving the answer away. In a **Predict** "
            "exercise, commit to your numbers first: the check grades the prediction, and the "
            "verify cell after it shows what really happens. Some exercises are **Find the "
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


def add_exercises(path: str | Path) -> Path:
    """Append (or replace) the Exercises section at the end of a lesson notebook."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells  # drop an earlier version of the section, nothing else
                if c.metadata.get("vgg_course", {}).get("role") not in _ROLES]
    nb.cells += exercise_cells(path.stem)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


# --- the command ----------------------------------------------------------------------

def lesson_notebooks(folder: Path | None = None) -> list[Path]:
    """The lesson notebooks ``NN_name.ipynb`` of ``folder`` (default: the kit's lessons)."""
    return sorted((workspace.lessons_folder() if folder is None else Path(folder))
                  .glob("[0-9][0-9]_*.ipynb"))


def student_folder(lessons: Path | None = None) -> Path:
    """Where the student notebooks of a lessons folder live: its ``student/``."""
    return (workspace.lessons_folder() if lessons is None else Path(lessons)) / "student"


def write_student_notebooks(lessons: list[Path] | None = None, *, out_dir: Path | None = None,
                            check: bool = False) -> list[Path]:
    """Generate the student notebooks; with ``check`` write nothing and return stale ones.

    ``out_dir`` defaults to ``student/`` beside the kit's lessons.
    """
    out_dir = student_folder() if out_dir is None else Path(out_dir)
    stale = []
    for lesson in lessons or lesson_notebooks():
        text = nbformat.writes(student_version(nbformat.read(lesson, as_version=4))) + "\n"
        target = out_dir / lesson.name
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if not check:
            out_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return stale


def _cli(args: argparse.Namespace) -> int:
    try:
        lessons = args.notebooks or lesson_notebooks()
        changed = colab.stamp_lessons(lessons, check=args.check)  # the students' copies follow
        changed += write_student_notebooks(lessons, out_dir=args.out, check=args.check)
    except (AuthoringError, OSError, ValueError, nbformat.ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'stale' if args.check else 'wrote'}: {path}")
    if args.check and changed:
        print("Run `python -m vgg_course student-notebooks` and commit the result.",
              file=sys.stderr)
        return 1
    if not changed:
        print("student notebooks are up to date")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "student-notebooks", help="generate notebooks/student/ from the lesson notebooks",
        description="Stamp the Colab install block (vgg_course/colab.py) into each lesson's "
                    "first code cell, then write a student copy of each lesson notebook: "
                    "solutions replaced by stubs, outputs cleared.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="lesson notebooks (default: every NN_*.ipynb of the kit's "
                             "lessons, notebooks/ in the repository)")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: student/ beside the lessons (notebooks/student)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a student notebook is out of date")
    parser.set_defaults(func=_cli)
