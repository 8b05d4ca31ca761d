"""Grading benchmark: a class of N submissions of one lesson, graded in the sandbox.

Each submission is the lesson's student copy (its lesson cells included, as a class hands
it in) with answers in it, in the mix an instructor sees: a third right everywhere, some
right on half the exercises, some with one wrong answer, some untouched. Every notebook
runs cell by cell in its own sandbox (:mod:`vgg_course.instructor.grading`), ``--workers``
at a time. It prints the wall-clock time and the time per notebook; the README quotes it
for 30 and 300 students on 2 CPU cores.

    python benchmarks/bench_grading.py                                  # 03_freezing, 30 students
    python benchmarks/bench_grading.py --students 300 --workers 2
    python benchmarks/bench_grading.py --lesson 05_fine_tuning --students 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from vgg_course import exercises, workspace
from vgg_course.instructor import grading, sandbox
from vgg_course.exercises.core import strip_solution_markers

TARGET_PER_NOTEBOOK = 10  # seconds of wall-clock time per notebook at 2 workers, on 2 cores


def _wrong(ex: exercises.Exercise) -> str:
    if ex.kind == "function":
        return f"def {ex.answer}(*args, **kwargs):\n    return None"
    return f"{ex.answer} = None"


def _notebook(lesson: str, kind: str) -> nbformat.NotebookNode:
    copy = workspace.lessons_folder() / "en" / "student" / workspace.student_name(f"{lesson}.ipynb")
    nb = nbformat.read(copy, as_version=4)
    found = exercises.exercises(lesson)
    for i, ex in enumerate(found):
        right = strip_solution_markers(ex.cell)
        source = {"right": right,
                  "half right": right if i < (len(found) + 1) // 2 else None,
                  "one wrong": _wrong(ex) if i == len(found) - 1 else right,
                  "untouched": None}[kind]
        if source is not None:
            answer = next(c for c in nb.cells if c.metadata.get("vgg_course", {}).get("role")
                          == "answer" and c.metadata["vgg_course"].get("exercise") == ex.id)
            answer.source = source
    return nb


def make_class(folder: Path, lesson: str, students: int) -> dict[str, int]:
    """Write ``<student>/<lesson>.ipynb`` for each student; returns how many of each kind."""
    kinds = ["right", "half right", "one wrong", "right", "untouched", "one wrong"]
    count: dict[str, int] = {}
    for n in range(students):
        kind = kinds[n % len(kinds)]
        count[kind] = count.get(kind, 0) + 1
        (folder / f"student{n:03d}").mkdir(parents=True)
        nbformat.write(_notebook(lesson, kind), folder / f"student{n:03d}" /
                       workspace.student_name(f"{lesson}.ipynb"))
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lesson", default="03_freezing")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", "--jobs", dest="workers", type=int, default=2)
    args = parser.parse_args()
    if reason := sandbox.problem():
        print(f"no sandbox here: {reason}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        subs, out = Path(tmp) / "submissions", Path(tmp) / "grades"
        kinds = make_class(subs, args.lesson, args.students)
        print(f"{args.students} submissions of {args.lesson} "
              f"({', '.join(f'{v} {k}' for k, v in kinds.items())}); {os.cpu_count()} CPUs, "
              f"{args.workers} at a time, sandbox: bubblewrap")
        load, start, own = os.getloadavg()[0], time.monotonic(), time.process_time()
        results = grading.grade(subs, out, workers=args.workers, seed=0)
        seconds, own = time.monotonic() - start, time.process_time() - own
        per = sorted(r.seconds for r in results)
        sandboxed = sum(r.cpu_seconds for r in results)
        print((out / "summary.md").read_text())
        statuses = {s: sum(r.status == s for r in results) for s in grading.STATUSES}
        print(f"statuses: {', '.join(f'{k} {v}' for k, v in statuses.items() if v)}")
        print(f"per notebook: median {per[len(per) // 2]:.1f} s, max {per[-1]:.1f} s")
        print(f"CPU time: {sandboxed:.0f} s in the sandboxes + {own:.0f} s in the grader "
              f"(cases, judging, files); load average {load:.1f} before, "
              f"{os.getloadavg()[0]:.1f} after (other programs share these cores)")
        target = TARGET_PER_NOTEBOOK * len(results)
        verdict = "within" if seconds <= target else "OVER"
        print(f"graded {len(results)} notebooks in {seconds:.1f} s = {seconds / 60:.1f} min, "
              f"{seconds / max(1, len(results)):.2f} s a notebook ({verdict} the {target} s "
              f"target, {TARGET_PER_NOTEBOOK} s a notebook)")
    return 0 if seconds <= target else 1


if __name__ == "__main__":
    sys.exit(main())
