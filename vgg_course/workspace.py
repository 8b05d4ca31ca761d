"""The learner's course folder: lessons copied out of the package, edited ones never overwritten.

The lessons ship inside the package, as ``vgg_course.lessons`` (in the repository that is
``notebooks/``): the lesson notebooks, the student notebooks in ``student/`` and
``sanitize.cfg`` for nbval. A student copy is named apart from its lesson
(``student/03_freezing_student.ipynb`` beside ``03_freezing.ipynb``, :func:`student_name`), so
JupyterLab never shows two tabs of one title. ``python -m vgg_course lessons DEST`` copies
them into DEST and writes ``DEST/vgg-course.json``, which marks DEST as the course folder
(data, results and grades go under it, see ``vc.config``) and records the SHA-256 of every
file it wrote.
Running it again never overwrites a file. With ``--update``, a file that is still as it was
copied is refreshed from the package; a file the learner changed is kept, and named. A
student copy under its old name (``student/03_freezing.ipynb``, from a kit before the rename)
is never touched: the new name is copied beside it, and the report says so.

Commands that write into the course folder (``data install``, ``compare``, ``grade``, ...)
ask ``where_to_write`` first: outside a course folder they stop and say where they would
have written, instead of filling whatever folder the shell happens to be in.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.resources
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from vgg_course import __version__, config

PATTERNS = ("[0-9][0-9]_*.ipynb", "student/[0-9][0-9]_*.ipynb", "sanitize.cfg")
STUDENT_SUFFIX = "_student"  # 03_freezing.ipynb's student copy: 03_freezing_student.ipynb


def student_name(lesson: str) -> str:
    """The file name of a lesson's student copy: the lesson's stem, ``_student``, its suffix.

    It sorts by lesson number like the lesson, and a tab titled with it is the student's.

    Example:
        >>> student_name("03_freezing.ipynb"), student_name("03_freezing_student.ipynb")
        ('03_freezing_student.ipynb', '03_freezing_student.ipynb')
    """
    path = Path(lesson)
    return f"{lesson_stem(path.stem)}{STUDENT_SUFFIX}{path.suffix}"


def lesson_stem(stem: str) -> str:
    """The lesson a notebook's stem names: ``03_freezing`` for a student copy's
    ``03_freezing_student`` and for the lesson (or an old student copy) ``03_freezing``.

    Example:
        >>> lesson_stem("03_freezing_student"), lesson_stem("03_freezing")
        ('03_freezing', '03_freezing')
    """
    return stem.removesuffix(STUDENT_SUFFIX)


def lessons_folder() -> Path:
    """The folder of lessons that ships with the installed kit (``vgg_course.lessons``).

    The same call finds ``notebooks/`` in an editable install of the repository and
    ``site-packages/vgg_course/lessons/`` in an installed wheel.

    Example:
        >>> (lessons_folder() / "sanitize.cfg").is_file()
        True
    """
    root = importlib.resources.files("vgg_course.lessons")
    if not isinstance(root, Path):  # a zipped install: nothing to copy files from
        raise RuntimeError(f"the kit's lessons are not in a folder ({root}); install the kit "
                           "with pip (`pip install vgg-course`), not as a zip file")
    return root


def lesson_files(root: Path | None = None) -> list[str]:
    """The files ``lessons`` copies, as ``/``-separated paths relative to ``root`` (default:
    the English edition of the kit's lessons, ``<lessons>/en``)."""
    root = lessons_folder() / "en" if root is None else Path(root)
    found = {path.relative_to(root).as_posix() for pattern in PATTERNS for path in root.glob(pattern)
             if path.is_file()}
    return sorted(found)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_marker(folder: Path) -> dict:
    """The course folder's ``vgg-course.json`` (an empty manifest when there is none).

    Raises:
        ValueError: the file is there but is not the kit's JSON (nothing is then written).
    """
    path = Path(folder) / config.MARKER
    if not path.exists():
        return {"vgg_course": "course folder", "files": {}}
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not the course's JSON file ({exc}); move it away and run "
                         "the command again") from None
    if not isinstance(marker, dict) or not isinstance(marker.get("files", {}), dict):
        raise ValueError(f"{path} is not the course's JSON file; move it away and run again")
    marker.setdefault("files", {})
    return marker


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class CopyReport:
    """What ``copy_lessons`` did, file by file (paths relative to ``dest``)."""

    dest: Path
    copied: list[str] = field(default_factory=list)     # new here
    updated: list[str] = field(default_factory=list)    # unchanged since copied, refreshed
    current: list[str] = field(default_factory=list)    # already the kit's version
    edited: list[str] = field(default_factory=list)     # changed by the learner: kept
    outdated: list[str] = field(default_factory=list)   # unchanged, newer in the kit; no --update
    # student copies under their old name (student/03_freezing.ipynb): kept, never touched
    old_names: dict[str, str] = field(default_factory=dict)  # old name -> the kit's name now

    def lines(self) -> list[str]:
        out = [f"copied:  {name}" for name in self.copied]
        out += [f"updated: {name}" for name in self.updated]
        out += [f"kept:    {name} (you changed it; it is never overwritten)" for name in self.edited]
        out += [f"kept:    {name} (the kit has a newer version: run with --update to get it)"
                for name in self.outdated]
        out += [f"kept:    {old} (the student copy's old name: never changed or deleted; the kit's "
                f"copy is now {new}, beside it)" for old, new in self.old_names.items()]
        if self.current:
            out.append(f"up to date: {len(self.current)} file{'s' * (len(self.current) != 1)}")
        return out

    def __repr__(self) -> str:
        return "\n".join([f"lessons in {self.dest}", *self.lines()])


