"""One step's process inside the grader's sandbox: forked with its limits, watched to its end, its leftovers killed.

Used by :mod:`vgg_course.instructor.probing` in the process that runs a notebook, which has
run students' cells: the functions it needs (``json``, ``os``, ``select``, ``time``) are
bound here at import, before any student code, so a cell that replaces ``json.dumps`` or
``time.monotonic`` in its modules does not change how steps are timed or reported.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import time

_OUTPUT_LIMIT = 8 * 2**20  # bytes one step may send back
_PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 1, 4, 36

_encode = json.JSONEncoder(ensure_ascii=True, default=repr).encode
_decode = json.JSONDecoder().decode
_write, _read, _fork, _kill, _killpg = os.write, os.read, os.fork, os.kill, os.killpg
_wait4, _waitpid, _listdir, _pidfd_open, _close = (os.wait4, os.waitpid, os.listdir,
                                                   os.pidfd_open, os.close)
_select, _monotonic, _setrlimit = select.select, time.monotonic, resource.setrlimit
_prctl_call = ctypes.CDLL(None, use_errno=True).prctl
monotonic = _monotonic


def error_text(exc: BaseException | None) -> str:
    """``Type: message`` on one line; never raises (a message may be hostile)."""
    try:
        name = type(exc).__name__
    except Exception:
        name = "Exception"
    try:
        text = " ".join(str(exc).split())[:150]
    except BaseException:  # a __str__ that raises
        text = "(its message could not be read)"
    return f"{name}: {text}" if text else name


def send(fd: int, item: dict) -> None:
    """One JSON line, ASCII only: lone surrogates and other odd text arrive escaped."""
    data = (_encode(item) + "\n").encode("ascii")
    while data:
        data = data[_write(fd, data):]


def prctl(option: int, value: int) -> None:
    _prctl_call(option, value, 0, 0, 0)


def read_now(fd: int) -> bytes:
    try:
        return _read(fd, 65536)
    except OSError:  # BlockingIOError: nothing yet
        return b""


def readable(fd: int, seconds: float) -> bool:
    """Has ``fd`` something to read (or its end) within ``seconds``?"""
    return bool(_select([fd], [], [], max(0.0, seconds))[0])


def messages(data: bytes) -> list[dict]:
    out = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        try:
            item = _decode(line)
        except ValueError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


def fork(cpu: int) -> int:
    """Fork a step's process: its own session, ``cpu`` seconds of CPU time, and death
    with its parent (the process that runs the notebook). Tries for a few seconds while
    processes a step left behind are still going (``OSError`` after that)."""
    parent, deadline = os.getpid(), _monotonic() + 5
    while True:
        try:
            pid = _fork()
            break
        except BlockingIOError:
            if _monotonic() > deadline:
                raise
            _select([], [], [], 0.05)
    if pid == 0:
        try:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:
                os._exit(0)
            os.setsid()
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]  # can only go down
            _setrlimit(resource.RLIMIT_CPU, (cpu if hard < 0 else min(cpu, hard), hard))
        except BaseException:
            os._exit(70)
    return pid


def adopt() -> None:
    """In a step's process that takes over the notebook: outlive its parent, and lift its
    step's CPU-time limit (the sandbox's own still holds)."""
    prctl(_PR_SET_PDEATHSIG, 0)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    _setrlimit(resource.RLIMIT_CPU, (hard, hard))


def follow(parent: int, seconds: float = 2.0) -> None:
    """Once ``parent`` (which ran the notebook before this process) has exited, die with
    the process this one now belongs to: nothing outlives the grader's process."""
    deadline = _monotonic() + seconds
    while os.getppid() == parent and _monotonic() < deadline:
        _select([], [], [], 0.002)
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def how_it_ended(status: int, used: float, cpu: int) -> str:
    signalled = os.WIFSIGNALED(status) and os.WTERMSIG(status)
    if signalled == signal.SIGXCPU or (signalled == signal.SIGKILL and used >= cpu):
        return "cpu limit"  # the kernel's RLIMIT_CPU (SIGKILL once SIGXCPU is ignored)
    if signalled:
        return f"killed by {signal.Signals(signalled).name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def collect(read_fd: int, pid: int, cpu: int, wall: float, *,
            until_exit: bool) -> tuple[list[dict], str, float, int | None]:
    """Read a step's messages until it exits, or (unless ``until_exit``) until it says
    ``done``, or until its wall-clock limit: (messages, how it ended, CPU seconds, exit
    status or ``None`` while it runs). The exit is watched through a pidfd, not the pipe:
    a process it left behind may hold the pipe open."""
    deadline, data, ended = _monotonic() + wall, b"", "timeout"
    exited = _pidfd_open(pid)
    os.set_blocking(read_fd, False)
    while (left := deadline - _monotonic()) > 0 and len(data) <= _OUTPUT_LIMIT:
        ready, _, _ = _select([read_fd, exited], [], [], left)
        if read_fd in ready:
            data += read_now(read_fd)
            if not until_exit and data.endswith(b"\n") and any(
                    m.get("done") is True for m in messages(data)):
                ended = "done"
                break
        if exited in ready:
            while len(data) <= _OUTPUT_LIMIT and (chunk := read_now(read_fd)):
                data += chunk
            ended = "exited"
            break
    _close(exited)
    os.set_blocking(read_fd, True)
    if len(data) > _OUTPUT_LIMIT:
        ended = "too much output"
    if ended == "done":
        return messages(data), ended, 0.0, None
    if ended != "exited":
        kill(pid)
    _, status, usage = _wait4(pid, 0)
    used = usage.ru_utime + usage.ru_stime
    if ended == "exited":
        clean = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        ended = "done" if clean and until_exit else how_it_ended(status, used, cpu)
    elif ended == "timeout" and used >= cpu:
        ended = "cpu limit"
    return messages(data), ended, used, status


def kill(pid: int) -> None:
    try:
        _killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def in_sandbox() -> bool:
    """Our own PID namespace, bwrap its init (never sweep a whole machine's processes)."""
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "bwrap"
    except OSError:
        return False


def sweep(keep: tuple[int, ...], seconds: float = 5.0) -> None:
    """Kill what a step left running: in a sandbox every process of the PID namespace but
    its init and ``keep``; wait (a few seconds at most) until they are gone and reaped, so
    that the next step may fork as many processes as the first."""
    sandboxed, deadline = in_sandbox(), _monotonic() + seconds
    while True:
        others = [int(n) for n in _listdir("/proc") if n.isdigit()
                  and int(n) not in (1, os.getpid(), *keep)] if sandboxed else []
        for pid in others:
            try:
                _kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            while _waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        if not others or _monotonic() > deadline:
            return
        _select([], [], [], 0.01)
