"""The English and Japanese editions of every lesson, generated from one bilingual master.

A lesson notebook in ``notebooks/`` is the **master**: every prose cell in English carries
the tag ``lang-en`` and is followed by its Japanese counterpart, tagged ``lang-ja``; code
cells and their outputs carry no language tag and are shared. A Japanese cell records which
English cell it translates and that cell's SHA-256 when it was last revised::

    {"tags": ["lang-ja"], "vgg_course": {"translates": {"id": "e29dac05", "sha256": "..."}}}

so a change to the English makes the Japanese **stale** until someone revises it and runs
``python -m vgg_course editions --reviewed NOTEBOOK CELL_ID`` (which records the new hash).

``python -m vgg_course editions`` writes, for each language, ``notebooks/<lang>/NN_name.ipynb``
(the lesson, outputs kept: nbconvert's ``TagRemovePreprocessor`` drops the other language's
cells) and ``notebooks/<lang>/student/NN_name_student.ipynb`` (solutions stubbed, outputs
cleared, see ``vc.instructor.authoring.student_version``). ``--check`` writes nothing and
fails when an edition is stale. nbval checks the masters' outputs once; the editions' shared
cells are the masters' cells, byte for byte.

A kernel started in ``notebooks/ja/`` speaks Japanese (``vc.config``: the edition's folder
sets the language); ``vc.config.use(lang=...)`` or ``VGG_COURSE_LANG`` overrides it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vgg_course import workspace
from vgg_course.instructor.languages import (LANGS, TAG, cell_lang, edition, mark_reviewed,
                                             pair_metadata, problems, sha256, translates)
from vgg_course.instructor.stubs import student_version

__all__ = ["LANGS", "TAG", "cell_lang", "edition", "edition_folder", "mark_reviewed",
           "pair_metadata", "problems", "sha256", "translates", "write_editions"]


def edition_folder(lang: str, lessons: Path | None = None) -> Path:
    """``<lessons>/<lang>``: where the ``lang`` edition of the lessons lives."""
    return (workspace.lessons_folder() if lessons is None else Path(lessons)) / lang


def _write(path: Path, text: str, check: bool, stale: list[Path]) -> None:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    stale.append(path)
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def write_editions(masters: list[Path] | None = None, *, lessons: Path | None = None,
                   check: bool = False) -> list[Path]:
    """Write both editions (lessons and student copies) of each master; with ``check`` write
    nothing. Returns the files that were (or would be) written."""
    import nbformat

    folder = workspace.lessons_folder() if lessons is None else Path(lessons)
    masters = masters or sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    stale: list[Path] = []
    sanitize = folder / "sanitize.cfg"  # nbval's, so that an edition folder stands on its own
    for lang in LANGS:
        if sanitize.is_file():
            _write(edition_folder(lang, folder) / sanitize.name,
                   sanitize.read_text(encoding="utf-8"), check, stale)
    for master in masters:
        nb = nbformat.read(master, as_version=4)
        for lang in LANGS:
            lesson = edition(nb, lang)
            out = edition_folder(lang, folder)
            _write(out / master.name, nbformat.writes(lesson) + "\n", check, stale)
            student = student_version(lesson)
            student.metadata["vgg_course"]["edition"] = lang
            _write(out / "student" / workspace.student_name(master.name),
                   nbformat.writes(student) + "\n", check, stale)
    return stale


def _cli(args: argparse.Namespace) -> int:
    import nbformat

    if args.reviewed:
        try:
            mark_reviewed(Path(args.reviewed[0]), args.reviewed[1])
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"recorded: the Japanese of cell {args.reviewed[1]} is revised")
        return 0
    masters = args.notebooks or sorted(workspace.lessons_folder().glob("[0-9][0-9]_*.ipynb"))
    found = []
    for master in masters:
        found += problems(nbformat.read(master, as_version=4), str(master))
    for line in found:
        print(line, file=sys.stderr)
    stale = write_editions(masters, check=args.check)
    for path in stale:
        print(f"{'stale' if args.check else 'wrote'}: {path}")
    if args.check and stale:
        print("Run `python -m vgg_course editions` and commit the result.", file=sys.stderr)
    return 1 if found or (args.check and stale) else 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "editions", help="write notebooks/en/ and notebooks/ja/ from the bilingual lessons",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="master lessons (default: every NN_*.ipynb of the kit's lessons)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when an edition is stale")
    parser.add_argument("--reviewed", nargs=2, metavar=("NOTEBOOK", "CELL_ID"),
                        help="record that the Japanese after English cell CELL_ID is revised")
    parser.set_defaults(func=_cli)
