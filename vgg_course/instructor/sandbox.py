"""Running one command in a bubblewrap sandbox: read-only files, no network, own PIDs, limits.

``run(argv, readable=[...])`` starts Debian's ``bwrap`` (package ``bubblewrap``) so that the
command sees only ``/usr``, ``/etc`` and the folders in ``readable`` (the Python installation
and the kit), all read-only, plus three small empty tmpfs folders: ``/sandbox`` (its working
folder), ``/tmp`` and ``/dev/shm``. Paths in ``hidden`` are covered. The command has no
network (a loopback of its own), its own PID, IPC, UTS and user namespaces, runs as uid
1000 without capabilities, and a seccomp filter stops it making user namespaces (where it
could mount big tmpfs folders). ``prlimit`` gives every process in it a memory
(address-space), process-count, file-size and CPU-time limit. After ``Limits.seconds`` the
sandbox is killed, and its PID namespace takes every process in it along.

Run as root, the sandbox's uid 1000 is host uid :data:`HOST_UID` (``RLIMIT_NPROC`` does not
apply to root, so the fork limit needs a real unprivileged uid); run as another user, it is
that user. The command reads ``stdin`` and reports through a pipe whose descriptor is in
``SANDBOX_REPORT_FD``, read as it comes (``watch``); its output and its report are capped.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

GiB, MiB = 2**30, 2**20
WORKDIR = "/sandbox"
SANDBOX_UID = 1000
HOST_UID = 64_000  # the host uid behind the sandbox's uid 1000 when the grader runs as root
REPORT_FD_VAR = "SANDBOX_REPORT_FD"


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use.

    ``memory`` is ``RLIMIT_AS`` per process: importing torch alone maps about 3.5 GB of
    address space (most of it never touched), so 6 GiB leaves about 2.5 GB for the
    student's tensors while a 40 GB allocation fails at once with a ``MemoryError``.
    ``processes`` is ``RLIMIT_NPROC``, counted per sandbox: threads count too; torch and
    the grader's worker need fewer than 10, and 32 keeps a notebook that busies every process
    it may make from taking more than a fair share of the CPU from its neighbour.
    """

    seconds: float = 600.0
    memory: int = 6 * GiB
    processes: int = 32
    file_size: int = 64 * MiB  # RLIMIT_FSIZE, and the size of each tmpfs folder
    report_size: int = 16 * MiB


@dataclass(frozen=True)
class Outcome:
    """How a sandboxed command ended: its exit code (``None`` if killed at the time limit),
    what it reported through ``SANDBOX_REPORT_FD``, and the end of its output."""

    returncode: int | None
    timed_out: bool
    report: bytes
    output: str

    def report_lines(self) -> list[dict]:
        """The report as JSON lines; lines that are not JSON objects are skipped."""
        lines = []
        for line in self.report.decode("utf-8", errors="replace").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict):
                lines.append(item)
        return lines


# --- the seccomp filter: no user namespaces inside --------------------------------------

_ARCHES = {  # AUDIT_ARCH value, clone, unshare, clone3 syscall numbers
    "x86_64": (0xC000003E, 56, 272, 435),
    "aarch64": (0xC00000B7, 220, 97, 435),
}


def _seccomp_program() -> bytes:
    """Classic BPF: ``clone``/``unshare`` with ``CLONE_NEWUSER`` fail with EPERM, ``clone3``
    with ENOSYS (glibc then falls back to ``clone``), and other ABIs (x32, i386) fail."""
    arch, clone, unshare, clone3 = _ARCHES[platform.machine()]
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, errno = 0x7FFF0000, 0x00050000
    program = [
        (ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, errno | 1),  # seccomp_data.arch
        (ld, 0, 0, 0),  # seccomp_data.nr
        (jeq, 0, 1, clone3), (ret, 0, 0, errno | 38),
        (jeq, 1, 0, clone), (jeq, 0, 3, unshare),
        (ld, 0, 0, 16), (jset, 0, 1, 0x10000000),  # args[0] & CLONE_NEWUSER
        (ret, 0, 0, errno | 1), (ret, 0, 0, allow)]
    return b"".join(struct.pack("HBBI", *op) for op in program)


def _pipe_with(data: bytes) -> int:
    read, write = os.pipe()
    os.write(write, data)  # a few hundred bytes: fits in the pipe's buffer
    os.close(write)
    return read


# --- the bwrap command line -------------------------------------------------------------

