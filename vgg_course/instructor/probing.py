"""The sandboxed side of grading: run a notebook's cells in order, each in a process of its own, and probe each exercise.

``python -m vgg_course.instructor.probing`` runs inside the grader's sandbox and trusts nothing it
runs. It reads a job from stdin (JSON, made by :mod:`vgg_course.instructor.runner`: the
lesson, the steps of :func:`vgg_course.instructor.cells.steps`, the limits, and per exercise
the cases without their expected data), imports torch and the lesson's exercises once, and
runs the steps as a notebook would, in an IPython shell, on a *main line* of processes:

- each cell runs in a child forked from the main line. If the cell ends in time (raising
  or not, as in a notebook), the child becomes the main line and its definitions go on to
  later cells; if it runs past its limit or its process dies, it is killed and the main
  line goes on without it (the cell is left out);
- each exercise is probed in a child of its own (``Exercise.probe`` on the cases), whose
  observations, plain JSON, go back to the grader; that child is then thrown away.

Limits (``T`` is the job's ``timeout``). Every step may use ``T`` seconds of CPU time
(``RLIMIT_CPU``: the kernel stops it, however busy the machine) and at most ``3 T`` seconds
of wall-clock time, and no more than its share of the time the notebook has left (the
job's ``seconds``), where ``m`` exercises are still to be probed: a probe may use what is
left for its exercise (``1/m``), and so may each of the lesson's cells above the exercises
(a lesson that trains, such as 06's lab, whose result the exercises read); an exercise's own
cells and the setup cell half that each; any other cell (scratch) a quarter. So a slow
scratch cell under a right answer
is stopped with time to spare for the probe, and each exercise keeps a fair share of the
notebook's time. After each step every process the step left behind is killed. One JSON
line per step goes to the grader through ``SANDBOX_REPORT_FD`` (``start`` before it, then
its outcome); the grader kills a sandbox that stops reporting (a step that stopped this
process, say) and grades the exercises not yet reported in a fresh one.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any

from vgg_course.instructor import forks

_ACK_SECONDS = 10.0  # how long a finished cell's process may take to take over the notebook
# bound before any student code runs: a cell that replaces them changes nothing here
_pipe, _close, _read, _write, _exit = os.pipe, os.close, os.read, os.write, os._exit


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    return InteractiveShell.instance(config=config)


class MainLine:
    """The process that holds the notebook's state so far, and runs the steps from it."""

    def __init__(self, job: dict, shell, module, report: int, top: int):
        self.job, self.shell, self.module, self.report, self.top = job, shell, module, report, top
        self.end = forks.monotonic() + float(job["seconds"])
        self.skip = {n for n in job.get("skip", []) if isinstance(n, int)}
        self.todo = [s["probe"] for s in job["steps"]
                     if "probe" in s and s["probe"] not in job.get("done", [])]
        self.cases = {item["id"]: item["cases"] for item in job["exercises"]}

    def limits(self, step: dict) -> tuple[int, float]:
        """(CPU seconds, wall-clock seconds) for ``step``: see the module's docstring."""
        share = (self.end - forks.monotonic()) / max(1, len(self.todo))
        part = (1 if "probe" in step or step["kind"] == "lesson"
                else 2 if step["kind"] in ("own", "setup") else 4)
        wall = min(float(self.job["wall"]), share / part)
        return max(1, min(int(self.job["timeout"]), int(wall) + 1)), wall

    def run(self) -> None:
        """Every step in order; returns in the process that runs the notebook at the end."""
        for number, step in enumerate(self.job["steps"]):
            if not self.todo:
                break
            if "probe" in step:
                if step["probe"] in self.todo:
                    self.probe(number, step["probe"])
                    self.todo.remove(step["probe"])
            elif number not in self.skip:
                self.cell(number, step)
            forks.sweep(keep=(self.top,))
        forks.send(self.report, {"end": True})

    def cell(self, number: int, step: dict) -> None:
        """Run one cell in a child; if it ends in time the child returns from here and runs
        the notebook on (this process exits), else it is killed and this process returns."""
        cpu, wall = self.limits(step)
        if wall < 0.5:
            forks.send(self.report, {"cell": step["cell"], "ended": "no time left",
                                     "kept": False})
            return
        forks.send(self.report, {"start": number, "wall": round(wall, 2)})
        start = forks.monotonic()
        done_r, done_w = _pipe()
        go_r, go_w = _pipe()
        try:
            pid = forks.fork(cpu)
        except OSError as exc:  # too many processes still, or no memory
            for fd in (done_r, done_w, go_r, go_w):
                _close(fd)
            forks.send(self.report, {"cell": step["cell"], "kept": False,
                                     "ended": f"not started: {forks.error_text(exc)}"})
            return
        if pid == 0:
            _close(done_r)
            _close(go_w)
            self.take_over(step, cpu, start, done_w, go_r)
            return  # this process runs the notebook now
        _close(done_w)
        _close(go_r)
        messages, ended, used, status = forks.collect(done_r, pid, cpu, wall, until_exit=False)
        done = next((m for m in messages if m.get("done") is True), None)
        if ended == "done":
            _write(go_w, b"1")
            if self.acked(done_r):
                _exit(0)  # the child took over; this process has nothing left to do
            ended = "did not take over"
        _close(go_w)
        _close(done_r)
        forks.kill(pid)
        if status is None:
            _, status, usage = os.wait4(pid, 0)
            used = usage.ru_utime + usage.ru_stime
        error = done.get("error") if done else None
        forks.send(self.report, {"cell": step["cell"], "ended": ended, "kept": False,
                                 "error": error if isinstance(error, str) else None,
                                 "seconds": round(forks.monotonic() - start, 2),
                                 "cpu": round(used, 2), "wall": round(wall, 2),
                                 "cpu_limit": cpu})

    def take_over(self, step: dict, cpu: int, start: float, done_w: int, go_r: int) -> None:
        """In the cell's process: run it, say so, and take over the notebook when told."""
        parent, before = os.getppid(), resource.getrusage(resource.RUSAGE_SELF)
        result = self.shell.run_cell(step["source"], store_history=False)
        error = result.error_before_exec or result.error_in_exec
        text = None if error is None else forks.error_text(error)
        after = resource.getrusage(resource.RUSAGE_SELF)
        used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        forks.send(done_w, {"done": True, "error": text})
        forks.send(self.report, {"ran": step["cell"]})  # the grader expects the next step soon
        if _read(go_r, 1) != b"1":  # the word of the process that ran the notebook so far
            _exit(0)
        forks.adopt()
        forks.send(self.report, {"cell": step["cell"], "ended": "done", "kept": True,
                                 "error": text, "seconds": round(forks.monotonic() - start, 2),
                                 "cpu": round(used, 2)})
        _write(done_w, b"A\n")
        _close(done_w)
        _close(go_r)
        forks.follow(parent)

    def acked(self, fd: int) -> bool:
        """Did the finished cell's process take over (its ``A`` line after ``go``)?"""
        deadline, data = forks.monotonic() + _ACK_SECONDS, b""
        while (left := deadline - forks.monotonic()) > 0:
            chunk = forks.read_now(fd) if forks.readable(fd, left) else b""
            if not chunk:
                return False  # it died, or said nothing in time
            data += chunk
            if b"A\n" in data:
                return True
        return False

    def probe(self, number: int, exercise_id: str) -> None:
        """Probe one exercise's answer in a child thrown away after it."""
        cpu, wall = self.limits({"probe": exercise_id})
        forks.send(self.report, {"start": number, "wall": round(wall, 2)})
        start = forks.monotonic()
        read_fd, write_fd = _pipe()
        try:
            pid = forks.fork(cpu)
        except OSError as exc:
            _close(read_fd)
            _close(write_fd)
            forks.send(self.report, {"exercise": exercise_id, "observations": None,
                                     "ended": f"not started: {forks.error_text(exc)}"})
            return
        if pid == 0:
            try:
                _close(read_fd)
                exercise = next(e for e in self.module.EXERCISES if e.id == exercise_id)
                answer = self.shell.user_ns.get(exercise.answer, ...)
                try:
                    forks.send(write_fd, {"observations": exercise.probe(
                        answer, self.cases[exercise_id])})
                except BaseException as exc:  # a hostile answer broke the probe itself
                    forks.send(write_fd, {"error": forks.error_text(exc)})
            finally:
                _exit(0)
        _close(write_fd)
        messages, ended, used, _ = forks.collect(read_fd, pid, cpu, wall, until_exit=True)
        _close(read_fd)
        forks.kill(pid)
        done = [m["observations"] for m in messages if "observations" in m]
        errors = [m["error"] for m in messages if isinstance(m.get("error"), str)]
        forks.send(self.report, {
            "exercise": exercise_id, "ended": ended, "cpu": round(used, 2),
            "seconds": round(forks.monotonic() - start, 2), "wall": round(wall, 2),
            "cpu_limit": cpu, "observations": done[-1] if done and ended == "done" else None,
            "error": errors[-1] if errors else None})


