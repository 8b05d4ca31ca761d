"""The sandboxed side of grading: run a submission's answer cells and probe each exercise.

``python -m vgg_course.instructor.probing`` runs inside the grader's sandbox and trusts nothing it
runs. It reads a job from stdin (JSON: the lesson, the notebook's setup cell, a time limit,
and per exercise its answer cells and the cases the grader made), imports torch and the
lesson's exercises once, then forks one fresh process per exercise. That process runs the
setup cell and the exercise's answer cells in an IPython shell (as a notebook kernel would),
calls ``Exercise.probe`` on the cases and sends back the observations: plain JSON, never a
grade. Each exercise's process may use ``timeout`` seconds of CPU time (``RLIMIT_CPU``: the
kernel stops it, however busy the machine) and ``wall`` seconds in all (for one that
sleeps); one that crashes only loses its own process; after each exercise every process it
left behind is killed. One JSON line per exercise goes to the grader through
``SANDBOX_REPORT_FD``.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import sys
import time
from typing import Any

_OUTPUT_LIMIT = 8 * 2**20  # bytes one exercise may send back


def _error_text(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split())[:150]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _send(fd: int, item: dict) -> None:
    data = (json.dumps(item) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    return InteractiveShell.instance(config=config)


def _exercise(shell, module, item: dict, setup: str, out: int) -> None:
    """In the forked process: run the cells, probe, send; never returns."""
    exercise = next(e for e in module.EXERCISES if e.id == item["id"])
    for index, source in [(None, setup), *item["cells"]]:
        _send(out, {"step": "setup" if index is None else f"cell {index}"})
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            _send(out, {"error": [index, _error_text(error)]})
    _send(out, {"step": "probe"})
    observations = exercise.probe(shell.user_ns.get(exercise.answer, ...), item["cases"])
    _send(out, {"observations": observations})
    os._exit(0)


def _kill_leftovers(pid: int) -> None:
    """Kill what the exercise left running: its process group, and in a sandbox every
    process of the PID namespace but bwrap's init and this one."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    if not _in_sandbox():
        return
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, os.getpid()):
            try:
                os.kill(int(name), signal.SIGKILL)
            except OSError:
                pass


def _in_sandbox() -> bool:
    """Our own PID namespace, bwrap its init (never sweep a whole machine's processes)."""
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "bwrap"
    except OSError:
        return False


def _collect(read_fd: int, pid: int, cpu: float, wall: float) -> tuple[list[dict], str, float]:
    """Read the child's messages until it exits or its wall-clock limit; say how it ended
    and how much CPU time it used.

    The child's exit is watched through a pidfd, not the pipe: a process it left behind
    may hold the pipe open."""
    deadline, data, ended = time.monotonic() + wall, b"", "timeout"
    exited = os.pidfd_open(pid)
    os.set_blocking(read_fd, False)
    while (left := deadline - time.monotonic()) > 0 and len(data) <= _OUTPUT_LIMIT:
        ready, _, _ = select.select([read_fd, exited], [], [], left)
        if read_fd in ready:
            data += os.read(read_fd, 65536)
        if exited in ready:
            while len(data) <= _OUTPUT_LIMIT and (chunk := _read_now(read_fd)):
                data += chunk
            ended = "done"
            break
    if len(data) > _OUTPUT_LIMIT:
        ended = "too much output"
    os.close(exited)
    if ended != "done":
        os.killpg(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    used = usage.ru_utime + usage.ru_stime
    if ended == "done" and not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        signalled = os.WIFSIGNALED(status) and os.WTERMSIG(status)
        if signalled == signal.SIGXCPU or (signalled == signal.SIGKILL and used >= cpu):
            ended = "cpu limit"  # the kernel's RLIMIT_CPU (SIGKILL once SIGXCPU is ignored)
        else:
            ended = (f"killed by {signal.Signals(signalled).name}" if signalled
                     else f"exit code {os.WEXITSTATUS(status)}")
    messages = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            messages.append(json.loads(line))
        except ValueError:
            pass
    return [m for m in messages if isinstance(m, dict)], ended, used


def _read_now(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


def run_exercise(shell, module, item: dict, setup: str, limits: tuple[int, float],
                 report: int) -> dict:
    """Fork, run one exercise in the child (``limits``: CPU seconds, wall-clock seconds),
    and summarise what came back."""
    start = time.monotonic()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.close(report)
            os.setsid()
            _dumpable(True)
            resource.setrlimit(resource.RLIMIT_CPU, (limits[0], limits[0] + 1))
            _exercise(shell, module, item, setup, write_fd)
        finally:
            os._exit(70)
    os.close(write_fd)
    messages, ended, used = _collect(read_fd, pid, *limits)
    os.close(read_fd)
    _kill_leftovers(pid)
    steps = [m["step"] for m in messages if isinstance(m.get("step"), str)]
    done = [m["observations"] for m in messages if "observations" in m]
    return {"exercise": item["id"], "ended": ended, "step": steps[-1] if steps else "start",
            "errors": [m["error"] for m in messages if isinstance(m.get("error"), list)],
            "observations": done[-1] if done and ended == "done" else None,
            "seconds": round(time.monotonic() - start, 2), "cpu": round(used, 2)}


def _dumpable(flag: bool) -> None:
    """Not dumpable: exercises (same uid) can neither ptrace this process nor open its
    /proc/<pid>/fd (the report's descriptor). Each exercise is made dumpable again."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(4, int(flag), 0, 0, 0)  # PR_SET_DUMPABLE


def main() -> int:
    report = int(os.environ["SANDBOX_REPORT_FD"])
    job: dict[str, Any] = json.load(sys.stdin)
    sys.stdin = open(os.devnull)
    start = time.monotonic()
    import torch  # noqa: F401  (imported once here, shared by every forked exercise)

    from vgg_course import exercises

    module = exercises.load(job["lesson"])
    shell = _shell()
    _dumpable(False)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    _send(report, {"ready": round(time.monotonic() - start, 2),
                   "cpu": round(usage.ru_utime + usage.ru_stime, 2)})
    for item in job["exercises"]:
        _send(report, run_exercise(shell, module, item, job["setup"],
                                   (job["timeout"], job["wall"]), report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
