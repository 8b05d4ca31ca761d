"""Grading past one machine: fixed slices of a class, their results as JSON lines, the merge.

``grade --shard K/N --seed S`` grades every K-th of the class's students (in id order, so
all of a student's notebooks are in one shard) and writes, besides its partial gradebook,
``results.jsonl``: a header (seed, settings, the lessons' columns, the class's ids) and
one line per graded notebook, with nothing that changes from run to run. Every run
writes it, sharded or not. ``python -m vgg_course gradebook merge SHARD_DIR... --out DIR``
checks that the shards are the N slices of one class graded with the same seed and
settings, then writes from their results exactly the files one run writes
(``gradebook.csv``, ``summary.csv``, ``summary.md``, ``feedback/<id>.md``,
``results.jsonl``), byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vgg_course import __version__
from vgg_course.instructor import gradebook

if TYPE_CHECKING:
    from vgg_course.instructor import submissions

RESULTS = "results.jsonl"
_FIELDS = ("student", "name", "file", "lesson", "seed", "status", "reasons", "verdicts")


class MergeError(ValueError):
    """The folders given are not the complete slices of one grading run."""


def parse(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; a ``ValueError`` that says the form otherwise."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: give K/N, e.g. 2/4 (the 2nd of 4 slices)") from None
    if not 1 <= k <= n:
        raise ValueError(f"--shard {text}: K must be between 1 and N")
    return k, n


def pick(found: list[submissions.Found], shard: tuple[int, int]) -> list[submissions.Found]:
    """The notebooks of shard ``K/N``: the students at K-1, K-1+N, ... in id order."""
    k, n = shard
    ids = sorted({f.student for f in found})
    mine = {student for i, student in enumerate(ids) if i % n == k - 1}
    return [f for f in found if f.student in mine]


def header(*, seed: int, settings: dict, columns: gradebook.Columns, everyone: list[str],
           ids: list[str], shard: tuple[int, int] | None) -> dict:
    """The first line of ``results.jsonl``: what a merge checks the shards agree on.
    ``everyone``: the class's ids; ``ids``: this slice's, one per notebook."""
    return {"format": 1, "kit": __version__, "seed": seed, "settings": settings,
            "columns": [[lesson, [list(c) for c in cols]] for lesson, cols in columns.items()],
            "class": _digest(everyone), "students": len(set(everyone)),
            "shard": list(shard) if shard else None, "ids": sorted(set(ids)),
            "notebooks": len(ids)}


def _digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(ids))).encode()).hexdigest()[:16]


def _redacted(verdict: dict) -> dict:
    """A verdict without its text of hidden parts (which may hold the case): what the
    gradebook's files are written from needs none of it."""
    parts = [{**p, "message": ""} if p.get("hidden") else p for p in verdict.get("parts", [])]
    return {**{k: v for k, v in verdict.items() if k != "feedback"}, "parts": parts}


def results_jsonl(head: dict, results: list[gradebook.Submission]) -> str:
    """The header, then one line per notebook in gradebook order (no timings, no hidden
    part's message)."""
    records = [{**{k: getattr(sub, k) for k in _FIELDS},
                "verdicts": [_redacted(v) for v in sub.verdicts]}
               for sub in sorted(results, key=gradebook.sort_key)]
    return "".join(json.dumps(item, sort_keys=True) + "\n" for item in (head, *records))


def read(folder: Path) -> tuple[dict, list[gradebook.Submission]]:
    """A ``results.jsonl``'s header and its notebooks."""
    path = Path(folder) / RESULTS
    try:
        head, *records = [json.loads(line) for line in path.read_text().splitlines()]
    except (OSError, ValueError) as exc:
        raise MergeError(f"{path}: not a grading run's results ({exc})") from None
    return head, [gradebook.Submission(**{k: r[k] for k in _FIELDS}, path=Path(r["file"]))
                  for r in records]


def columns_of(head: dict) -> gradebook.Columns:
    return {lesson: [(ex, points) for ex, points in cols] for lesson, cols in head["columns"]}


def merge(folders: list[Path], out: Path) -> list[gradebook.Submission]:
    """Join the shards' results into ``out``: the files one run with their seed writes."""
    slices = [(folder, *read(folder)) for folder in folders]
    if not slices:
        raise MergeError("no shard folders given")
    first = slices[0][1]
    same = ("format", "kit", "seed", "settings", "columns", "class", "students")
    for folder, head, _ in slices:
        differ = [key for key in same if head.get(key) != first.get(key)]
        if differ:
            raise MergeError(f"{folder} was not graded like {slices[0][0]}: its "
                             f"{', '.join(differ)} differ (same submissions, --seed and "
                             "options for every shard)")
        if head.get("shard") is None:
            raise MergeError(f"{folder} is a whole run, not a shard (grade --shard K/N)")
    n = first["shard"][1]
    ks = sorted(head["shard"][0] for _, head, _ in slices)
    if any(head["shard"][1] != n for _, head, _ in slices) or ks != list(range(1, n + 1)):
        raise MergeError(f"need each of the shards 1/{n} .. {n}/{n} exactly once; got "
                         f"{', '.join(f'{k}/{n}' for k in ks)}")
    results, everyone = [], []
    for folder, head, subs in slices:
        if len(subs) != head["notebooks"] or set(head["ids"]) != {s.student for s in subs}:
            raise MergeError(f"{folder}: {len(subs)} of its {head['notebooks']} notebooks have "
                             "results: did that shard finish?")
        results += subs
        everyone += head["ids"]
    if _digest(everyone) != first["class"] or len(set(everyone)) != first["students"]:
        raise MergeError("the shards' students are not the class's: grade every shard on "
                         "the same submissions folder")
    columns = columns_of(first)
    gradebook.write_all(out, results, columns)
    head = {**first, "shard": None, "ids": sorted(set(everyone)), "notebooks": len(results)}
    gradebook.atomic_write(out / RESULTS, results_jsonl(head, results))
    return results


def _cli(args: argparse.Namespace) -> int:
    try:
        results = merge(args.shards, args.out)
    except MergeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(results)} notebooks from {len(args.shards)} shards: {args.out / 'gradebook.csv'}, "
          f"{args.out / 'summary.md'}, {args.out / 'feedback'}/")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gradebook", help="join the gradebooks of grade --shard runs into one",
        description="Work on gradebooks that grade wrote.")
    commands = parser.add_subparsers(dest="gradebook_command", required=True, metavar="COMMAND",
                                     help="one of these:")
    merge_ = commands.add_parser(
        "merge", help="join the shards of one grading run (grade --shard K/N) into one gradebook",
        description="Join the folders written by grade --shard 1/N .. N/N (same submissions, "
                    "same --seed) into the gradebook.csv, summary.csv, summary.md, feedback/ "
                    "and results.jsonl one run with that seed writes, byte for byte. Refuses "
                    "shards of different runs, a missing or repeated shard, and an unfinished one.")
    merge_.add_argument("shards", type=Path, nargs="+", metavar="SHARD_DIR",
                        help="the --out folder of each shard")
    merge_.add_argument("--out", type=Path, required=True, help="where the joined gradebook goes")
    merge_.set_defaults(func=_cli)
