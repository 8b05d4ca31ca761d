"""Judging one graded notebook: each exercise's verdict from what its sandbox reported, and why points were lost.

:func:`grade_notebook` makes fresh cases (the hidden ones included), has the notebook run
(:mod:`vgg_course.instructor.runner`) and judges each exercise here, by its ``judge``, from
plain observations: code that patches Python or torch in the sandbox cannot raise a grade.
When points are lost for another reason than a wrong answer (a cell raised, ran out of
time, stopped the sandbox; the notebook's time ran out) the verdict's ``problem`` and
``reasons`` say so, and so do the submission's reasons. A hidden case's error keeps only
its type: hidden cases never reach the student.
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import TYPE_CHECKING

from vgg_course.instructor import runner, sandbox
from vgg_course.instructor.gradebook import Submission
from vgg_course.instructor.runner import NOTEBOOK_SECONDS, Run

if TYPE_CHECKING:
    from vgg_course import exercises
    from vgg_course.instructor import submissions


def _not_graded(ex: exercises.Exercise, cases: list[dict], problem: str) -> dict:
    """A zero verdict that names the problem (its parts, hidden ones too, all at 0)."""
    verdict = ex.judge(cases, [{"unset": True} for _ in cases])
    parts = tuple(dataclasses.replace(p, message="not checked") for p in verdict.parts)
    verdict = dataclasses.replace(verdict, status="failed", message=problem, parts=parts)
    return {**verdict.as_dict(), "problem": problem, "reasons": [problem]}


def _where(step: dict) -> str:
    return "the setup cell" if step.get("kind") == "setup" else f"cell {step.get('cell')}"


def _secrets(cases: list[dict]) -> set[str]:
    """The hidden cases' distinctive text (``features.26``, ``mobilenet_v3_small``; not
    plain words, nor their part names and labels, which are shown)."""
    found: set[str] = set()

    def walk(value, key=None):
        if isinstance(value, str) and key not in ("part", "label"):
            if len(value) >= 6 and re.search(r"[\d._]", value):
                found.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)

    for case in cases:
        if case.get("hidden"):
            walk({k: v for k, v in case.items() if k != "expected"})
    return found


def _withheld(text: str, secrets: set[str]) -> str:
    """``text``, or its first words only if it quotes a hidden case (a cell can find the
    cases in the sandbox's memory and raise them)."""
    if not any(s in text for s in secrets):
        return text
    return f"{text.split(':', 1)[0]} (its message quoted a hidden test: withheld)"


def _cell_problem(step: dict, outcome: dict) -> tuple[str, str] | None:
    """(status, what went wrong) for one cell's outcome, or ``None``."""
    ended, where = outcome.get("ended"), _where(step)
    if ended == "done":
        return ("error", f"{where} raised {outcome['error']}") if outcome.get("error") else None
    if ended == "cpu limit":
        return "timeout", f"used up its {outcome.get('cpu_limit')} s of CPU time in {where}"
    if ended == "timeout":
        return "timeout", f"still running after {outcome.get('wall', 0):.0f} s in {where}"
    if ended == "no time left":
        return "timeout", f"{where} was not run: the notebook's time was used up"
    if ended == "stopped the sandbox":
        return "error", (f"{where} stopped the process that runs the notebook (a signal, "
                         "or it stopped answering); it was left out")
    if ended == "out of time":
        return "timeout", f"{where} was still running when the notebook's time ran out"
    return "error", f"its process ended ({ended}) in {where}; the cell was left out"


def _reasons(ex: exercises.Exercise, run: Run, observations: list) -> list[tuple[str, str]]:
    """Why an exercise may have lost points: its own cells' and the setup cell's problems;
    when its answer was missing or raised, the problems of the other cells above it."""
    probe = next(n for n, s in enumerate(run.steps) if s.get("probe") == ex.id)
    mine, above = [], []
    for number, outcome in sorted(run.cells.items()):
        step = run.steps[number]
        problem = _cell_problem(step, outcome) if number < probe else None
        if problem:
            own = step["kind"] == "setup" or step.get("exercise") == ex.id
            (mine if own else above).append(problem)
    kinds = {next(iter(o), "") for o in observations if isinstance(o, dict)}
    return mine or (above[-3:] if kinds & {"unset", "error"} else [])


def _redacted(cases: list[dict], observations):
    """Observations with each hidden case's error message cut to its type."""
    if not isinstance(observations, list):
        return observations
    out = []
    for i, obs in enumerate(observations):
        hidden = i < len(cases) and cases[i].get("hidden")
        if hidden and isinstance(obs, dict) and isinstance(obs.get("error"), str):
            kind = re.match(r"[A-Za-z_][\w.]*", obs["error"])
            obs = {"error": f"{kind.group(0) if kind else 'an error'} in a hidden test"}
        out.append(obs)
    return out


def _judge(ex: exercises.Exercise, cases: list[dict], report: dict | None, run: Run,
           sub: Submission, budget: float) -> dict:
    """The verdict of one exercise from its report (untrusted data); flags what went wrong."""
    where = "the check of its answer"
    if report is None:
        status, problem = ("timeout", f"not checked: the notebook's {budget:.0f} s were used up"
                           ) if run.out_of_time else ("error", "the sandbox stopped before this "
                                                      "exercise reported")
        tail = " ".join(run.output.split())[-200:] if status == "error" else ""
        tail = "" if tail and _withheld(tail, _secrets(cases)) != tail else tail
        sub.flag(status, f"{ex.id}: {problem}" + (f" ({tail})" if tail else ""))
        return _not_graded(ex, cases, problem)
    ended = report.get("ended")
    problem = {"cpu limit": f"used up its {report.get('cpu_limit')} s of CPU time in {where}",
               "timeout": f"still running after {report.get('wall', 0):.0f} s in {where}",
               "stopped the sandbox": f"{where} stopped the process that runs the notebook",
               "out of time": f"{where} was still running when the notebook's time ran out",
               }.get(ended)
    if problem or ended != "done" or not isinstance(report.get("observations"), list):
        error = re.match(r"[A-Za-z_][\w.]*", str(report.get("error") or ""))
        problem = problem or (f"its process ended ({ended}) in {where}" + (
            f": {error.group(0)}" if error else ""))  # its type: the message may quote a case
        status = "timeout" if ended in ("cpu limit", "timeout", "out of time") else "error"
        sub.flag(status, f"{ex.id}: {problem}" + (
            "; the other exercises were graded" if status == "timeout" else ""))
        return _not_graded(ex, cases, problem)
    observations = _redacted(cases, report["observations"])
    verdict = ex.judge(cases, observations)
    secrets = _secrets(cases)
    reasons = [(status, _withheld(reason, secrets)) for status, reason in (
        _reasons(ex, run, observations) if verdict.score < verdict.points else [])]
    for status, reason in reasons:
        sub.flag(status, f"{ex.id}: {reason}" + (
            "; the other exercises were graded" if status == "timeout" else ""))
    if reasons and verdict.status == "not attempted":  # it was: its cell went wrong
        verdict = dataclasses.replace(verdict, status="failed", message=reasons[0][1])
    return {**verdict.as_dict(), "problem": reasons[0][1] if reasons else "",
            "reasons": [r for _, r in reasons]}


def grade_notebook(found: submissions.Found, *, seed: int = 0, exercise_timeout: int = 60,
                   limits: sandbox.Limits = sandbox.Limits(), sandboxed: bool = True,
                   notebook_timeout: float = NOTEBOOK_SECONDS) -> Submission:
    """Grade one submitted notebook within ``notebook_timeout`` seconds; never raises for a
    bad submission. ``exercise_timeout`` is each step's CPU time (see ``probing``)."""
    from vgg_course import exercises
    from vgg_course.exercises.core import without_expected
    from vgg_course.instructor import cells, submissions

    sub = Submission(found.student, found.path, found.lesson, seed=seed)
    for name in ("name", "file"):  # the printable names, where discover gives them
        if hasattr(sub, name) and isinstance(getattr(found, name, None), str):
            setattr(sub, name, getattr(found, name))
    start = time.monotonic()
    try:
        if found.lesson is None:
            sub.flag("invalid", f"{found.path.name}: cannot tell which lesson this is; name "
                                "it like 02_state_dict.ipynb or pass --lesson")
            return sub
        lesson = exercises.exercises(found.lesson)
        cases = {ex.id: exercise_cases(ex, seed) for ex in lesson}
        try:
            nb = submissions.read(found.path)
        except submissions.InvalidSubmission as exc:
            sub.flag("invalid", str(exc))
            sub.verdicts = [_not_graded(ex, cases[ex.id], "not graded") for ex in lesson]
            return sub
        for note in submissions.check_cell_notes(nb, found.lesson):
            sub.flag("flagged", f"{note} (the grader checks the answers itself: nothing gained)")
        job = {"lesson": found.lesson, "steps": cells.steps(nb, found.lesson),
               "timeout": exercise_timeout, "wall": runner.WALL * exercise_timeout,
               "exercises": [{"id": ex.id, "cases": without_expected(cases[ex.id])}
                             for ex in lesson]}  # the expected data never goes in
        run = runner.run(job, deadline=start + notebook_timeout, limits=limits, sandboxed=sandboxed)
        sub.cpu_seconds += run.cpu
        sub.verdicts = [_judge(ex, cases[ex.id], run.reports.get(ex.id), run, sub,
                               notebook_timeout) for ex in lesson]
    except Exception as exc:  # a grader bug must not stop the run
        sub.flag("error", f"the grader failed on this notebook: {type(exc).__name__}: {exc}")
    finally:
        sub.seconds = time.monotonic() - start
    return sub


def exercise_cases(ex: exercises.Exercise, seed: int) -> list[dict]:
    """Fresh cases, the hidden ones included (none in a student build of the kit)."""
    from vgg_course import exercises

    try:
        return ex.cases(seed, hidden=True)
    except exercises.SolutionsUnavailable:
        return ex.cases(seed)


def points(ex: exercises.Exercise) -> int:
    """An exercise's points with its hidden parts: its gradebook column's maximum."""
    from vgg_course import exercises

    try:
        extra = ex.hidden()
    except exercises.SolutionsUnavailable:  # a student build has no hidden tests
        extra = None
    return ex.points + (sum(p.points for p in extra.parts) if extra else 0)
