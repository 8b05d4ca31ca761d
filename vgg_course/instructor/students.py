"""A submissions folder read without trusting it: student ids, printable names, no links followed.

A learning platform's zip gives folders named anything: bytes that are not UTF-8 (Python
holds them as surrogate escapes), a leading dash, letters that only look alike. Every name
here becomes two strings that are always safe to print and write: :func:`display`, the name
with anything unprintable escaped (``\\xe9`` for a byte that is not UTF-8), and
:func:`student_id`, a key for rows and file names that two different names never share.
:func:`walk` lists the notebooks under each student without following a symbolic link or
opening anything; links, FIFOs, devices and huge files come back with the reason they are
refused. :func:`read_regular` opens one file the same way (``O_NOFOLLOW``, regular files
only, size-limited), so a FIFO never blocks and a link's target is never read.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import NamedTuple

MAX_BYTES = 20 * 2**20  # a notebook bigger than this is refused unread
MAX_DEPTH = 6  # folders below a student's own that are searched
NOTEBOOK = ".ipynb"
FORMULA = ("=", "+", "-", "@")
# A plain name is its own id; any other name is a slug, "~" and a hash of its bytes.
_PLAIN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}|[a-z0-9][a-z0-9_.-]{0,39}~[0-9a-f]{8}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


class Refused(OSError):
    """A file that is not read: a link, not a regular file, or too big; says which."""


class Entry(NamedTuple):
    """One notebook (or something named like one) under a student: ``problem`` says why
    it is refused, ``""`` when it can be read."""

    student: str  # the name as the file system gives it (surrogate escapes kept)
    path: Path
    problem: str = ""


def display(name: str) -> str:
    """``name`` safe to print, write to CSV or Markdown, and read: bytes that are not
    UTF-8, lone surrogates, control and direction characters are escaped.

    Example:
        >>> display(os.fsdecode(b"caf\\xe9")), display("a\\nb"), display("\\ud800!")
        ('caf\\\\xe9', 'a\\\\nb', '\\\\ud800!')
    """
    try:
        text = os.fsencode(name).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that did not come from the file system
        text = name.encode("utf-8", "backslashreplace").decode("utf-8")
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def cell(value: object) -> str:
    """A CSV cell: :func:`display`, and text a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@`` first) starts with ``'``; numbers stay numbers."""
    text = display(str(value))
    return f"'{text}" if isinstance(value, str) and text[:1] in FORMULA else text


def _bytes(name: str) -> bytes:
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")


def slug(name: str) -> str:
    """A readable ASCII form of ``name`` for ids: ``josé müller`` -> ``jose_muller``."""
    ascii_ = unicodedata.normalize("NFKD", display(name)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9_.-]+", "_", ascii_.lower()).strip("_.-")
    return text[:40].rstrip("_.-") or "student"


def student_id(name: str, digits: int = 8) -> str:
    """The student's key in the gradebook and the name of their feedback file.

    A plain name (lower-case letters, digits, ``_`` and ``-``, or an id already made
    here, as ``collect`` names its folders) is its own id. Any other name gets a slug
    and a hash of its exact bytes, so names that differ only in letters outside ASCII
    (or in case) get two ids. An id never starts with ``-`` or ``.``.

    Example:
        >>> student_id("ana"), student_id("Ana"), student_id("-rf"), student_id("ana~0123abcd")
        ('ana', 'ana~dea210f0', 'rf~686c39ac', 'ana~0123abcd')
    """
    if digits == 8 and _PLAIN.fullmatch(name):
        return name
    return f"{slug(name)}~{hashlib.sha256(_bytes(name)).hexdigest()[:digits]}"


def student_ids(names: set[str] | list[str]) -> dict[str, str]:
    """``{name: id}`` for every name, no two ids alike: should two names meet on one id
    (someone named a folder like another's id), both get a longer hash instead."""
    ids = {name: student_id(name) for name in sorted(set(names))}
    taken: dict[str, list[str]] = {}
    for name, key in ids.items():
        taken.setdefault(key, []).append(name)
    for names_ in taken.values():
        if len(names_) > 1:
            ids.update({name: student_id(name, digits=16) for name in names_})
    return ids


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, words in ((stat.S_ISLNK, "a symbolic link (never followed)"),
                        (stat.S_ISFIFO, "a FIFO (never opened)"),
                        (stat.S_ISSOCK, "a socket (never opened)"),
                        (stat.S_ISCHR, "a character device (never opened)"),
                        (stat.S_ISBLK, "a block device (never opened)"),
                        (stat.S_ISDIR, "a folder")):
        if test(mode):
            return words
    return "not a regular file (never opened)" if not stat.S_ISREG(mode) else ""