def copy_lessons(dest: Path, *, update: bool = False, source: Path | None = None,
                 lang: str = "en") -> CopyReport:
    """Copy the kit's lessons into ``dest`` and mark it as the course folder.

    A file that is not in ``dest`` is copied. A file that is: kept as it is, unless
    ``update`` is set and its SHA-256 is still the one recorded when it was copied, in which
    case the kit's version replaces it. A file the learner changed is always kept, and so
    is a student copy under its old name (``student/03_freezing.ipynb``, before
    :func:`student_name`): the report's ``old_names`` lists it with the name copied beside it.

    Args:
        dest: the course folder (created if needed).
        update: refresh the files that were not changed since they were copied.
        source: the lessons folder to copy from (default: the ``lang`` edition of
            :func:`lessons_folder`, ``<lessons>/<lang>/``).
        lang: the edition, ``"en"`` or ``"ja"``; recorded in ``vgg-course.json`` so that
            the course folder's kernels speak it (``vc.config.edition_lang``).

    Raises:
        ValueError: ``dest`` is the kit's own lessons folder, or its ``vgg-course.json`` is
            not the kit's.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     first = copy_lessons(Path(tmp))
        ...     again = copy_lessons(Path(tmp))
        >>> len(first.copied) == len(again.current) > 0, again.copied
        (True, [])
    """
    if lang not in config.LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(config.LANGS)}")
    kit = (lessons_folder() if source is None else Path(source)).resolve()
    source = lessons_folder() / lang if source is None else Path(source)
    dest = Path(dest).expanduser().resolve()
    if dest in (source.resolve(), kit) or source.resolve() in dest.parents or kit in dest.parents:
        raise ValueError(f"{dest} is the kit's own lessons folder; copy the lessons elsewhere")
    marker = read_marker(dest)
    recorded: dict[str, str] = marker["files"]
    report = CopyReport(dest)
    for name in lesson_files(source):
        data = (source / name).read_bytes()
        target = dest / name
        if not target.exists():
            _write_atomic(target, data)
            recorded[name] = sha256(data)
            report.copied.append(name)
            continue
        have = sha256(target.read_bytes())
        if have == sha256(data):
            recorded[name] = have
            report.current.append(name)
        elif recorded.get(name) != have:
            report.edited.append(name)  # the learner's: its recorded hash stays as it was
        elif update:
            _write_atomic(target, data)
            recorded[name] = sha256(data)
            report.updated.append(name)
        else:
            report.outdated.append(name)
    kit = set(lesson_files(source))
    for path in sorted(dest.glob("student/[0-9][0-9]_*.ipynb")):  # copied before the rename
        name, renamed = path.relative_to(dest).as_posix(), f"student/{student_name(path.name)}"
        if name not in kit and renamed in kit:
            report.old_names[name] = renamed
    marker.update({"vgg_course": "course folder", "kit": __version__, "files": recorded,
                   "lang": lang})
    _write_atomic(dest / config.MARKER, (json.dumps(marker, indent=1, sort_keys=True) + "\n").encode())
    return report


