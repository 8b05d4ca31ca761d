"""The instructor's grader: a class's notebooks graded exercise by exercise, each in a sandbox.

``python -m vgg_course grade submissions/ --out grades/`` reads each submitted notebook
(never its stored outputs) and makes fresh random cases for each exercise here, hidden
instructor-only cases included, with their expected data (which never enter a sandbox).
The notebook's code cells go with the cases to a bubblewrap sandbox
(:mod:`vgg_course.instructor.sandbox`), where :mod:`vgg_course.instructor.probing` runs them
in notebook order, each exercise probed right after its own cells, and sends back plain
observations (:mod:`vgg_course.instructor.judging`, :mod:`vgg_course.instructor.runner`). The
grade is computed here, by each exercise's ``judge``, from those observations: code that
patches Python or torch in the sandbox cannot raise it, a cell that hangs or crashes costs
only the exercise it belongs to, and a notebook never takes more than its wall-clock budget
(``--notebook-timeout``, 300 s). ``--workers`` notebooks are graded at a time
(``--shard K/N`` grades a slice of the class, :mod:`vgg_course.instructor.shards`);
``gradebook.csv``, ``summary.csv``, ``summary.md``, ``feedback/<student id>.md`` and
``results.jsonl`` are rewritten after each one (:mod:`vgg_course.instructor.classbook`).

Without bubblewrap the grader refuses to run unless given ``--unsafe-no-sandbox``: then
students' code runs with your permissions, one notebook at a time, and the kit's files are
fingerprinted before and after every notebook; the first change stops the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from vgg_course import config, workspace
from vgg_course.instructor import classbook, fingerprint, sandbox, shards, students
from vgg_course.instructor.gradebook import STATUSES, Submission  # noqa: F401  (part of this module's surface)
from vgg_course.instructor.judging import exercise_cases as _cases  # noqa: F401
from vgg_course.instructor.judging import grade_notebook, points as _points  # noqa: F401
from vgg_course.instructor.runner import (  # noqa: F401
    NOTEBOOK_SECONDS, SandboxUnavailable, preflight)

if TYPE_CHECKING:  # imported where grading starts (torch, nbformat): `grade --help` answers at once
    from vgg_course import exercises
    from vgg_course.instructor import submissions


class KitChanged(RuntimeError):
    """An unsandboxed submission changed the kit's files; grading stopped."""


def _seed(run_seed: int, found: submissions.Found) -> int:
    """A notebook's own seed: a function of the run's seed, the student's id and the file's
    name (its bytes, whatever they are), never of the shard or the order of grading."""
    name = found.path.name.encode("utf-8", "surrogateescape")
    key = f"{run_seed}/{found.student}/".encode() + name
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def grade(submissions_dir: str | Path, out: str | Path, *, lesson: str | None = None,
          workers: int = 2, jobs: int | None = None, seed: int | None = None,
          exercise_timeout: int = 60, limits: sandbox.Limits = sandbox.Limits(),
          unsafe_no_sandbox: bool = False, shard: tuple[int, int] | None = None,
          log: Callable[[str], None] | None = None,
          notebook_timeout: float = NOTEBOOK_SECONDS) -> list[Submission]:
    """Grade every notebook under ``submissions_dir`` into ``out``; returns the submissions.

    ``workers`` notebooks at a time, each in its own sandbox (``jobs``: its old name), each
    within ``notebook_timeout`` seconds of wall-clock time.
    ``seed`` makes the cases reproducible (default: a fresh random one); what is written
    depends on the submissions and the seed alone. ``shard=(K, N)`` grades the K-th of N
    slices of the students (needs ``seed``, see :mod:`vgg_course.instructor.shards`). A
    file that cannot be graded becomes a row that says why. Raises
    :class:`SandboxUnavailable` without bubblewrap (unless ``unsafe_no_sandbox``) and :class:`KitChanged` when an unsandboxed notebook
    changed the kit (its row, marked ``tampered``, is written first).
    """
    from vgg_course import exercises
    from vgg_course.instructor import submissions

    workers = jobs if jobs is not None else workers
    submissions_dir, out = Path(submissions_dir), Path(out)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"{submissions_dir} is not a folder of submitted notebooks")
    if lesson is not None:
        exercises.load(lesson)  # KeyError naming the lessons that have exercises
    if shard is not None and seed is None:
        raise ValueError("--shard needs --seed: every shard must grade with the same cases")
    everyone = submissions.discover(submissions_dir, lesson)
    found = shards.pick(everyone, shard) if shard else everyone
    order = {name: i for i, name in enumerate(exercises.MODULES)}
    lessons = sorted({f.lesson for f in everyone if f.lesson}, key=lambda name: (
        order[exercises.load(name).__name__.rsplit(".", 1)[-1]], name))
    columns = {name: [(e.id, _points(e)) for e in exercises.exercises(name)] for name in lessons}
    sandboxed = not unsafe_no_sandbox
    preflight(lessons[0] if lessons else exercises.MODULES[0], limits=limits, sandboxed=sandboxed)
    run_seed = secrets.randbits(32) if seed is None else seed
    head = shards.header(seed=run_seed, columns=columns, shard=shard,
                         everyone=[f.student for f in everyone], ids=[f.student for f in found],
                         settings={"lesson": lesson, "exercise_timeout": exercise_timeout,
                                  "notebook_timeout": notebook_timeout,
                                   "memory": limits.memory, "sandboxed": sandboxed})
    if log:
        log(students.display(
            f"{len(found)} notebooks{f' (shard {shard[0]}/{shard[1]})' if shard else ''}; cases "
            f"from seed {run_seed} (--seed {run_seed} grades with the same cases again); "
            f"{'sandboxed, ' + str(max(1, workers)) + ' at a time' if sandboxed else 'NOT SANDBOXED, one at a time'}"))
    book = classbook.Classbook(out, submissions_dir, columns, head, log)

    def one(f: submissions.Found) -> Submission:
        return grade_notebook(f, seed=_seed(run_seed, f), exercise_timeout=exercise_timeout,
                              limits=limits, sandboxed=sandboxed,
                              notebook_timeout=notebook_timeout)

    graded = {(f.student, f.lesson) for f in found if not f.problem}
    for f in (f for f in found if f.problem):  # refused unread: no sandbox needed
        book.refuse(f, _seed(run_seed, f), graded)
    todo = [f for f in found if not f.problem]
    if sandboxed:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {pool.submit(one, f): f for f in todo}
            for future in as_completed(futures):
                book.record(future.result(), futures[future])
        return book.finish()
    roots = fingerprint.kit_roots()
    before = fingerprint.fingerprint(roots)
    for f in todo:  # one at a time: a change to the kit must point at one notebook
        sub = one(f)
        changed = fingerprint.changes(before, fingerprint.fingerprint(roots))
        if changed:
            sub.flag("tampered", f"changed the kit's files ({'; '.join(changed[:3])}); "
                                 "grading stopped here: restore the kit before grading more")
        book.record(sub, f)
        if changed:
            raise KitChanged(f"{f.file} changed the kit's files: {'; '.join(changed[:5])}")
    return book.finish()