def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):  # merged /usr: /lib -> usr/lib
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _tree_args(readable: Sequence[Path], hidden: Sequence[Path]) -> list[str]:
    """Read-only binds of ``readable`` at the same paths (their parent folders made 0755,
    so uid 1000 can pass through them), then an empty tmpfs over each visible ``hidden``
    folder and ``/dev/null`` (unopenable there: no devices) over each ``hidden`` file."""
    roots: list[Path] = []
    for path in sorted({Path(p).resolve() for p in readable}, key=lambda p: len(p.parts)):
        if path.exists() and not any(path.is_relative_to(r) for r in [Path("/usr"), *roots]):
            roots.append(path)
    args, made = [], set()
    for root in roots:
        for parent in reversed(root.parents[:-1]):
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(root), str(root)]
    system = [Path(p) for p in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64")]
    for path in sorted({Path(p).resolve() for p in hidden}):
        if not any(path.is_relative_to(r) for r in [*system, *roots]):
            continue  # not visible in the sandbox anyway
        if path.is_dir():
            args += ["--tmpfs", str(path)]
        elif path.is_file():
            args += ["--ro-bind", "/dev/null", str(path)]
    return args


def _bwrap_argv(argv: Sequence[str], readable: Sequence[Path], hidden: Sequence[Path],
                env: Mapping[str, str], limits: Limits, fds: dict[str, int]) -> list[str]:
    size = str(limits.file_size)
    bwrap = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user",
             "--hostname", "sandbox", "--die-with-parent", "--new-session",
             "--seccomp", str(fds["seccomp"])]
    if "block" in fds:  # root: we write the uid map, mapping uid 1000 to HOST_UID
        bwrap += ["--userns-block-fd", str(fds["block"]), "--info-fd", str(fds["info"]),
                  "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        bwrap += ["--disable-userns", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    bwrap += [*_system_args(), "--proc", "/proc", "--dev", "/dev",
              "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
              "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm",
              "--perms", "0777", "--size", size, "--tmpfs", WORKDIR,
              *_tree_args(readable, hidden),  # after /tmp: a kit under /tmp stays visible
              "--chdir", WORKDIR, "--clearenv"]
    for key, value in {"PATH": "/usr/bin:/bin", "HOME": WORKDIR, "TMPDIR": "/tmp",
                       "LANG": "C.UTF-8", **env}.items():
        bwrap += ["--setenv", key, value]
    drop = [] if "block" not in fds else [
        shutil.which("setpriv") or "setpriv", f"--reuid={SANDBOX_UID}",
        f"--regid={SANDBOX_UID}", "--clear-groups", "--"]
    return [*bwrap, "--", *_prlimit(limits), *drop, *argv]


def _prlimit(limits: Limits, *, processes: bool = True) -> list[str]:
    """Inside a sandbox ``RLIMIT_NPROC`` counts the sandbox's own processes (its user
    namespace); outside one it would count all of this user's processes, so it is left out."""
    return [shutil.which("prlimit") or "prlimit", f"--as={limits.memory}",
            *([f"--nproc={limits.processes}"] if processes else []),
            f"--fsize={limits.file_size}", f"--cpu={int(limits.seconds) + 1}", "--core=0", "--"]


def _write_id_maps(info_fd: int, block_fd: int) -> None:
    """Map the sandbox's root to root (bwrap sets up the mounts as it) and its uid 1000 to
    :data:`HOST_UID`, then let bwrap go on."""
    data = b""
    while not data.rstrip().endswith(b"}"):
        chunk = os.read(info_fd, 4096)
        if not chunk:
            return  # bwrap failed before making the namespace; its output says why
        data += chunk
    pid = json.loads(data)["child-pid"]
    mapping = f"0 0 1\n{SANDBOX_UID} {HOST_UID} 1\n"
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as f:
            f.write(mapping)
    os.write(block_fd, b"1")


# --- running ----------------------------------------------------------------------------