class NoCourseFolder(RuntimeError):
    """A command would write into a folder nobody chose: there is no course folder here."""


def in_course_folder(settings: config.Settings | None = None) -> bool:
    """Whether the settings' course folder was found (a ``vgg-course.json`` at or above the
    working directory) or chosen (``VGG_COURSE_DIR``, ``vc.config.use(course_dir=...)``).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, config.use(course_dir=tmp) as s:
        ...     _ = (Path(tmp) / config.MARKER).write_text("{}")
        ...     in_course_folder(s)
        True
    """
    s = config.settings() if settings is None else settings
    if (s.course_dir / config.MARKER).is_file() or os.environ.get("VGG_COURSE_DIR", "").strip():
        return True
    return s.course_dir.resolve() != config.course_folder()  # use(course_dir=...) elsewhere


def where_to_write(command: str, path: Path, *, here: bool = False, chosen: bool = False) -> str:
    """One line saying where ``command`` writes, or ``NoCourseFolder`` saying why it won't.

    Args:
        command: the command's words, e.g. ``"data install"``.
        path: where it would write.
        here: ``--here`` was given: the working directory is the course folder.
        chosen: the user named the place (``--out``, ``--root``, ``VGG_COURSE_DATA_HOME``...).

    Raises:
        NoCourseFolder: outside a course folder, with neither ``here`` nor ``chosen``; the
            message names ``--here`` and ``python -m vgg_course lessons DEST``.

    Example:
        >>> print(where_to_write("data practice", Path("/data/p"), chosen=True))
        Writing into /data/p.
    """
    s = config.settings()
    if chosen and not Path(path).resolve().is_relative_to(s.course_dir):
        return f"Writing into {path}."
    if here or chosen or in_course_folder(s):
        return f"Writing into {path} (course folder: {s.course_dir})."
    raise NoCourseFolder(
        f"Not in a course folder: neither {s.course_dir} nor any folder above it has "
        f"{config.MARKER}, so `{command}` would write into {path}. Nothing was written.\n"
        "  Make a course folder and run the command there:  python -m vgg_course lessons DEST\n"
        f"  or add --here to write into this folder ({s.course_dir}) anyway.")


def _cli(args: argparse.Namespace) -> int:
    try:
        report = copy_lessons(args.dest, update=args.update, lang=args.lang)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report)
    first = report.dest / "00_setup_check.ipynb"
    print(f"\nThe course folder is {report.dest}: data, results and grades go there.")
    if first.exists():
        shown = f'"{first}"' if " " in str(first) else str(first)
        print(f"Start with {first} (e.g. `jupyter lab {shown}`).")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lessons", help="copy the lessons into a course folder (never overwrites your edits)",
        description="Copy one edition (--lang) of the lesson notebooks, the student notebooks "
                    "(student/NN_name_student.ipynb) and nbval's "
                    "sanitize.cfg from the installed kit into DEST, and make DEST the course "
                    "folder (data/, results/ and grades/ go there). Files already in DEST are "
                    "kept; with --update, files you have not changed are refreshed.")
    parser.add_argument("dest", type=Path, help="the course folder, e.g. ~/vgg-course")
    parser.add_argument("--update", action="store_true",
                        help="refresh the files that are unchanged since they were copied")
    parser.add_argument("--lang", choices=config.LANGS, default="en",
                        help="the edition to copy: en (English, the default) or ja (日本語)")
    parser.set_defaults(func=_cli)
