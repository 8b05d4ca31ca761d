"""A notebook's wall-clock budget holds: sleeping, spinning or SIGSTOP cannot stretch it.

The grader keeps the time outside the sandbox (:mod:`vgg_course.instructor.runner`): each
step must report within its limit, the whole notebook within ``notebook_timeout``; a
sandbox that stops reporting is killed and the exercises not yet reported are graded in a
fresh one, without the step that stopped it. The worst case at the defaults (every exercise
of a 4-exercise lesson hanging its own way) is measured by
``benchmarks/bench_grading_worst_case.py``: 269 to 281 s of its 300.
"""

from __future__ import annotations

import time

import pytest

from submission_factory import LESSON, solution_answers, student_notebook, write
from vgg_course import exercises
from vgg_course.instructor import grading, runner, sandbox, submissions

needs_sandbox = pytest.mark.skipif(
    sandbox.problem() is not None,
    reason=f"no bubblewrap sandbox here ({sandbox.problem()}); Debian: apt-get install bubblewrap")

ANSWERS = solution_answers()
POINTS = {ex.id: grading._points(ex) for ex in exercises.exercises(LESSON)}
TIMEOUT, BUDGET = 4, 50  # CPU seconds per step; the notebook's wall-clock seconds
STOP_PARENT = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n"
STOP_ALL = "import os, signal, time\nos.kill(-1, signal.SIGSTOP)\ntime.sleep(10**6)\n"
SLEEP = "import signal, time\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\ntime.sleep(10**6)\n"
SPIN = "while True:\n    pass\n"


def _grade(tmp_path, name: str, answers: dict[str, str]):
    path = write(tmp_path, name, student_notebook({**ANSWERS, **answers}))
    start = time.monotonic()
    sub = grading.grade_notebook(submissions.Found(name, path, LESSON), seed=4,
                                 exercise_timeout=TIMEOUT, notebook_timeout=BUDGET)
    seconds = time.monotonic() - start
    print(f"{name}: {seconds:.1f} s of its {BUDGET} s budget; {sub.scores}; {sub.reasons}")
    return sub, seconds


@pytest.mark.slow  # notebooks that hang, graded in sandboxes
@needs_sandbox
def test_a_hang_a_stopped_parent_and_a_sleeper_cost_only_their_exercises(tmp_path):
    """One notebook: q1 spins, q2 stops the process that runs the notebook, q3 is right."""
    sub, seconds = _grade(tmp_path, "ann", {
        "freezing.q1": SPIN, "freezing.q2": STOP_PARENT + ANSWERS["freezing.q2"]})
    assert seconds < BUDGET + 5
    assert sub.scores == {**POINTS, "freezing.q1": 0, "freezing.q2": 0}
    reasons = "; ".join(sub.reasons)
    assert f"freezing.q1: used up its {TIMEOUT} s of CPU time in cell" in reasons
    assert "freezing.q2: cell" in reasons and "stopped the process that runs the notebook" in reasons
    sub, seconds = _grade(tmp_path, "bo", {"freezing.q2": SLEEP, "freezing.q3": STOP_ALL})
    assert seconds < BUDGET + 5
    assert sub.scores["freezing.q1"] == POINTS["freezing.q1"]
    assert sub.scores["freezing.q2"] == sub.scores["freezing.q3"] == 0
    assert "freezing.q2: still running after " in "; ".join(sub.reasons)  # its wall share


@pytest.mark.slow  # notebooks that hang, graded in sandboxes
@needs_sandbox
def test_every_exercise_hanging_stays_within_the_notebooks_budget(tmp_path):
    """Each exercise stalls the sandbox: each rerun costs a startup, and still the
    notebook ends by its deadline, the exercises it could not reach said to be so."""
    sub, seconds = _grade(tmp_path, "cy", {
        "freezing.q1": STOP_PARENT + SLEEP, "freezing.q2": STOP_ALL,
        "freezing.q3": STOP_PARENT + SLEEP})
    assert seconds < BUDGET + 5
    assert sub.total == 0
    for verdict in sub.verdicts:
        assert verdict["problem"], verdict  # each says why: stopped, or no time left for it


def test_the_grader_gives_each_step_its_limit_and_a_grace_never_past_the_deadline():
    """Run without a sandbox: the clock the grader keeps on what a sandbox reports."""
    now = time.monotonic()
    watch = runner._Watch(deadline=now + 100, wall=15)
    assert watch(None) == pytest.approx(now + 100, abs=1)  # startup: up to the deadline here
    due = watch(b'{"start": 3, "wall": 1000000}')  # a claim of a long step: capped
    assert due == pytest.approx(now + 15 + runner._GRACE, abs=1)
    assert watch(b'{"ran": 7}') == pytest.approx(now + runner._GRACE, abs=1)
    assert watch(b"not json") == watch._due  # garbage buys no time
    assert watch(b'{"end": true}') is None
    assert runner._Watch(deadline=now + 5, wall=15)(b'{"start": 1, "wall": 9}') <= now + 5
