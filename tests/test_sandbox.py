"""Tests for vgg_course.instructor.sandbox: what a sandboxed command can see, reach and use."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from submission_factory import host_processes
from vgg_course.instructor import fingerprint, sandbox

pytestmark = pytest.mark.skipif(
    sandbox.problem() is not None,
    reason=f"no bubblewrap sandbox here ({sandbox.problem()}); Debian: apt-get install bubblewrap")

KIT = fingerprint.PACKAGE


def _python(code: str, *, limits: sandbox.Limits = sandbox.Limits(seconds=60),
            env: dict | None = None, **kwargs):
    return sandbox.run([sys.executable, "-c", textwrap.dedent(code)],
                       readable=[*sandbox.python_paths(), KIT], limits=limits,
                       env={"PYTHONPATH": str(KIT.parent), **(env or {})}, **kwargs)


def _sandbox_uid_on_host() -> int:
    return sandbox.HOST_UID if os.geteuid() == 0 else os.geteuid()


def test_the_kit_and_the_system_are_read_only_and_the_working_folder_is_not():
    before = fingerprint.fingerprint([KIT])
    out = _python(f"""
        import os
        for path in ["{KIT}/exercises/freezing.py", "{KIT}/new.py", "/usr/bin/evil", "/etc/x"]:
            try:
                open(path, "a").write("x")
                print("WROTE", path)
            except OSError as exc:
                print(exc.errno, path)
        open("/sandbox/scratch.txt", "w").write("fine")
        print(os.getcwd(), os.listdir("."))
        """)
    assert "WROTE" not in out.output
    errnos = [line.split()[0] for line in out.output.splitlines()[:4]]
    assert set(errnos) <= {"13", "30"} and len(errnos) == 4, out.output  # EACCES / EROFS
    assert "/sandbox ['scratch.txt']" in out.output
    assert fingerprint.changes(before, fingerprint.fingerprint([KIT])) == []


def test_only_the_named_folders_are_visible(tmp_path):
    (tmp_path / "other_student.ipynb").write_text("{}")
    secret = KIT / "exercises" / "instructor"
    out = _python(f"""
        import os
        for path in ["{tmp_path}", "{KIT.parent / 'notebooks'}", "{Path.home()}", "{secret}"]:
            try:
                print(path, os.listdir(path))
            except OSError as exc:
                print(path, type(exc).__name__)
        """, hidden=[secret])
    assert f"{tmp_path} FileNotFoundError" in out.output
    assert f"{KIT.parent / 'notebooks'} FileNotFoundError" in out.output
    assert f"{secret} []" in out.output  # covered by an empty folder
    assert secret.is_dir() and any(secret.iterdir())  # (it is not empty outside)


def test_no_network_not_even_the_hosts_loopback():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(_accept(server)))
    thread.start()
    out = _python(f"""
        import socket
        for host, port in [("127.0.0.1", {port}), ("1.1.1.1", 80), ("pypi.org", 443)]:
            try:
                socket.create_connection((host, port), timeout=3)
                print("CONNECTED", host)
            except OSError as exc:
                print(host, type(exc).__name__)
        """)
    thread.join()
    server.close()
    assert "CONNECTED" not in out.output
    assert "127.0.0.1 ConnectionRefusedError" in out.output
    assert accepted == [None]


def _accept(server: socket.socket):
    try:
        return server.accept()
    except OSError:
        return None


def test_own_pid_namespace_unprivileged_and_no_user_namespaces():
    out = _python("""
        import os, subprocess
        status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines())
        print("uid", os.getuid(), "caps", status["CapEff"].strip(), "nnp", status["NoNewPrivs"].strip())
        print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
        print("init", open("/proc/1/comm").read().strip())
        print("unshare", subprocess.run(["unshare", "--user", "true"]).returncode)
        """)
    assert f"uid {sandbox.SANDBOX_UID} caps 0000000000000000 nnp 1" in out.output
    pids = eval(out.output.split("pids ")[1].splitlines()[0])  # noqa: S307 (our own output)
    assert pids[0] == 1 and len(pids) <= 4  # bwrap's init, python (and its subprocess)
    assert "init bwrap" in out.output and "unshare 1" in out.output


@pytest.mark.slow
def test_a_40_gb_allocation_fails_cleanly_and_torch_still_imports():
    out = _python("""
        import torch
        try:
            torch.empty(10_000_000_000)  # 40 GB of float32
            print("ALLOCATED")
        except RuntimeError as exc:
            print("refused:", str(exc).splitlines()[0])
        chunks = []
        try:
            while True:
                chunks.append(torch.ones(2**28))  # 1 GiB, touched
        except RuntimeError:
            print("stopped at", len(chunks), "GiB")
        """)
    assert out.returncode == 0, out.output
    assert "refused: [enforce fail at alloc_cpu.cpp" in out.output and "ALLOCATED" not in out.output
    gib = int(out.output.split("stopped at ")[1].split()[0])
    assert 0 < gib < sandbox.Limits().memory / sandbox.GiB


def test_a_fork_bomb_hits_the_process_limit_and_nothing_survives():
    out = _python("""
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(300)
                    os._exit(0)
                children += 1
        except OSError as exc:
            print("stopped after", children, exc.strerror)
        """, limits=sandbox.Limits(seconds=30, processes=64))
    children = int(out.output.split("stopped after ")[1].split()[0])
    assert 50 <= children < 64, out.output
    assert "Resource temporarily unavailable" in out.output
    assert host_processes(_sandbox_uid_on_host()) == [] or os.geteuid() != 0


@pytest.mark.slow
def test_a_fork_bomb_in_one_sandbox_leaves_another_its_processes():
    """The process limit counts per sandbox (each has its own user namespace), so a bomb
    next door does not stop a concurrent grade."""
    bomb = threading.Thread(target=_python, args=("""
        import os, time
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(8)
                    os._exit(0)
        except OSError:
            time.sleep(8)
        """,), kwargs={"limits": sandbox.Limits(seconds=30, processes=64)})
    bomb.start()
    time.sleep(2)  # the bomb has hit its limit by now
    out = _python("""
        import os, time
        for n in range(40):
            if os.fork() == 0:
                time.sleep(2)
                os._exit(0)
        print("forked", n + 1)
        """, limits=sandbox.Limits(seconds=30, processes=64))
    bomb.join()
    assert "forked 40" in out.output, out.output


def test_the_time_limit_kills_every_process_in_the_sandbox():
    start = time.monotonic()
    out = _python("""
        import subprocess, time
        for _ in range(3):
            subprocess.Popen(["sleep", "300"], start_new_session=True)
        print("started", flush=True)
        time.sleep(300)
        """, limits=sandbox.Limits(seconds=3))
    assert out.timed_out and out.returncode is None
    assert "started" in out.output
    assert time.monotonic() - start < 10
    if os.geteuid() == 0:
        assert host_processes(sandbox.HOST_UID) == []


def test_output_and_report_are_capped():
    limits = sandbox.Limits(seconds=30, file_size=1 * sandbox.MiB, report_size=1000)
    out = _python("""
        import json, os, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        report = int(os.environ["SANDBOX_REPORT_FD"])
        os.write(report, b'{"a": 1}\\n')
        try:
            os.write(1, b"y" * (10 * 2**20))
            os.write(1, b"y")
        except OSError as exc:
            os.write(report, json.dumps({"refused": exc.strerror}).encode() + b"\\n")
        os.write(report, b"x" * 5000)
        """, limits=limits)
    assert out.returncode == 0, out.output
    assert len(out.report) == 1000
    assert out.report_lines() == [{"a": 1}, {"refused": "File too large"}]
    assert out.output == "y" * 4000  # the tail of a 1 MiB file


def test_stdin_and_environment_reach_the_command():
    out = _python("""
        import os, sys
        print(sys.stdin.read(), os.environ["GREETING"], os.environ["HOME"], sorted(os.environ)[:3])
        """, stdin=b"job", env={"GREETING": "hi", "PYTHONPATH": str(KIT.parent)})
    assert out.output.startswith("job hi /sandbox")


_AS_USER = """
import sys
sys.path.insert(0, {kit_parent!r})
from vgg_course.instructor import sandbox
code = "\\n".join([
    "import os, time",
    "n = 0",
    "try:",
    "    while True:",
    "        if os.fork() == 0:",
    "            time.sleep(5)",
    "            os._exit(0)",
    "        n += 1",
    "except OSError:",
    "    pass",
    "print(os.getuid(), n)",
])
out = sandbox.run(["/usr/bin/python3", "-c", code], limits=sandbox.Limits(seconds=30, processes=32))
print(sandbox.problem(), out.returncode, out.output)
"""


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="needs root (to become another user) and Debian's /usr/bin/python3")
def test_the_sandbox_works_the_same_for_a_normal_user():
    """An instructor's own account, not root: bwrap maps uid 1000 to that user, and the
    process limit still counts the sandbox's processes only.

    That user gets its own readable copy of the kit: the checkout may sit under a folder
    only root can enter (``mktemp -d`` makes them 0700, and so does pytest's tmp_path).
    """
    readable = Path(tempfile.mkdtemp(prefix="vgg-kit-for-a-user-"))
    try:
        shutil.copytree(KIT, readable / KIT.name, ignore=shutil.ignore_patterns("__pycache__"))
        for folder, _, files in os.walk(readable):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        done = subprocess.run(["/usr/bin/python3", "-c", _AS_USER.format(kit_parent=str(readable))],
                              user=65534, group=65534, extra_groups=[], cwd="/",
                              capture_output=True, text=True, timeout=60)
    finally:
        shutil.rmtree(readable)
    assert done.returncode == 0, done.stderr
    problem, code, uid, forked = done.stdout.split()
    assert (problem, code, uid) == ("None", "0", str(sandbox.SANDBOX_UID)), done.stdout
    assert 20 <= int(forked) < 32, done.stdout
