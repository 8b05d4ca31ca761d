"""Authoring the lessons: student notebooks generated from them, and the ``exercises sync`` command.

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
first stamps the Colab block for ``vc.colab.SOURCE`` into every lesson's first code cell
(removes it while ``SOURCE`` is unset, so no lesson runs a placeholder; a classroom release
stamps its own, ``release --colab-source``), then writes ``student/NN_name_student.ipynb``
(``vc.workspace.student_name``: a tab title apart from the lesson's) for every lesson of the
kit's lessons folder
(``notebooks/`` in the repository, see ``vc.workspace.lessons_folder``); ``--check`` only
compares.

``python -m vgg_course exercises sync`` is the one command after writing or changing an
exercise: it writes the public cases a student build checks with (``vc.exercises.public``,
from the instructor's ``expect_<q>``), stamps every lesson's Exercises section
(``vc.instructor.sections``), regenerates the student notebooks, and re-runs only the
lessons whose section changed (``scripts/regen_notebooks.py``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgg_course import workspace

if TYPE_CHECKING:  # nbformat, colab and the exercises (torch) load where they are used:
    from nbformat import NotebookNode  # `student-notebooks --help` answers at once

# Public here too, from vgg_course.instructor.sections (loaded on first use, see __getattr__).
_FROM_SECTIONS = ("add_exercises", "exercise_cells", "stamp_exercises")

_BEGIN = re.compile(r"^(?P<indent>\s*)#+\s*BEGIN SOLUTION\s*$")
_END = re.compile(r"^\s*#+\s*END SOLUTION\s*$")
CODE_STUB = "# YOUR CODE HERE"
TEXT_STUB = "YOUR ANSWER HERE"


class AuthoringError(ValueError):
    """A lesson notebook's solution markers are malformed."""