def problem(st: os.stat_result, limit: int = MAX_BYTES) -> str:
    """Why a file with this ``lstat`` is refused, or ``""``."""
    if not stat.S_ISREG(st.st_mode):
        return kind(st.st_mode)
    if st.st_size > limit:
        return f"{st.st_size / 2**20:.1f} MiB, over the {limit / 2**20:.0f} MiB limit (not read)"
    return ""


def _folder_fd(root: Path, parts: tuple[str, ...]) -> int:
    """An fd of ``root/parts...``, each folder below ``root`` opened without following a
    link (so a folder swapped for a link after it was listed is refused)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    for part in parts:
        try:
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                            | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
        finally:
            os.close(fd)
        fd = below
    return fd


def read_regular(path: str | Path, limit: int = MAX_BYTES, *,
                 root: str | Path | None = None) -> bytes:
    """The bytes of a regular file, opened without following a link or blocking on a
    FIFO; raises :class:`Refused` naming why not. With ``root``, no folder between it and
    the file is followed either."""
    path = Path(path)
    try:
        parent = _folder_fd(Path(root), path.parent.relative_to(root).parts) if root else None
    except (OSError, ValueError) as exc:
        raise Refused(f"a folder on its way cannot be opened without following a link "
                      f"({getattr(exc, 'strerror', None) or exc})") from None
    name = path.name if root else path
    try:
        before = os.lstat(name, dir_fd=parent)
        if why := problem(before, limit):  # a FIFO or a device is never opened at all
            raise Refused(why)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(name, flags, dir_fd=parent)
    except Refused:
        raise
    except OSError as exc:
        raise Refused(f"cannot be opened ({exc.strerror})") from None
    finally:
        if parent is not None:
            os.close(parent)
    with os.fdopen(fd, "rb") as f:
        now = os.fstat(fd)
        if why := problem(now, limit) or (
                "" if (now.st_dev, now.st_ino) == (before.st_dev, before.st_ino)
                else "replaced while it was being read"):
            raise Refused(why)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"over the {limit / 2**20:.0f} MiB limit (not read)")
    return data


def _is_notebook(name: str) -> bool:
    return name.lower().endswith(NOTEBOOK)


def _below(student: str, folder: Path, depth: int, found: list[Entry]) -> None:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        found.append(Entry(student, folder, f"a folder that cannot be read ({exc.strerror})"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .ipynb_checkpoints and other hidden copies
        path = Path(entry.path)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:  # gone since the folder was listed
            continue
        if stat.S_ISLNK(st.st_mode):
            found.append(Entry(student, path, kind(st.st_mode)))
        elif stat.S_ISDIR(st.st_mode):
            if depth >= MAX_DEPTH:
                found.append(Entry(student, path, f"folders nested over {MAX_DEPTH} deep "
                                                  "are not searched"))
            else:
                _below(student, path, depth + 1, found)
        elif _is_notebook(entry.name):
            found.append(Entry(student, path, problem(st)))


def walk(root: str | Path) -> list[Entry]:
    """Every notebook under ``root``: ``<student>/**/<file>.ipynb`` or ``<student>.ipynb``,
    sorted by student and path bytes; symbolic links anywhere (named, never followed),
    FIFOs, devices and huge files named like notebooks come back with their problem.
    Hidden files and folders are skipped; nothing is opened."""
    found: list[Entry] = []
    for entry in sorted(os.scandir(root), key=lambda e: os.fsencode(e.name)):
        if entry.name.startswith("."):
            continue
        st = entry.stat(follow_symlinks=False)
        stem = entry.name[:-len(NOTEBOOK)] if _is_notebook(entry.name) else entry.name
        if stat.S_ISDIR(st.st_mode):
            _below(entry.name, Path(entry.path), 1, found)
        elif stat.S_ISLNK(st.st_mode) or _is_notebook(entry.name):
            found.append(Entry(stem, Path(entry.path), problem(st)))
    return sorted(found, key=lambda e: (_bytes(e.student), _bytes(str(e.path))))
