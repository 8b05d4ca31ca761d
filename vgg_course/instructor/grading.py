"""The instructor's grader: every submitted notebook graded exercise by exercise in a sandbox.

``python -m vgg_course grade submissions/ --out grades/`` reads each submitted notebook
(never its stored outputs) and makes fresh random cases for each exercise here, hidden
instructor-only cases included. The notebook's setup and answer cells go with the cases
to a bubblewrap sandbox (:mod:`vgg_course.instructor.sandbox`), where :mod:`vgg_course.instructor.probing` runs
each exercise in its own process and sends back plain observations. The grade is computed
here, by each exercise's ``judge``, from those observations: code that patches Python or
torch in the sandbox cannot raise it, and a hang or a crash in one exercise costs only
that exercise. Two notebooks are graded at a time; ``gradebook.csv``, ``summary.csv``,
``summary.md`` and ``feedback/<student>.md`` are rewritten after each one.

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
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from vgg_course import config, workspace
from vgg_course.instructor import fingerprint, gradebook, sandbox
from vgg_course.instructor.gradebook import STATUSES, Submission  # noqa: F401  (part of this module's surface)

if TYPE_CHECKING:  # imported where grading starts (torch, nbformat): `grade --help` answers at once
    from vgg_course import exercises
    from vgg_course.instructor import submissions

_ENV = {"VGG_COURSE_QUICK": "1", "VGG_COURSE_STRICT": "0", "TQDM_DISABLE": "1",
        "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg", "IPYTHONDIR": "/tmp/ipython", "PYTHONDONTWRITEBYTECODE": "1"}
_STARTUP_SECONDS = 120  # importing torch and the exercises inside a fresh sandbox
_WALL = 3  # an exercise's wall-clock limit, in multiples of its CPU-time limit


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here, and ``--unsafe-no-sandbox`` was not given."""


class KitChanged(RuntimeError):
    """An unsandboxed submission changed the kit's files; grading stopped."""


def _not_graded(ex: exercises.Exercise, cases: list[dict], problem: str) -> dict:
    """A zero verdict that names the problem (its parts, hidden ones too, all at 0)."""
    verdict = ex.judge(cases, [{"unset": True} for _ in cases])
    parts = tuple(dataclasses.replace(p, message="not checked") for p in verdict.parts)
    verdict = dataclasses.replace(verdict, status="failed", message=problem, parts=parts)
    return {**verdict.as_dict(), "problem": problem}


def _probe(job: dict, *, limits: sandbox.Limits, sandboxed: bool) -> tuple[dict, sandbox.Outcome]:
    """Run ``vgg_course.instructor.probing`` on ``job`` in a fresh sandbox: ``{exercise id: report}``."""
    seconds = _STARTUP_SECONDS + job["wall"] * len(job["exercises"]) + 30
    outcome = sandbox.run(
        [sys.executable, "-m", "vgg_course.instructor.probing"],
        readable=[*sandbox.python_paths(), fingerprint.PACKAGE],
        hidden=[fingerprint.PACKAGE / "exercises" / "instructor"],  # solutions, hidden cases
        env={**_ENV, "PYTHONPATH": str(fingerprint.PACKAGE.parent)},  # the grader's own kit
        stdin=json.dumps(job).encode(), sandboxed=sandboxed,
        limits=dataclasses.replace(limits, seconds=seconds))
    ids = {item["id"] for item in job["exercises"]}
    reports: dict[str, dict] = {}
    for line in outcome.report_lines():
        if line.get("exercise") in ids:
            reports.setdefault(line["exercise"], line)
    return reports, outcome


def _cpu(outcome: sandbox.Outcome) -> float:
    return sum(line["cpu"] for line in outcome.report_lines()
               if isinstance(line.get("cpu"), (int, float)))


def _where(step: str) -> str:
    return {"setup": "the setup cell", "probe": "the check of its answer",
            "start": "its first step"}.get(step, step)


def _judge(ex: exercises.Exercise, cases: list[dict], report: dict | None, sub: Submission,
           timeout: int, output: str) -> dict:
    """The verdict of one exercise from its report (untrusted data); flags what went wrong."""
    if report is None:
        problem = "the sandbox stopped before this exercise reported"
        tail = " ".join(output.split())[-200:]
        sub.flag("error", f"{ex.id}: {problem}" + (f" ({tail})" if tail else ""))
        return _not_graded(ex, cases, problem)
    for index, error in report.get("errors", []):
        where = "the setup cell" if index is None else f"cell {index}"
        sub.flag("error", f"{ex.id}: {where} raised {error}")
    ended, where = str(report.get("ended")), _where(str(report.get("step")))
    if ended in ("cpu limit", "timeout"):
        problem = (f"used up its {timeout} s of CPU time in {where}" if ended == "cpu limit"
                   else f"still running after {_WALL * timeout} s in {where}")
        sub.flag("timeout", f"{ex.id}: {problem}; the other exercises were graded")
        return _not_graded(ex, cases, problem)
    if ended != "done" or report.get("observations") is None:
        problem = (f"its process ended ({'exit code 0' if ended == 'done' else ended}) in "
                   f"{where} before its answer was checked")
        sub.flag("error", f"{ex.id}: {problem}")
        return _not_graded(ex, cases, problem)
    return {**ex.judge(cases, report["observations"]).as_dict(), "problem": ""}


