"""A newcomer follows the README: `make lab` on a fresh copy, lesson 03 with no weights, the way out.

1. The tree under test (``git ls-files``: tracked and new files, as they are now, nothing
   ignored) is copied into a temporary folder: a fresh clone of this checkout.
2. The README's set-up command runs there as written, with ``VENV=`` naming a stand-in for
   an environment ``make test`` has set up (see :func:`stand_in_env`), so its set-up step
   must skip the install; JupyterLab is found by the URL it prints, in a browser: lesson 00.
3. Lesson 03 is opened from the file browser and run in the default (full) mode, with an
   empty ``TORCH_HOME`` and no network: the cell that loads VGG16 must fail at once with the
   kit's one-screen error, whose first way out is a switch for a cell.
4. As a student would: a cell above the failing one, the switch typed in and run, then
   "Run Selected Cell and All Below": the lesson must finish with no error anywhere.

No network: every HTTP(S) request of the server and its kernels goes through a proxy on a
local port this test holds bound but not listening, so the weights download is refused at
once (urllib honours ``https_proxy``), here and on a machine with internet alike.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from jupyterlab_driver import LAB_SETTINGS, NotebookPage, end_session
from lab_fixtures import ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
LESSON_03 = "notebooks/en/03_freezing.ipynb"
SCREEN_LINES = 25  # what "fits on one screen" means for the error a student meets
SWITCH = re.compile(r'vc\.config\.use\("\w+"\)')


def readme_command(marker: str) -> str:
    """The one-line command in the README's fenced block after ``<!-- marker -->``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- {marker} -->\s*```\w*\n(.*?)\n```", text, re.S)
    assert block, f"README.md has no block after <!-- {marker} -->"
    return block.group(1).strip()