def __getattr__(name: str) -> Any:
    """``add_exercises``, ``exercise_cells``, ``stamp_exercises``: the sections', on first use."""
    if name in _FROM_SECTIONS:
        from vgg_course.instructor import sections
        return getattr(sections, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


# --- the command ----------------------------------------------------------------------

def lesson_notebooks(folder: Path | None = None) -> list[Path]:
    """The lesson notebooks ``NN_name.ipynb`` of ``folder`` (default: the kit's lessons)."""
    return sorted((workspace.lessons_folder() if folder is None else Path(folder))
                  .glob("[0-9][0-9]_*.ipynb"))


def student_folder(lessons: Path | None = None) -> Path:
    """Where the student notebooks of a lessons folder live: its ``student/``, each named by
    ``vc.workspace.student_name`` (``03_freezing_student.ipynb``)."""
    return (workspace.lessons_folder() if lessons is None else Path(lessons)) / "student"


def write_student_notebooks(lessons: list[Path] | None = None, *, out_dir: Path | None = None,
                            check: bool = False) -> list[Path]:
    """Generate the student notebooks; with ``check`` write nothing and return stale ones.

    ``out_dir`` defaults to ``student/`` beside the kit's lessons.
    """
    import nbformat

    out_dir = student_folder() if out_dir is None else Path(out_dir)
    stale = []
    for lesson in lessons or lesson_notebooks():
        text = nbformat.writes(student_version(nbformat.read(lesson, as_version=4))) + "\n"
        target = out_dir / workspace.student_name(lesson.name)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if not check:
            out_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return stale


# --- exercises sync -------------------------------------------------------------------

def public_cases() -> dict[str, list[dict]]:
    """Every function exercise's public seed-0 cases with the instructor's expected data
    (what a student build checks with); prediction exercises are never among them."""
    from vgg_course import exercises as exercise_modules
    from vgg_course.exercises import predictions

    return {ex.id: ex.cases(0) for name in exercise_modules.MODULES
            for ex in exercise_modules.exercises(name)
            if not isinstance(ex, predictions.PredictionExercise) and ex.expectation()}


def write_public_cases(found: dict[str, list[dict]], *, check: bool = False) -> bool:
    """Write ``vgg_course/exercises/public_cases.json`` for ``found``; ``True`` when stale."""
    from vgg_course.exercises import public

    text = public.render(found)
    if public.PATH.is_file() and public.PATH.read_text(encoding="utf-8") == text:
        return False
    if not check:
        public.PATH.write_text(text, encoding="utf-8")
        public.forget()
    return True


def sync(lessons: Path | None = None, *, execute: bool = True) -> list[Path]:
    """Public cases, Exercises sections, student notebooks, then the changed lessons re-run.

    Args:
        lessons: the lessons folder (default: the kit's, ``notebooks/``).
        execute: re-run each lesson whose section changed with
            ``scripts/regen_notebooks.py`` (beside the lessons folder), so its stored
            outputs follow; ``False`` (``--no-execute``) leaves the outputs as they are.

    Returns:
        The lesson notebooks whose section changed (the ones re-run).

    Raises:
        FileNotFoundError: ``execute`` without ``scripts/regen_notebooks.py`` beside the lessons.
        subprocess.CalledProcessError: a re-run lesson failed (it is not written).
    """
    from vgg_course import exercises as exercise_modules
    from vgg_course.instructor.sections import stamp_exercises

    folder = workspace.lessons_folder() if lessons is None else Path(lessons)
    write_public_cases(public_cases())
    notebooks = lesson_notebooks(folder)
    changed = []
    for path in notebooks:
        name = path.stem.split("_", 1)[-1]
        if name in exercise_modules.MODULES and stamp_exercises(path):
            changed.append(path)
    write_student_notebooks(notebooks, out_dir=student_folder(folder))
    if execute and changed:
        script = folder.resolve().parent / "scripts" / "regen_notebooks.py"
        if not script.is_file():
            raise FileNotFoundError(f"{script} not found: re-run the changed lessons yourself, "
                                    "or sync with --no-execute")
        subprocess.run([sys.executable, str(script), *map(str, changed)], check=True)
    return changed


def _sync_cli(args: argparse.Namespace) -> int:
    try:
        changed = sync(args.lessons, execute=not args.no_execute)
    except (AuthoringError, OSError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'stamped' if args.no_execute else 'stamped and re-run'}: {path}")
    print("exercises are in sync" if not changed else f"{len(changed)} lesson(s) changed")
    return 0


def _cli(args: argparse.Namespace) -> int:
    import nbformat

    from vgg_course import colab

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
        description="Stamp the Colab install block for SOURCE in vgg_course/colab.py into "
                    "each lesson's first code cell (or remove it while SOURCE is unset; the "
                    "classroom release stamps its own, see 'release --colab-source'), then "
                    "write a student copy of each lesson notebook, NN_name_student.ipynb: "
                    "solutions replaced by stubs, outputs cleared.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="lesson notebooks (default: every NN_*.ipynb of the kit's "
                             "lessons, notebooks/ in the repository)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write them (default: student/ beside the lessons, "
                             "notebooks/student in the repository)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a student notebook is out of date")
    parser.set_defaults(func=_cli)
    exercises_parser = subparsers.add_parser(
        "exercises", help="exercise authoring: run 'exercises sync' after adding or changing one",
        description="Exercise authoring. After adding or changing an exercise, 'exercises sync' "
                    "brings everything generated from it up to date.")
    sync_parser = exercises_parser.add_subparsers(dest="exercises_command", required=True,
                                                  help="what to do") \
        .add_parser("sync", help="public cases, lesson sections, student notebooks, changed lessons re-run",
                    description=sync.__doc__.split("\n\n")[0])
    sync_parser.add_argument("--lessons", type=Path, default=None,
                             help="the lessons folder (default: the kit's, notebooks/)")
    sync_parser.add_argument("--no-execute", action="store_true",
                             help="do not re-run the changed lessons (their outputs stay as they are)")
    sync_parser.set_defaults(func=_sync_cli)