def grade_notebook(found: submissions.Found, *, seed: int = 0, exercise_timeout: int = 60,
                   limits: sandbox.Limits = sandbox.Limits(), sandboxed: bool = True) -> Submission:
    """Grade one submitted notebook; never raises for a bad submission."""
    from vgg_course import exercises
    from vgg_course.instructor import submissions

    sub = Submission(found.student, found.path, found.lesson, seed=seed)
    start = time.monotonic()
    try:
        if found.lesson is None:
            sub.flag("invalid", f"{found.path.name}: cannot tell which lesson this is; name "
                                "it like 02_state_dict.ipynb or pass --lesson")
            return sub
        lesson = exercises.exercises(found.lesson)
        cases = {ex.id: _cases(ex, seed) for ex in lesson}
        try:
            nb = submissions.read(found.path)
        except submissions.InvalidSubmission as exc:
            sub.flag("invalid", str(exc))
            sub.verdicts = [_not_graded(ex, cases[ex.id], "not graded") for ex in lesson]
            return sub
        for note in submissions.check_cell_notes(nb, found.lesson):
            sub.flag("flagged", f"{note} (the grader checks the answers itself: nothing gained)")
        answers = submissions.answer_cells(nb, found.lesson)
        job = {"lesson": found.lesson, "setup": submissions.setup_cell(nb, found.lesson),
               "timeout": exercise_timeout, "wall": _WALL * exercise_timeout,
               "exercises": [{"id": ex.id, "cells": answers[ex.id], "cases": cases[ex.id]}
                             for ex in lesson]}
        reports, outcome = _probe(job, limits=limits, sandboxed=sandboxed)
        sub.cpu_seconds += _cpu(outcome)
        for item in job["exercises"]:
            if item["id"] not in reports and len(job["exercises"]) > 1:
                # The sandbox ended early (say, the student's code killed it): this
                # exercise gets a fresh sandbox of its own.
                alone, outcome = _probe({**job, "exercises": [item]}, limits=limits,
                                        sandboxed=sandboxed)
                reports.update(alone)
                sub.cpu_seconds += _cpu(outcome)
        sub.verdicts = [_judge(ex, cases[ex.id], reports.get(ex.id), sub, exercise_timeout,
                               outcome.output) for ex in lesson]
    except Exception as exc:  # a grader bug must not stop the run
        sub.flag("error", f"the grader failed on this notebook: {type(exc).__name__}: {exc}")
    finally:
        sub.seconds = time.monotonic() - start
    return sub


def preflight(lesson: str, *, limits: sandbox.Limits = sandbox.Limits(),
              sandboxed: bool = True) -> None:
    """Raise :class:`SandboxUnavailable` unless a sandbox can import torch and the kit."""
    if sandboxed and (reason := sandbox.problem()):
        raise SandboxUnavailable(
            f"cannot sandbox students' code: {reason}. Install bubblewrap (Debian: apt-get "
            "install bubblewrap), or pass --unsafe-no-sandbox to run students' code with your "
            "permissions (the kit's files are then checked after every notebook).")
    _, outcome = _probe({"lesson": lesson, "setup": "", "timeout": 1, "wall": 1, "exercises": []},
                        limits=limits, sandboxed=sandboxed)
    if not any("ready" in line for line in outcome.report_lines()):
        raise SandboxUnavailable("the sandbox could not import torch and the kit: "
                                 f"{' '.join(outcome.output.split())[-400:]}")


def _cases(ex: exercises.Exercise, seed: int) -> list[dict]:
    """Fresh cases, the hidden ones included (none in a student build of the kit)."""
    from vgg_course import exercises

    try:
        return ex.cases(seed, hidden=True)
    except exercises.SolutionsUnavailable:
        return ex.cases(seed)


def _points(ex: exercises.Exercise) -> int:
    """An exercise's points with its hidden parts: its gradebook column's maximum."""
    from vgg_course import exercises

    try:
        extra = ex.hidden()
    except exercises.SolutionsUnavailable:  # a student build has no hidden tests
        extra = None
    return ex.points + (sum(p.points for p in extra.parts) if extra else 0)


