"""JupyterLab, its kernels and Chromium are shut down when a browser test fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent

_CONFTEST = f"""
import sys
sys.path.insert(0, {str(E2E_DIR)!r})
from lab_fixtures import browser, lab_server, open_notebook, pytest_runtest_makereport  # noqa
"""

_FAILING_TEST = """
import json, os
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def descendants(root):
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
            ppid = int(rest.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                found[child] = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            todo.append(child)
    return found


def test_fails_with_everything_running(tmp_path, open_notebook):
    path = tmp_path / "kernel.ipynb"
    nb = new_notebook(cells=[new_code_cell("x = 1")])
    nbformat.write(nb, path)
    open_notebook(path).run_all(timeout=60)
    Path(os.environ["PIDS_FILE"]).write_text(json.dumps(descendants(os.getpid())))
    assert False, "deliberate failure with JupyterLab, a kernel and Chromium running"
"""


def _alive(pid: int, cmdline: str) -> bool:
    try:  # the same command line: not a new process that reused the id
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") == cmdline
    except OSError:
        return False


def test_server_kernels_and_browser_end_when_a_test_fails(tmp_path):
    (tmp_path / "conftest.py").write_text(_CONFTEST)
    (tmp_path / "test_failing.py").write_text(_FAILING_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the repo's addopts
    pids_file = tmp_path / "pids.json"
    env = dict(os.environ, PIDS_FILE=str(pids_file),
               VGG_COURSE_E2E_ARTIFACTS=str(tmp_path / "artifacts"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval",
         "--basetemp", str(tmp_path / "base"), str(tmp_path / "test_failing.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "deliberate failure" in result.stdout

    started = {int(pid): cmd for pid, cmd in json.loads(pids_file.read_text()).items()}
    kinds = {kind for kind in ("jupyterlab", "ipykernel", "chromium")
             if any(kind in cmd for cmd in started.values())}
    assert kinds == {"jupyterlab", "ipykernel", "chromium"}, started
    left = {pid: cmd.replace("\0", " ")[:120] for pid, cmd in started.items() if _alive(pid, cmd)}
    assert left == {}, f"still running after the failed test: {left}"
    assert (tmp_path / "artifacts" / "failed-test_fails_with_everything_running.png").exists()