def run(argv: Sequence[str], *, readable: Sequence[Path] = (), hidden: Sequence[Path] = (),
        env: Mapping[str, str] | None = None, stdin: bytes = b"", limits: Limits = Limits(),
        sandboxed: bool = True, watch: Callable[[bytes | None], float | None] | None = None,
        ) -> Outcome:
    """Run ``argv`` in a fresh sandbox and wait for it (at most ``limits.seconds``).

    ``watch`` is called with ``None`` at the start, then with each report line as it comes:
    it returns the ``time.monotonic()`` by which the next line must come (else the sandbox
    is killed: ``timed_out``), or ``None`` to end it now. With ``sandboxed=False`` (the grader's
    ``--unsafe-no-sandbox``) the command runs as this user in a fresh temporary folder, with
    the same ``prlimit`` limits and nothing else.

    Example:
        >>> import sys
        >>> outcome = run([sys.executable, "-c", "print(6 * 7)"], readable=python_paths(),
        ...               sandboxed=problem() is None)
        >>> outcome.output, outcome.returncode
        ('42\\n', 0)
    """
    env = dict(env or {})
    with tempfile.TemporaryFile() as job, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryDirectory() as scratch:
        job.write(stdin)
        job.seek(0)
        report_r, report_w = os.pipe()  # a pipe: what was read cannot be rewritten
        env[REPORT_FD_VAR] = str(report_w)
        keep, ours = [report_w], {"report_w": report_w}
        if sandboxed:
            ours["seccomp"] = _pipe_with(_seccomp_program())
            if os.geteuid() == 0:
                ours["info"], info_w = os.pipe()
                block_r, ours["block"] = os.pipe()
                ours["info_w"], ours["block_r"] = info_w, block_r
            fds = {"seccomp": ours["seccomp"]}
            if "block" in ours:
                fds.update(block=ours["block_r"], info=ours["info_w"])
            command = _bwrap_argv(argv, readable, hidden, env, limits, fds)
            keep += list(fds.values())
            cwd, child_env = None, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        else:
            command = [*(_prlimit(limits, processes=False) if shutil.which("prlimit") else []),
                       *argv]
            cwd = scratch
            child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": scratch,
                         "TMPDIR": scratch, **env}
        start = time.monotonic()
        try:
            proc = subprocess.Popen(command, stdin=job, stdout=out, stderr=subprocess.STDOUT,
                                    pass_fds=keep, cwd=cwd, env=child_env,
                                    start_new_session=True)
        finally:
            for name in ("seccomp", "info_w", "block_r", "report_w"):
                if name in ours:
                    os.close(ours[name])
        timed_out, report = False, b""
        try:
            if "block" in ours:
                _write_id_maps(ours["info"], ours["block"])
            timed_out, report = _follow(proc, report_r, start + limits.seconds, watch,
                                        limits.report_size)
        finally:
            os.close(report_r)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # bwrap's PID namespace goes with it
                proc.wait()
            for name in ("info", "block"):
                if name in ours:
                    os.close(ours[name])
        return Outcome(None if timed_out else proc.returncode, timed_out, report,
                       _tail(out, 4000))


def _follow(proc: subprocess.Popen, fd: int, end: float,
            watch: Callable[[bytes | None], float | None] | None,
            size: int) -> tuple[bool, bytes]:
    """Read the report until the command ends or its time is up: (timed out, report)."""
    deadline = min(end, watch(None) or end) if watch else end
    exited = os.pidfd_open(proc.pid)
    os.set_blocking(fd, False)
    report, pending = b"", b""
    try:
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([fd, exited], [], [], left)
            chunk = _read(fd) if fd in ready or exited in ready else b""
            if exited in ready:
                while more := _read(fd):  # what it wrote before it ended
                    chunk += more
            report += chunk[:max(0, size - len(report))]
            pending += chunk
            *lines, pending = pending.split(b"\n")
            pending = pending[-size:]
            for line in lines if watch else ():
                when = watch(line)
                if when is None:
                    return False, report
                deadline = min(end, when)
            if exited in ready or (fd in ready and not chunk):  # ended, or closed the report
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    return True, report
                return False, report
        return True, report
    finally:
        os.close(exited)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return b""


def _tail(f, limit: int) -> str:
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - limit))
    return f.read().decode("utf-8", errors="replace")


def python_paths() -> list[Path]:
    """This Python's installation folders: the interpreter, its standard library and the
    (virtual) environment's site-packages."""
    return sorted({Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                     sys.base_exec_prefix)})


@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """Why no sandbox can be made here, or ``None`` when one can (tried once per process)."""
    if platform.system() != "Linux":
        return f"bubblewrap needs Linux, not {platform.system()}"
    if platform.machine() not in _ARCHES:
        return f"no seccomp filter for {platform.machine()} (only {', '.join(_ARCHES)})"
    tools = ["bwrap", "prlimit"] + (["setpriv"] if os.geteuid() == 0 else [])
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        return (f"{', '.join(missing)} not found (Debian: apt-get install bubblewrap "
                "util-linux)")
    outcome = run(["/bin/sh", "-c", "id -u"], limits=Limits(seconds=30))
    if outcome.returncode != 0 or outcome.output.strip() != str(SANDBOX_UID):
        return f"bwrap could not make a sandbox here: {outcome.output.strip()[-300:]}"
    return None