def _seed(run_seed: int, found: submissions.Found) -> int:
    key = f"{run_seed}/{found.student}/{found.path.name}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def grade(submissions_dir: str | Path, out: str | Path, *, lesson: str | None = None,
          jobs: int = 2, seed: int | None = None, exercise_timeout: int = 60,
          limits: sandbox.Limits = sandbox.Limits(), unsafe_no_sandbox: bool = False,
          log: Callable[[str], None] | None = None) -> list[Submission]:
    """Grade every notebook under ``submissions_dir`` into ``out``; returns the submissions.

    ``seed`` makes the cases reproducible (each notebook gets its own seed from it; the
    default is a fresh random one). Raises :class:`SandboxUnavailable` without bubblewrap
    (unless ``unsafe_no_sandbox``) and :class:`KitChanged` when an unsandboxed notebook
    changed the kit (its row, marked ``tampered``, is written first).
    """
    from vgg_course import exercises
    from vgg_course.instructor import submissions

    submissions_dir, out = Path(submissions_dir), Path(out)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"{submissions_dir} is not a folder of submitted notebooks")
    if lesson is not None:
        exercises.load(lesson)  # KeyError naming the lessons that have exercises
    found = submissions.discover(submissions_dir, lesson)
    lessons = [name for name in exercises.MODULES
               if any(f.lesson and exercises.load(f.lesson) is exercises.load(name) for f in found)]
    columns = [(e.id, _points(e)) for name in lessons for e in exercises.exercises(name)]
    sandboxed = not unsafe_no_sandbox
    preflight(lessons[0] if lessons else exercises.MODULES[0], limits=limits, sandboxed=sandboxed)
    run_seed = secrets.randbits(32) if seed is None else seed
    if log:
        log(f"{len(found)} notebooks; cases from seed {run_seed} (--seed {run_seed} grades "
            f"with the same cases again); {'sandboxed' if sandboxed else 'NOT SANDBOXED'}")
    results: list[Submission] = []
    lock = threading.Lock()

    def record(sub: Submission) -> None:
        with lock:
            results.append(sub)
            gradebook.write_all(out, results, columns, student=sub.student)
        if log:
            out_of = sum(v["points"] for v in sub.verdicts)
            log(f"{sub.student:<20} {sub.path.name:<28} {sub.total:>3}/{out_of:<3} "
                f"{sub.status:<9} {sub.seconds:5.1f} s  {'; '.join(sub.reasons)[:160]}")

    def one(f: submissions.Found) -> Submission:
        return grade_notebook(f, seed=_seed(run_seed, f), exercise_timeout=exercise_timeout,
                              limits=limits, sandboxed=sandboxed)

    if sandboxed:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for future in as_completed([pool.submit(one, f) for f in found]):
                record(future.result())
        return results
    roots = fingerprint.kit_roots()
    before = fingerprint.fingerprint(roots)
    for f in found:  # one at a time: a change to the kit must point at one notebook
        sub = one(f)
        changed = fingerprint.changes(before, fingerprint.fingerprint(roots))
        if changed:
            sub.flag("tampered", f"changed the kit's files ({'; '.join(changed[:3])}); "
                                 "grading stopped here: restore the kit before grading more")
        record(sub)
        if changed:
            raise KitChanged(f"{f.path} changed the kit's files: {'; '.join(changed[:5])}")
    return results


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
        results = grade(args.submissions, args.out, lesson=args.lesson, jobs=args.jobs,
                        seed=args.seed, exercise_timeout=args.exercise_timeout, limits=limits,
                        unsafe_no_sandbox=args.unsafe_no_sandbox, log=print)
    except (FileNotFoundError, KeyError, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KitChanged as exc:
        print(f"STOPPED: {exc}", file=sys.stderr)
        return 3
    print(f"{len(results)} notebooks graded: {args.out / 'gradebook.csv'}, "
          f"{args.out / 'summary.md'}, {args.out / 'feedback'}/")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade", help="grade submitted notebooks into a gradebook, a summary and feedback",
        description="Grade every submitted notebook exercise by exercise, with fresh random "
                    "cases (the hidden ones included). Students' code runs in a bubblewrap "
                    "sandbox, without network, one process per exercise; the grade is "
                    "computed outside it, so code that cheats inside cannot raise it. "
                    "gradebook.csv, summary.csv, summary.md and feedback/<student>.md are "
                    "written into --out and updated after each notebook.")
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
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded at a time")
    parser.add_argument("--seed", type=int, default=None,
                        help="make the random cases reproducible (default: fresh ones)")
    parser.add_argument("--exercise-timeout", type=int, default=60,
                        help="CPU seconds per exercise (its cells and the check of its "
                             f"answer); its wall-clock limit is {_WALL} times that")
    parser.add_argument("--memory-gb", type=float, default=6.0,
                        help="address-space limit of each sandboxed process, in GiB; torch "
                             "alone maps 3.5")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade without bubblewrap: students' code runs with your "
                             "permissions; stops at the first change to the kit's files")
    parser.set_defaults(func=_cli)