def _cli(args: argparse.Namespace) -> int:
    limits = sandbox.Limits(memory=int(args.memory_gb * sandbox.GiB))
    if args.here:
        config.use(course_dir=Path.cwd().resolve())
    chosen, args.out = args.out is not None, args.out or config.settings().grades_dir
    try:  # outside a course folder, without --out or --here: say where, write nothing
        print(workspace.where_to_write("grade", args.out, here=args.here, chosen=chosen))
    except workspace.NoCourseFolder as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        shard = shards.parse(args.shard) if args.shard else None
        results = grade(args.submissions, args.out, lesson=args.lesson, workers=args.workers,
                        seed=args.seed, exercise_timeout=args.exercise_timeout, limits=limits,
                        unsafe_no_sandbox=args.unsafe_no_sandbox, shard=shard, log=print,
                        notebook_timeout=args.notebook_timeout)
    except (FileNotFoundError, KeyError, ValueError, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KitChanged as exc:
        print(f"STOPPED: {exc}", file=sys.stderr)
        return 3
    print(students.display(f"{len(results)} notebooks graded: {args.out / 'gradebook.csv'}, "
                           f"{args.out / 'summary.md'}, {args.out / 'feedback'}/"))
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade", help="grade submitted notebooks into a gradebook, a summary and feedback",
        description="Grade every submitted notebook exercise by exercise, with fresh random "
                    "cases (the hidden ones included). Students' code runs in a bubblewrap "
                    "sandbox, without network, cell by cell in notebook order, each exercise "
                    "checked right after its cells; the grade is computed outside it, so "
                    "code that cheats inside cannot raise it. "
                    "gradebook.csv (a row per student id and lesson), summary.csv, "
                    "summary.md, feedback/<student id>.md and results.jsonl are written "
                    "into --out and updated after each notebook; they depend only on the "
                    "submissions and --seed. Links, FIFOs, devices, huge files and two "
                    "notebooks of one lesson are refused unread and named in the row.")
    parser.add_argument("submissions", type=Path,
                        help="a folder of <student>/<NN_name>.ipynb or <student>.ipynb files")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the gradebook goes (default: grades/ in the course folder)")
    parser.add_argument("--here", action="store_true",
                        help="use the working directory as the course folder (without it or "
                             "--out, grading outside a course folder stops and says where it "
                             "would write)")
    parser.add_argument("--lesson", help="the lesson of files not named NN_name.ipynb, e.g. "
                                         "03_freezing (default: read from each file's name)")
    parser.add_argument("--workers", "--jobs", dest="workers", type=int, default=2,
                        help="notebooks graded at a time, each in its own sandbox (without "
                             "one: one at a time)")
    parser.add_argument("--shard", metavar="K/N", default=None,
                        help="grade only the K-th of N fixed slices of the students (needs "
                             "--seed); join the slices with: python -m vgg_course gradebook "
                             "merge SHARD_DIR... --out DIR")
    parser.add_argument("--seed", type=int, default=None,
                        help="make the random cases reproducible (default: fresh ones)")
    parser.add_argument("--exercise-timeout", type=int, default=60,
                        help="CPU seconds per step (each cell, each check of an answer); a "
                             "wall-clock limit, a few times that, stops it too")
    parser.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_SECONDS,
                        help="wall-clock seconds a whole notebook may take, sandbox start and "
                             f"reruns included (default {NOTEBOOK_SECONDS}); what is not "
                             "checked by then scores 0 and says so")
    parser.add_argument("--memory-gb", type=float, default=6.0,
                        help="address-space limit of each sandboxed process, in GiB; torch "
                             "alone maps 3.5")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without bubblewrap: students' code runs with your "
                             "permissions; stops at the first change to the kit's files")
    parser.set_defaults(func=_cli)
