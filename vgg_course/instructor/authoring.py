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
import subprocess
import sys
from pathlib import Path
from typing import Any

from vgg_course import workspace
from vgg_course.instructor import editions, languages
# The stubbing itself lives in vgg_course.instructor.stubs; its names are public here too.
from vgg_course.instructor.stubs import (CODE_STUB, TEXT_STUB, AuthoringError,  # noqa: F401
                                         clear_solutions, student_version)

# Public here too, from vgg_course.instructor.sections (loaded on first use, see __getattr__).
_FROM_SECTIONS = ("add_exercises", "exercise_cells", "stamp_exercises")

def __getattr__(name: str) -> Any:
    """``add_exercises``, ``exercise_cells``, ``stamp_exercises``: the sections', on first use."""
    if name in _FROM_SECTIONS:
        from vgg_course.instructor import sections
        return getattr(sections, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- the command ----------------------------------------------------------------------

def lesson_notebooks(folder: Path | None = None) -> list[Path]:
    """The lesson notebooks ``NN_name.ipynb`` of ``folder`` (default: the kit's lessons)."""
    return sorted((workspace.lessons_folder() if folder is None else Path(folder))
                  .glob("[0-9][0-9]_*.ipynb"))


def student_folder(lessons: Path | None = None, lang: str = "en") -> Path:
    """Where the student notebooks of a lessons folder's ``lang`` edition live:
    ``<lang>/student/``, each named by ``vc.workspace.student_name``
    (``03_freezing_student.ipynb``)."""
    return (workspace.lessons_folder() if lessons is None else Path(lessons)) / lang / "student"


def write_student_notebooks(lessons: list[Path] | None = None, *, out_dir: Path | None = None,
                            check: bool = False, lang: str = "en") -> list[Path]:
    """Generate the ``lang`` edition's student notebooks; with ``check`` write nothing and
    return stale ones.

    ``out_dir`` defaults to ``<lang>/student/`` beside the kit's lessons.
    """
    import nbformat



    out_dir = student_folder(lang=lang) if out_dir is None else Path(out_dir)
    stale = []
    for lesson in lessons or lesson_notebooks():
        student = student_version(languages.edition(nbformat.read(lesson, as_version=4), lang))
        student.metadata["vgg_course"]["edition"] = lang
        text = nbformat.writes(student) + "\n"
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
    editions.write_editions(notebooks, lessons=folder)
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
        if args.out is None:  # both editions of every lesson and their student copies
            changed += editions.write_editions(lessons, lessons=Path(lessons[0]).parent,
                                               check=args.check)
        else:
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
        "student-notebooks", help="generate notebooks/{en,ja}/ (lessons and student/) from the "
                                  "bilingual lesson notebooks",
        description="Stamp the Colab install block for SOURCE in vgg_course/colab.py into "
                    "each lesson's first code cell (or remove it while SOURCE is unset; the "
                    "classroom release stamps its own, see 'release --colab-source'), then "
                    "write a student copy of each lesson notebook, NN_name_student.ipynb: "
                    "solutions replaced by stubs, outputs cleared.")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="lesson notebooks (default: every NN_*.ipynb of the kit's "
                             "lessons, notebooks/ in the repository)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write only the student copies, here (default: both editions, "
                             "notebooks/en/ and notebooks/ja/ with their student/)")
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
