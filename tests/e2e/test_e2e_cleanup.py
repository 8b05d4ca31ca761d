"""JupyterLab, its kernels and Chromium are shut down when a browser test fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jupyterlab_driver import still_running

E2E_DIR = Path(__file__).resolve().parent

_CONFTEST = f"""
import sys
sys.path.insert(0, {str(E2E_DIR)!r})
from lab_fixtures import browser, lab_server  # noqa
"""

_FAILING_TEST = """
import json, os
from pathlib import Path

from jupyterlab_driver import descendants


def test_fails_with_everything_running(lab_server, browser):
    lab_server.api("POST", "/api/kernels", {"name": "python3"})
    page = browser.new_page()
    page.goto(lab_server.url + "/api/status?token=" + lab_server.token)
    Path(os.environ["PIDS_FILE"]).write_text(json.dumps(descendants(os.getpid())))
    assert False, "deliberate failure with JupyterLab, a kernel and Chromium running"
"""


def test_server_kernels_and_browser_end_when_a_test_fails(tmp_path):
    (tmp_path / "conftest.py").write_text(_CONFTEST)
    (tmp_path / "test_failing.py").write_text(_FAILING_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the repo's addopts
    pids_file = tmp_path / "pids.json"
    env = dict(os.environ, PIDS_FILE=str(pids_file))
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
    left = {pid: cmd.replace("\0", " ")[:120] for pid, cmd in still_running(started).items()}
    assert left == {}, f"still running after the failed test: {left}"
