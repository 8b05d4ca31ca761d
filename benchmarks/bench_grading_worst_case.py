"""The worst case of one notebook at the grader's defaults: every exercise hangs its own way.

A 4-exercise lesson's student copy (its lesson cells included) where exercise 1's answer
spins when called and a scratch cell under it sleeps, exercise 2's answer cell spins,
exercise 3's stops the process that runs the notebook (SIGSTOP to its parent) and sleeps,
exercise 4's stops every process it can (``kill(-1, SIGSTOP)``). At the defaults (60 s of
CPU time per step, :data:`vgg_course.instructor.runner.NOTEBOOK_SECONDS`) the notebook
must be graded in at most 5 minutes, each exercise's verdict saying what happened.
Measured on 2 busy cores: 280.5 s and 268.8 s.

    python benchmarks/bench_grading_worst_case.py
    python benchmarks/bench_grading_worst_case.py --lesson 07_other_networks
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from vgg_course import exercises, workspace
from vgg_course.instructor import grading, runner, sandbox, submissions

TARGET_SECONDS = 300
HANGS = [
    ("def {answer}(*args, **kwargs):\n    while True:\n        pass\n",
     "import time\ntime.sleep(10**6)  # a scratch cell under the answer\n"),
    ("while True:\n    pass\n", None),
    ("import os, signal, time\nos.kill(os.getppid(), signal.SIGSTOP)\ntime.sleep(10**6)\n", None),
    ("import os, signal, time\nos.kill(-1, signal.SIGSTOP)\ntime.sleep(10**6)\n", None),
]


def notebook(lesson: str) -> nbformat.NotebookNode:
    nb = nbformat.read(workspace.lessons_folder() / "en" / "student" / workspace.student_name(
        f"{lesson}.ipynb"), as_version=4)
    for ex, (answer, scratch) in zip(exercises.exercises(lesson), HANGS):
        cell = next(c for c in nb.cells if c.metadata.get("vgg_course", {}).get("role") ==
                    "answer" and c.metadata["vgg_course"].get("exercise") == ex.id)
        cell.source = answer.format(answer=ex.answer)
        if scratch:
            nb.cells.insert(nb.cells.index(cell) + 1, nbformat.v4.new_code_cell(scratch))
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="05_fine_tuning")
    args = parser.parse_args()
    if sandbox.problem():
        print(f"no sandbox here: {sandbox.problem()}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mallory" / workspace.student_name(f"{args.lesson}.ipynb")
        path.parent.mkdir()
        nbformat.write(notebook(args.lesson), path)
        start = time.monotonic()
        sub = grading.grade_notebook(submissions.Found("mallory", path, args.lesson), seed=1)
        seconds = time.monotonic() - start
    print(f"{args.lesson}, every exercise hanging: {seconds:.1f} s (budget "
          f"{runner.NOTEBOOK_SECONDS} s, target {TARGET_SECONDS} s); {sub.total} points; "
          f"{sub.cpu_seconds:.1f} s of CPU time reported")
    for reason in sub.reasons:
        print(f"  {reason}")
    return 0 if seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