def copy_checkout(dest: Path) -> Path:
    """The working tree's files git knows of (tracked, and new ones not ignored), as they are
    now: what a clone would hold if this tree were committed. No .venv, data or results."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: nothing to clone")
    for name in sorted(set(listed.decode().split("\0")) - {""}):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the tree is not in it
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def stand_in_env(dest: Path, course) -> Path:
    """An environment set up for the copy, made of the running one, whose files are shared.

    The running environment is the kit installed editable from this tree with the lab and
    test extras (``make test`` installs it before it runs pytest, and refreshes its stamp
    ``.installed`` whenever pyproject.toml changes). The stand-in is that environment seen
    from another prefix: its own ``pyvenv.cfg`` and ``bin/python`` (a link), the same
    ``lib``, the same JupyterLab files, and its own stamp, written as ``course.py`` writes it
    for the copy's pyproject.toml. So `make lab` finds it set up, and whatever it writes (its
    JupyterLab settings) lands in the stand-in, never in the environment running the suite.
    """
    prefix = Path(sys.prefix)
    (dest / "bin").mkdir(parents=True)
    shutil.copy(prefix / "pyvenv.cfg", dest / "pyvenv.cfg")
    (dest / "bin" / "python").symlink_to(Path(sys.executable))
    for name in ("lib", "etc"):
        (dest / name).symlink_to(prefix / name)
    app_dir = dest / "share" / "jupyter" / "lab"  # sys.prefix/share/jupyter/lab: static files
    app_dir.mkdir(parents=True)
    for entry in (prefix / "share" / "jupyter").iterdir():
        if entry.name != "lab":
            (dest / "share" / "jupyter" / entry.name).symlink_to(entry)
    for entry in (prefix / "share" / "jupyter" / "lab").iterdir():
        if entry.name != "settings":  # course.py writes its settings here: the stand-in's own
            (app_dir / entry.name).symlink_to(entry)
    (dest / course.STAMP).write_text(json.dumps(course._wanted(course.EXTRAS["test"])),
                                     encoding="utf-8")
    return dest


def newcomer_env(base: Path, refused_port: int) -> dict[str, str]:
    """A new user's environment: no kit settings, a fresh home and Jupyter folders, an empty
    torchvision cache, and no network. The test is the user's browser: JupyterLab opens
    none, and shows the page's application to the test (as the other browser tests do)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTER", "PYTEST", "TQDM_", "VGG_COURSE_", "PIP_", "MAKE"))
           and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "torch_home",
                                   "mflags", "virtual_env", "pythonpath")}
    proxy = f"http://127.0.0.1:{refused_port}"
    config = base / "jupyter-config"
    for name, value in LAB_SETTINGS.items():  # every cell stays in the page, to be read
        path = config / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
    (config / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"open_browser": False},
        "LabApp": {"expose_app_in_browser": True},
    }), encoding="utf-8")
    env.update(
        HOME=str(base / "home"),
        JUPYTER_CONFIG_DIR=str(config),
        JUPYTER_DATA_DIR=str(base / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(base / "jupyter-runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "lab-workspaces"),
        IPYTHONDIR=str(base / "ipython"),
        MPLCONFIGDIR=str(base / "matplotlib"),
        TORCH_HOME=str(base / "torch-home"),  # empty: no VGG16 weights
        http_proxy=proxy, https_proxy=proxy, HTTP_PROXY=proxy, HTTPS_PROXY=proxy,
        no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost",
        PIP_NO_INDEX="1",  # were the install not skipped, pip would fail, never reinstall
    )
    (base / "home").mkdir()
    (base / "torch-home").mkdir()
    return env


class ReadmeLab:
    """The README's set-up command, running in a folder, and what it printed."""

    def __init__(self, command: list[str], *, cwd: Path, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        with open(log_path, "wb") as log:  # its own session: end_session ends it all
            self.proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"

    def printed_url(self, timeout: float = 60) -> str:
        """The first address JupyterLab prints for its user (with its token)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.findall(r"http://(?:localhost|127\.0\.0\.1):\d+/\S*token=\w+", self.log_tail(20000))
            if found:
                return found[0]
            if self.proc.poll() is not None:
                break
            time.sleep(0.25)
        raise AssertionError(f"no URL in the output of the set-up command:\n{self.log_tail()}")

    def stop(self) -> dict[int, str]:
        return end_session(self.proc)


@pytest.fixture
def refused_port():
    """A local port bound but never listening: a connection there is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# The notebook the page shows (null until the URL's document is open).
_CURRENT_DOCUMENT_JS = """() => {
  const shell = window.jupyterapp && window.jupyterapp.shell;
  const current = shell && shell.currentWidget;
  return current && current.context ? current.context.path : null;
}"""

# A cell's rendered output: its text as the page shows it, and how tall it is on screen.
_OUTPUT_JS = """(index) => {
  const cell = window.__vggPanel.content.widgets[index];
  const area = cell.node.querySelector('.jp-Cell-outputArea');
  return {text: area ? area.innerText : '', height: area ? area.getBoundingClientRect().height : 0,
          screen: window.innerHeight};
}"""


def test_readme_on_a_fresh_clone_lesson_03_without_weights(browser, tmp_path, refused_port):
    clone = copy_checkout(tmp_path / "clone")
    spec = importlib.util.spec_from_file_location("course_in_clone", clone / "scripts" / "course.py")
    course = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course)
    env_dir = stand_in_env(tmp_path / "venv", course)
    setup_command = readme_command("setup-command")
    assert setup_command == "make lab", setup_command  # VENV= below is make's own variable
    lab = ReadmeLab([*setup_command.split(), f"VENV={env_dir}"], cwd=clone,
                    env=newcomer_env(tmp_path, refused_port), log_path=tmp_path / "make-lab.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(90_000)
    try:
        # 1. The printed URL opens lesson 00; the set-up step skipped the install.
        url = lab.printed_url()
        output = lab.log_tail(20000)
        assert not re.search(r"^\+ .* -m pip install|^creating the virtual environment", output, re.M), \
            f"the set-up step did not take the environment as set up:\n{output}"
        assert course.lab_settings_file(env_dir).is_file()  # set-up wrote the kit's settings there
        assert urlsplit(url).path == f"/lab/tree/{course.LESSON_00.format(lang='en')}", url
        page.goto(url)
        assert page.wait_for_function(_CURRENT_DOCUMENT_JS).json_value() == course.LESSON_00.format(lang="en")

        # 2. Lesson 03 from the file browser (it shows notebooks/en/), Run All, full mode.
        page.locator(".jp-DirListing-item", has=page.get_by_text("03_freezing.ipynb", exact=True)).dblclick()
        page.wait_for_function(f"() => ({_CURRENT_DOCUMENT_JS})() === {json.dumps(LESSON_03)}")
        lesson = NotebookPage(page, lab, LESSON_03)
        lesson.attach()
        first = lesson.run_all(timeout=60, settle=2)
        failing = [cell for cell in lesson.snapshot()["cells"] if cell["errors"]]
        assert failing, f"lesson 03 ran with no error in full mode without weights:\n{first}"
        cell = failing[0]
        assert cell["source"].startswith("model = vc.models.load_vgg16("), str(first)
        assert cell["errors"][0].startswith("WeightsUnavailableError: "), cell["errors"]
        assert first.seconds < 30, f"the failed download took {first.seconds:.0f} s"

        # 3. The error a student reads: on one screen, naming the switch.
        shown = page.evaluate(_OUTPUT_JS, cell["index"])
        lines = shown["text"].rstrip("\n").splitlines()
        print(f"lesson 03, cell {cell['index']}: {len(lines)} lines, {shown['height']:.0f} px "
              f"of {shown['screen']} px:\n{shown['text']}")
        assert len(lines) <= SCREEN_LINES, f"{len(lines)} lines:\n{shown['text']}"
        assert shown["height"] <= shown["screen"], shown
        ways_out = shown["text"].split("Ways out:", 1)
        assert len(ways_out) == 2, f"the error gives no ways out:\n{shown['text']}"
        switch = SWITCH.search(ways_out[1].split("\n  2.", 1)[0])
        assert switch, f"the first way out names no vc.config.use(...) switch:\n{shown['text']}"
        assert switch.group() == 'vc.config.use("practice")', switch.group()

        # 4. A cell above the failing one, the switch typed in and run (Shift+Enter moves
        #    on to the failing cell), then Run > Run Selected Cell and All Below.
        panel = page.locator("#" + page.evaluate("() => window.__vggPanel.id"))
        panel.locator(".jp-Cell").nth(cell["index"]).locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")
        page.keyboard.press("a")
        page.keyboard.press("Enter")
        page.keyboard.type(switch.group())
        page.keyboard.press("Shift+Enter")
        page.wait_for_function(f"""() => {{
          const panel = window.__vggPanel, added = panel.content.widgets[{cell['index']}];
          return added.model.executionCount !== null && panel.content.activeCellIndex === {cell['index'] + 1};
        }}""")
        added = lesson.snapshot()["cells"]
        assert [c["source"] for c in added if c["index"] == cell["index"]] == [switch.group()], added
        second = lesson.run_all_below(timeout=120)
        print(f"first run {first.seconds:.1f} s, after the switch {second.seconds:.1f} s")
        assert second.problems == [], str(second)
        output = page.evaluate(_OUTPUT_JS, cell["index"] + 1)["text"]
        assert "torch.Size([64, 3, 3, 3])" in output, output  # VGG16 loaded, practice weights
    except Exception:
        try:  # what the student saw; a screenshot must not hide the failure
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "failed-newcomer.png"), full_page=True)
        except Exception:  # noqa: BLE001
            pass
        print(f"output of {' '.join(lab.proc.args)}:\n{lab.log_tail()}")
        raise
    finally:
        context.close()
        left = lab.stop()
    assert left == {}, f"still running after the set-up command was stopped: {left}"