def visible_instructor_files() -> list[str]:
    """Instructor files of any copy of the kit this process could read (none, in a sandbox
    whose grader hid them all): each ``vgg_course/exercises/instructor`` under ``sys.path``."""
    found = []
    for entry in sys.path:
        folder = os.path.join(entry or ".", "vgg_course", "exercises", "instructor")
        try:
            found += [os.path.join(folder, n) for n in sorted(os.listdir(folder))
                      if n.endswith((".py", ".pyc")) or n == "__pycache__"]
        except OSError:
            continue
    return found[:5]


def main() -> int:
    report = int(os.environ["SANDBOX_REPORT_FD"])
    job: dict[str, Any] = json.load(sys.stdin)
    sys.stdin = open(os.devnull)
    start = forks.monotonic()
    import torch  # noqa: F401  (imported once here, shared by every forked step)

    from vgg_course import exercises

    module = exercises.load(job["lesson"])
    shell = _shell()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    forks.send(report, {"ready": round(forks.monotonic() - start, 2),
                        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
                        "instructor": visible_instructor_files()})
    job["seconds"] = float(job["seconds"]) - (forks.monotonic() - start)
    forks.prctl(forks.PR_SET_CHILD_SUBREAPER, 1)  # orphans come here to be reaped
    top = os.getpid()
    forks.prctl(forks.PR_SET_DUMPABLE, 0)  # its /proc/<pid>/fd (the sandbox's output) closed
    if os.fork() == 0:
        code = 0
        try:
            forks.prctl(forks.PR_SET_DUMPABLE, 1)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)  # students' output is never read, and must not fill a file
            os.dup2(null, 2)
            MainLine(job, shell, module, report, top).run()
        except BaseException as exc:
            forks.send(report, {"fatal": forks.error_text(exc)})
            code = 70
        _exit(code)
    while True:  # wait for the notebook's processes and every orphan; then the sandbox ends
        try:
            os.wait()
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue


if __name__ == "__main__":
    sys.exit(main())
