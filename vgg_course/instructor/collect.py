"""Collecting a class's submissions: copies that never follow a link, one folder per student id.

``python -m vgg_course collect SRC DEST`` replaces a ``cp`` loop (which, run as root,
follows a student's symbolic link into another student's private notebook). Each
notebook under SRC (the layouts ``grade`` reads) is opened with ``O_NOFOLLOW``, only if
it is a regular file within the size limit, and written to ``DEST/<student id>/<lesson>.ipynb``
(:mod:`vgg_course.instructor.students`). ``DEST/roster.csv`` says, per student, the id,
the original name (escaped), the files copied and the files refused and why. Two
different notebooks of one lesson are both kept (the second in ``duplicate-2/``), so
``grade`` reports the duplicate rather than one of them silently winning.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

from vgg_course.instructor import students

ROSTER = "roster.csv"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def collect(src: str | Path, dest: str | Path, *, lesson: str | None = None) -> list[dict]:
    """Copy SRC's notebooks into ``DEST/<id>/<lesson>.ipynb``; returns the roster's rows.

    DEST must be new or empty. ``lesson`` names the lesson of files whose name does not
    (``<student>.ipynb``). Nothing is followed, nothing but regular files is opened.
    """
    from vgg_course.instructor import submissions  # nbformat and the exercises: not for --help

    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is not a folder of submitted notebooks")
    if dest.exists() and (dest.is_symlink() or not dest.is_dir() or any(dest.iterdir())):
        raise FileExistsError(f"{dest} is not a new or empty folder: collect writes only "
                              "into one")
    dest.mkdir(parents=True, exist_ok=True)
    roster: dict[str, dict] = {}
    for f in submissions.discover(src, lesson):
        row = roster.setdefault(f.student, {"id": f.student, "name": f.name,
                                            "copied": [], "refused": []})
        if f.lesson is None or (f.problem and not f.others):
            why = f.problem or ("cannot tell which lesson this is: name it like "
                                "03_freezing.ipynb or pass --lesson")
            row["refused"].append(f"{f.file}: {why}")
            continue
        paths = [f.path, *f.others] if f.problem else [f.path]  # both of a duplicate
        for i, path in enumerate(paths):
            target = Path(f.student, *([f"duplicate-{i + 1}"] if i else []), f"{f.lesson}.ipynb")
            shown = students.display(str(path.relative_to(src)))
            try:
                _write(dest / target, students.read_regular(path, root=src))
            except OSError as exc:
                row["refused"].append(f"{shown}: {exc}")
                continue
            row["copied"].append(f"{target.as_posix()} <- {shown}")
        row["refused"] += [f"{students.display(str(p.relative_to(src)))}: the same bytes as "
                           f"{f.file} (copied once)" for p in ([] if f.problem else f.others)]
    rows = [roster[key] for key in sorted(roster)]
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(["id", "name", "copied", "refused"])
    writer.writerows([students.cell(c) for c in (r["id"], r["name"], "; ".join(r["copied"]),
                                                 "; ".join(r["refused"]))] for r in rows)
    _write(dest / ROSTER, text.getvalue().encode("utf-8"))
    return rows


def _cli(args: argparse.Namespace) -> int:
    try:
        rows = collect(args.src, args.dest, lesson=args.lesson)
    except (FileNotFoundError, FileExistsError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for r in rows:
        for item in r["refused"]:
            print(f"{r['id']}: refused {item}")
    copied = sum(len(r["copied"]) for r in rows)
    print(students.display(f"{copied} notebooks of {len(rows)} students copied into "
                           f"{args.dest}; roster: {args.dest / ROSTER}"))
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "collect", help="copy submitted notebooks into a folder to grade, never through a link",
        description="Copy every submitted notebook under SRC (<student>/.../<NN_name>.ipynb or "
                    "<student>.ipynb) into DEST/<student id>/<lesson>.ipynb, opening only "
                    "regular files, never following a symbolic link, refusing FIFOs, devices "
                    f"and files over {students.MAX_BYTES // 2**20} MiB. DEST/roster.csv lists "
                    "each student's id, original name, the files copied and those refused, "
                    "and why. Safe to run as root on students' files; then grade DEST.")
    parser.add_argument("src", type=Path, help="the submissions as handed in (e.g. an unzipped export)")
    parser.add_argument("dest", type=Path, help="a new or empty folder to copy them into")
    parser.add_argument("--lesson", help="the lesson of files not named NN_name.ipynb, e.g. "
                                         "03_freezing (default: read from each file's name)")
    parser.set_defaults(func=_cli)
