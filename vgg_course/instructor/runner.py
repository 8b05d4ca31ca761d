"""Running one notebook's steps in fresh sandboxes, within one time budget kept outside them.

The notebook's steps (:func:`vgg_course.instructor.cells.steps`: every code cell in order but
the checks, each exercise probed after its own cells) go to a bubblewrap sandbox with the
cases, their ``"expected"`` data left out (:mod:`vgg_course.instructor.probing` runs them
there; the limits of each step are in its docstring). Every copy of the instructor files
is hidden from it (:mod:`vgg_course.instructor.copies`). The sandbox reports each step as
it goes, and this process keeps the time: a notebook never takes more than its budget
(:data:`NOTEBOOK_SECONDS`, startup and reruns included), and a sandbox that stops reporting
(a cell stopped or killed the process that runs the notebook, or slept past its step's
limit) is killed; the exercises not yet reported then get a fresh sandbox, without the
step that stopped the last one, while the budget lasts. Report data is untrusted: lone
surrogates are escaped before anything is written.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from vgg_course.instructor import copies, fingerprint, sandbox

_ENV = {"VGG_COURSE_QUICK": "1", "VGG_COURSE_STRICT": "0", "TQDM_DISABLE": "1",
        "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg", "IPYTHONDIR": "/tmp/ipython", "PYTHONDONTWRITEBYTECODE": "1"}
_STARTUP_SECONDS = 120  # importing torch and the exercises inside a fresh sandbox, at most
WALL = 3  # a step's wall-clock limit, in multiples of its CPU-time limit
NOTEBOOK_SECONDS = 300  # a whole notebook's wall-clock budget: startup, every step, reruns
_GRACE = 10  # seconds past a step's limit before a silent sandbox is taken as stopped
_RERUN_SECONDS = 20  # a fresh sandbox only while at least this much of the budget is left


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made here, and ``--unsafe-no-sandbox`` was not given."""


def _clean(value):
    """Report data (untrusted) made safe to write anywhere: lone surrogates escaped."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


class _Watch:
    """The grader's clock on one sandbox: the next report line is due within the step's
    limit (at most ``wall``) plus a grace, and everything by the notebook's deadline."""

    def __init__(self, deadline: float, wall: float):
        self.deadline, self.wall, self.messages = deadline, wall, []

    def __call__(self, line: bytes | None) -> float | None:
        now = time.monotonic()
        if line is None:
            self._due = min(self.deadline, now + _STARTUP_SECONDS)
            return self._due
        try:
            item = json.loads(line.decode("utf-8", errors="replace"))
        except ValueError:
            item = None
        if not isinstance(item, dict):
            return self._due  # not a message: no more time
        self.messages.append(_clean(item))
        if item.get("end") is True:
            return None
        step = item.get("wall") if "start" in item else 0
        step = min(float(step), self.wall) if isinstance(step, (int, float)) else self.wall
        self._due = min(self.deadline, now + max(0.0, step) + _GRACE)
        return self._due

    _due = float("inf")


def _pythonpath() -> str:
    """The sandbox imports the grader's own kit first."""
    return str(fingerprint.PACKAGE.parent)


def _probe(job: dict, *, limits: sandbox.Limits, sandboxed: bool,
           deadline: float) -> tuple[list[dict], sandbox.Outcome]:
    """Run ``vgg_course.instructor.probing`` on ``job`` in a fresh sandbox: its messages."""
    readable = [*sandbox.python_paths(), fingerprint.PACKAGE]
    watch = _Watch(deadline, float(job["wall"]))
    outcome = sandbox.run(
        [sys.executable, "-m", "vgg_course.instructor.probing"],
        readable=readable, hidden=copies.instructor_copies(readable),  # every copy's solutions
        env={**_ENV, "PYTHONPATH": _pythonpath()},
        stdin=json.dumps(job, ensure_ascii=True).encode(), sandboxed=sandboxed,
        limits=dataclasses.replace(limits, seconds=max(1.0, deadline - time.monotonic())),
        watch=watch)
    return watch.messages, outcome


