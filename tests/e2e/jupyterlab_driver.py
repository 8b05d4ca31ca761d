"""Driving a real JupyterLab in headless Chromium: start the server, open, run and check notebooks.

The server runs with ``expose_app_in_browser`` so the page's ``window.jupyterapp`` is the
JupyterLab application; notebooks are opened and run through its commands
(``docmanager:open``, ``notebook:run-all-cells``), the same commands the File and Run menus
call. Problems are read from the notebook's model (error outputs) and from the rendered
page (stderr tracebacks, "Error displaying widget", widgets stuck on "Loading widget...").
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# Debian's Chromium; VGG_COURSE_CHROMIUM points the suite at another Chromium or Chrome.
CHROMIUM = Path(os.environ.get("VGG_COURSE_CHROMIUM", "/usr/bin/chromium"))
# Chromium flags that work on a machine with no screen and a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# JupyterLab user settings for an unattended run: every cell stays in the page (so widget
# views render and can be checked), and no news or update pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def missing_requirements() -> str | None:
    """Why the browser suite cannot run here, or None when it can."""
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} not found: install Debian's Chromium (`apt-get install -y "
                "chromium`) or set VGG_COURSE_CHROMIUM to a Chromium/Chrome to run the browser tests")
    for module in ("playwright.sync_api", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            return f"{module.split('.')[0]} is not installed (pip install -r requirements.txt)"
    return None


def run_timeout() -> float:
    """Seconds one notebook may take to run all its cells (``VGG_COURSE_E2E_TIMEOUT``)."""
    return float(os.environ.get("VGG_COURSE_E2E_TIMEOUT", "240"))


def descendants(root: int) -> dict[int, str]:
    """Every live process below ``root`` (Linux ``/proc``): pid -> its command line."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
            ppid = int(rest.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            try:
                found[child] = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            todo.append(child)
    return found


def still_running(processes: dict[int, str]) -> dict[int, str]:
    """Those of ``processes`` that still run (same pid and command line: not a reused pid)."""
    alive = {}
    for pid, cmdline in processes.items():
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") == cmdline:
                alive[pid] = cmdline
        except OSError:
            pass
    return alive


def end_session(proc: subprocess.Popen, *, timeout: float = 20) -> dict[int, str]:
    """End a command started with ``start_new_session=True`` (``make lab``: make, course.py,
    JupyterLab) and every process below it, kernels included; returns any that survived.

    SIGTERM to its process group first (JupyterLab then shuts its kernels down), SIGKILL to
    what is left after ``timeout``: the group, and the processes noted before, which kernels
    are (jupyter_client starts them in sessions of their own, outside the group).
    """
    started = descendants(proc.pid)

    def signal_all(signum: int, pids: dict[int, str]) -> None:
        for kill, target in ((os.killpg, proc.pid), *((os.kill, pid) for pid in pids)):
            try:
                kill(target, signum)
            except (ProcessLookupError, PermissionError):
                pass

    signal_all(signal.SIGTERM, {})
    deadline = time.monotonic() + timeout
    while (proc.poll() is None or still_running(started)) and time.monotonic() < deadline:
        time.sleep(0.2)
    signal_all(signal.SIGKILL, still_running(started))
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    time.sleep(0.2)  # a SIGKILLed process leaves /proc a moment later
    return still_running(started)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """A JupyterLab server on 127.0.0.1 with its own token, home, config and workspace.

    ``args`` are further server options, such as the `lab` command's (a ``--ServerApp.root_dir``
    there replaces the driver's own, the workspace); ``settings`` the user settings written into
    its config (default :data:`LAB_SETTINGS`; ``{}`` for JupyterLab's defaults).
    """

    def __init__(self, base: Path, *, env: dict[str, str], args: list[str] | tuple[str, ...] = (),
                 settings: dict[str, dict] | None = None):
        self.base = base
        self.home = base / "home"
        self.workspace = base / "workspace"
        self.config_dir = base / "jupyter-config"
        self.log_path = base / "jupyterlab.log"
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self._extra_env = env
        self._args = list(args)
        self._settings = LAB_SETTINGS if settings is None else settings
        self._proc: subprocess.Popen | None = None

    def start(self, *, timeout: float = 90) -> None:
        for folder in (self.home, self.workspace, self.config_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for name, value in self._settings.items():
            path = self.config_dir / "lab" / "user-settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("JUPYTER", "PYTEST", "TQDM_"))}
        env.update(
            HOME=str(self.home),
            JUPYTER_CONFIG_DIR=str(self.config_dir),
            JUPYTER_DATA_DIR=str(self.base / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "jupyter-runtime"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.base / "lab-workspaces"),
            IPYTHONDIR=str(self.base / "ipython"),
            MPLCONFIGDIR=str(self.base / "matplotlib"),
            PYTHONHASHSEED="0",
        )
        env.update(self._extra_env)
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # no PyPI look-ups from the page
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            command.append("--allow-root")
        if not any(arg.startswith("--ServerApp.root_dir=") for arg in self._args):
            command.append(f"--ServerApp.root_dir={self.workspace}")
        command += self._args  # a scalar option given twice is an error: root_dir once
        log = open(self.log_path, "wb")
        # Its own session, so teardown can end the server and every kernel it started.
        self._proc = subprocess.Popen(command, env=env, cwd=self.workspace, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self._proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, body: dict | None = None) -> object:
        """Call the server's REST API with the token; returns the decoded JSON answer."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", method=method, data=data,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def running(self) -> list[str]:
        """API paths of the sessions and kernels running now."""
        try:
            return ([f"/api/sessions/{s['id']}" for s in self.api("GET", "/api/sessions")]
                    + [f"/api/kernels/{k['id']}" for k in self.api("GET", "/api/kernels")])
        except OSError:
            return []

    def shutdown_kernels(self, paths: list[str] | None = None) -> None:
        """End these sessions and kernels (default: all), so the next notebook has the CPUs."""
        for path in self.running() if paths is None else paths:
            try:
                self.api("DELETE", path)
            except OSError:
                pass  # already gone with its session, or the server is gone: stop() cleans up

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # Kernels run in sessions of their own (jupyter_client starts them so), so the
        # server's process group does not hold them: note them now, end them if left.
        started = descendants(proc.pid)
        proc.terminate()  # SIGTERM: the server shuts its kernels down, then exits
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait(timeout=10)
        for pid in still_running(started):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def add_notebook(self, source: Path, folder: str = "notebooks") -> str:
        """Copy a notebook into the workspace; returns its path relative to the server root."""
        target = self.workspace / folder / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return f"{folder}/{source.name}"


# --- the page side -----------------------------------------------------------------------

_OPEN_JS = """async ({path, timeoutMs}) => {
  const app = window.jupyterapp;
  const opening = (async () => {
    await app.started; await app.restored;
    const panel = await app.commands.execute('docmanager:open',
        {path, factory: 'Notebook', kernel: {name: 'python3'}});
    await panel.context.ready;
    await panel.sessionContext.ready;
    app.shell.activateById(panel.id);
    window.__vggPanel = panel;
    return panel.sessionContext.session.kernel.name;
  })();
  const timer = new Promise(resolve => setTimeout(() => resolve(null), timeoutMs));
  return await Promise.race([opening, timer]);
}"""

# A Run menu command (run-all-cells, run-all-below: from the active cell down) on the notebook.
_RUN_JS = """async ({command, timeoutMs}) => {
  const app = window.jupyterapp, panel = window.__vggPanel;
  app.shell.activateById(panel.id);
  const timer = new Promise(resolve => setTimeout(() => resolve('timeout'), timeoutMs));
  const result = await Promise.race([app.commands.execute(command), timer]);
  return result === 'timeout' ? 'timeout' : String(result);
}"""

# One snapshot of the notebook: per code cell, its count and problems from model and page.
_SNAPSHOT_JS = """() => {
  const panel = window.__vggPanel;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = [];
  panel.content.widgets.forEach((cell, index) => {
    const model = cell.model;
    if (model.type !== 'code') return;
    const tags = model.getMetadata('tags') || [];
    const errors = [];
    for (let i = 0; i < model.outputs.length; i++) {
      const out = model.outputs.get(i).toJSON();
      if (out.output_type === 'error') {
        errors.push(`${out.ename}: ${out.evalue}`);
      } else if (out.output_type === 'stream' && out.name === 'stderr'
                 && String(out.text).includes('Traceback (most recent call last)')) {
        errors.push('traceback on stderr: ' + String(out.text).slice(-600));
      }
    }
    const rendered = cell.node.querySelector('.jp-Cell-outputArea');
    const text = rendered ? rendered.innerText : '';
    for (const line of text.split('\\n')) {
      if (line.includes('Error displaying widget')) errors.push('page shows: ' + line.trim());
    }
    // ipywidgets 8 draws a widget whose model or view cannot be created as an error icon
    // ("Click to show javascript error."); a click swaps in the message, which we report.
    for (const icon of cell.node.querySelectorAll('.jupyter-widgets-error-widget')) {
      const view = icon.closest('.jupyter-widgets');
      if (icon.classList.contains('icon-error') && view && view.onclick) view.onclick();
      const message = icon.innerText.split('\\n').filter(l => l.trim()).slice(1, 3).join(' | ');
      errors.push('widget failed to render: ' + message);
    }
    cells.push({index, count: model.executionCount, tags, errors,
                loading: text.includes('Loading widget...'),
                source: model.sharedModel.getSource().slice(0, 120)});
  });
  return {kernel: kernel ? kernel.status : 'none', cells};
}"""

_KERNEL_EXEC_JS = """async ({code}) => {
  const kernel = window.__vggPanel.sessionContext.session.kernel;
  const future = kernel.requestExecute({code, store_history: false});
  const chunks = [];
  future.onIOPub = msg => {
    const c = msg.content;
    if (msg.header.msg_type === 'stream') chunks.push(c.text);
    if (msg.header.msg_type === 'error') chunks.push(`${c.ename}: ${c.evalue}`);
  };
  const reply = await future.done;
  return {status: reply.content.status, text: chunks.join('')};
}"""


# The kernel-side id of the widget output that holds the first element matching a selector.
_WIDGET_MODEL_ID_JS = """(selector) => {
  const element = document.querySelector(selector);
  if (!element) return null;
  const cellNode = element.closest('.jp-Cell');
  const cell = window.__vggPanel.content.widgets.find(c => c.node === cellNode);
  const children = [...cellNode.querySelectorAll('.jp-OutputArea-child')];
  const index = children.indexOf(element.closest('.jp-OutputArea-child'));
  const data = cell.model.outputs.get(index).data['application/vnd.jupyter.widget-view+json'];
  return data ? data.model_id : null;
}"""


@dataclass
class RunReport:
    """What running a notebook in the browser showed."""

    path: str
    seconds: float
    problems: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors, for context

    def __str__(self) -> str:
        lines = [f"{self.path}: {len(self.problems)} problem(s) in {self.seconds:.1f} s"]
        lines += [f"  - {problem}" for problem in self.problems]
        if self.problems and self.page_errors:
            lines += ["  JavaScript errors in the page:"] + [f"    {e}" for e in self.page_errors[:5]]
        return "\n".join(lines)


class NotebookPage:
    """One notebook open in a browser page, with its own kernel."""

    def __init__(self, page, server: LabServer, path: str):
        self.page = page
        self.server = server
        self.path = path
        self.page_errors: list[str] = []
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

    def open(self, *, timeout: float = 90) -> None:
        workspace = "e2e-" + secrets.token_hex(4)  # a fresh layout: nothing else reopens
        self.page.set_default_timeout(timeout * 1000)
        self.page.goto(f"{self.server.url}/lab/workspaces/{workspace}?reset"
                       f"&token={self.server.token}")
        self.attach(timeout=timeout)

    def attach(self, *, timeout: float = 90) -> None:
        """Take this notebook in the page as it is (opening it there if it is not open yet),
        once its kernel runs: for a page that got to JupyterLab by its own way."""
        self.page.wait_for_function("() => window.jupyterapp !== undefined")
        kernel = self.page.evaluate(_OPEN_JS, {"path": self.path, "timeoutMs": int(timeout * 1000)})
        if kernel is None:
            raise AssertionError(f"{self.path} did not open with a running kernel within "
                                 f"{timeout:.0f} s; server log:\n{self.server.log_tail()}")

    def snapshot(self) -> dict:
        return self.page.evaluate(_SNAPSHOT_JS)

    def run_all(self, *, timeout: float | None = None, settle: float = 10) -> RunReport:
        """Run every cell, wait for the kernel, and collect what went wrong."""
        return self._run("notebook:run-all-cells", "Run All Cells", timeout=timeout, settle=settle)

    def run_all_below(self, *, timeout: float | None = None, settle: float = 10) -> RunReport:
        """Run the active cell and every cell below it (Run > Run Selected Cell and All Below),
        wait for the kernel, and collect what went wrong in the whole notebook."""
        return self._run("notebook:run-all-below", "Run Selected Cell and All Below",
                         timeout=timeout, settle=settle)

    def _run(self, command: str, label: str, *, timeout: float | None, settle: float) -> RunReport:
        timeout = run_timeout() if timeout is None else timeout
        start = time.monotonic()
        outcome = self.page.evaluate(_RUN_JS, {"command": command, "timeoutMs": int(timeout * 1000)})
        seconds = time.monotonic() - start
        problems = [f"{label} did not finish within {timeout:.0f} s"] if outcome == "timeout" else []
        problems += self.problems(settle=settle)
        return RunReport(self.path, seconds, problems, list(self.page_errors))

    def problems(self, *, settle: float = 10) -> list[str]:
        """What is wrong in the page now: errors, failed or unrendered widgets, unrun cells."""
        problems: list[str] = []
        # Widget views render after the last reply; give them a moment to appear or fail.
        deadline = time.monotonic() + settle
        while True:
            snap = self.snapshot()
            busy = snap["kernel"] != "idle" or any(cell["loading"] for cell in snap["cells"])
            if not busy or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        not_run = []
        for cell in snap["cells"]:
            first_line = cell["source"].splitlines()[0] if cell["source"] else ""
            label = f"cell {cell['index']} ({first_line!r})"
            expected_error = "raises-exception" in cell["tags"]  # JupyterLab runs on past these
            if cell["errors"] and not expected_error:
                problems += [f"{label}: {error}" for error in cell["errors"]]
            if cell["count"] is None:
                not_run.append(str(cell["index"]))
            if cell["loading"]:
                problems.append(f"{label}: widget still 'Loading widget...' after {settle:.0f} s")
        if not_run:
            problems.append(f"cells not executed: {', '.join(not_run)}")
        if snap["kernel"] != "idle":
            problems.append(f"kernel is {snap['kernel']!r}, not idle")
        return problems

    def kernel_exec(self, code: str) -> str:
        """Run code in this notebook's kernel (not in a cell) and return what it printed."""
        result = self.page.evaluate(_KERNEL_EXEC_JS, {"code": code})
        if result["status"] != "ok":
            raise AssertionError(f"kernel code failed: {result['text']}")
        return result["text"]

    def widget_model_id(self, selector: str) -> str:
        """The model id (``widget.model_id`` in the kernel) of the displayed widget holding
        the first element that matches ``selector``."""
        model_id = self.page.evaluate(_WIDGET_MODEL_ID_JS, selector)
        if not model_id:
            raise AssertionError(f"no widget output holds an element matching {selector!r}")
        return model_id

    def close(self) -> None:
        self.page.close()  # its kernel is ended through the server: LabServer.shutdown_kernels