@dataclasses.dataclass
class Run:
    """What the sandboxes said about one notebook, over every rerun."""

    steps: list[dict]
    cells: dict[int, dict] = dataclasses.field(default_factory=dict)  # step number -> outcome
    reports: dict[str, dict] = dataclasses.field(default_factory=dict)  # exercise -> report
    skip: set[int] = dataclasses.field(default_factory=set)  # steps left out of reruns
    cpu: float = 0.0
    out_of_time: bool = False
    output: str = ""

    def absorb(self, messages: list[dict], outcome: sandbox.Outcome, todo: list[str],
               late: bool = False) -> bool:
        """Take one sandbox's messages (``late``: it was killed at the notebook's deadline);
        say whether a rerun can go further."""
        numbers = {s.get("cell", -1): n for n, s in enumerate(self.steps) if "cell" in s}
        open_step = last_kept = None
        self.output = outcome.output
        for m in messages:
            self.cpu += m["cpu"] if isinstance(m.get("cpu"), (int, float)) else 0
            if m.get("end") is True:
                return False
            if isinstance(m.get("start"), int) and 0 <= m["start"] < len(self.steps):
                open_step = m["start"]
            elif "cell" in m and m["cell"] in numbers and isinstance(m.get("ended"), str):
                number = open_step if open_step is not None else numbers[m["cell"]]
                self.cells[number], open_step = m, None
                last_kept = number if m.get("kept") else last_kept
                if not m.get("kept"):
                    self.skip.add(number)  # a rerun does not wait for it again
            elif m.get("exercise") in todo and m["exercise"] not in self.reports:
                self.reports[m["exercise"]], open_step = m, None
        culprit = open_step if open_step is not None else last_kept
        if culprit is None:
            return False  # it stopped before any step: a rerun would too
        step = self.steps[culprit]
        stopped = {"ended": "out of time" if late else "stopped the sandbox", "kept": False}
        if "probe" in step:
            self.reports.setdefault(step["probe"], {"exercise": step["probe"], **stopped})
        else:
            self.cells[culprit] = {"cell": step["cell"], **stopped}
            self.skip.add(culprit)
        return True


def run(job: dict, *, deadline: float, limits: sandbox.Limits, sandboxed: bool) -> Run:
    """The notebook's steps in sandboxes: again without the step that stopped the last one,
    while the budget lasts."""
    run = Run(job["steps"])
    for attempt in range(len(job["steps"]) + 1):
        todo = [e["id"] for e in job["exercises"] if e["id"] not in run.reports]
        left = deadline - time.monotonic()
        if not todo:
            break
        if attempt and left < _RERUN_SECONDS:
            run.out_of_time = True
            break
        messages, outcome = _probe(
            {**job, "seconds": left - 2, "skip": sorted(run.skip), "done": sorted(run.reports)},
            limits=limits, sandboxed=sandboxed, deadline=deadline)
        late = outcome.timed_out and time.monotonic() >= deadline - 1
        if not run.absorb(messages, outcome, todo, late):
            break
    run.out_of_time |= time.monotonic() >= deadline - 1
    return run


def preflight(lesson: str, *, limits: sandbox.Limits = sandbox.Limits(),
              sandboxed: bool = True) -> None:
    """Raise :class:`SandboxUnavailable` unless a sandbox can import torch and the kit, and
    can read no copy of the instructor files."""
    if sandboxed and (reason := sandbox.problem()):
        raise SandboxUnavailable(
            f"cannot sandbox students' code: {reason}. Install bubblewrap (Debian: apt-get "
            "install bubblewrap), or pass --unsafe-no-sandbox to run students' code with your "
            "permissions (the kit's files are then checked after every notebook).")
    job = {"lesson": lesson, "steps": [], "timeout": 1, "wall": 1, "exercises": [], "seconds": 1}
    messages, outcome = _probe(job, limits=limits, sandboxed=sandboxed,
                               deadline=time.monotonic() + _STARTUP_SECONDS + 30)
    ready = [m for m in messages if "ready" in m]
    if not ready:
        raise SandboxUnavailable("the sandbox could not import torch and the kit: "
                                 f"{' '.join(outcome.output.split())[-400:]}")
    seen = ready[0].get("instructor")
    if sandboxed and seen:
        raise SandboxUnavailable(
            f"the sandbox could read the instructor files of another copy of the kit "
            f"({', '.join(map(str, seen[:3]))}): uninstall that copy, or grade from an "
            "environment without it")
