"""`make lab` as a student meets it: lesson 00 at the printed URL, no pop-up, no kit files, distinct tabs.

One server, started with the `lab` command's own options (``course.lab_server_args``) and the
JupyterLab settings ``course.py`` writes into the environment at setup (here into a stand-in
environment whose settings folder the server reads); the user settings are left empty, so
nothing but the kit's own settings keeps the news pop-up away.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from jupyterlab_driver import LabServer
from lab_fixtures import ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("course", ROOT / "scripts" / "course.py")
course = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(course)

NEWS_WAIT = 5  # seconds after the page is ready: JupyterLab asks about news right at start-up

# The documents open in the main area once the page has restored its layout and opened the
# file the URL names (null until then); the current one first.
_OPEN_DOCUMENTS_JS = """() => {
  const shell = window.jupyterapp && window.jupyterapp.shell;
  const current = shell && shell.currentWidget;
  if (!current || !current.context) return null;
  const others = [...shell.widgets('main')].filter(w => w.context && w !== current);
  return [current, ...others].map(w => w.context.path);
}"""

_LISTING_JS = """() => [...document.querySelectorAll('.jp-DirListing-item .jp-DirListing-itemText')]
  .map(item => item.innerText.trim())"""


def printed_url(server: LabServer) -> str:
    """The URL the server printed for its user, with the real token (it prints ``...``)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.findall(r"http://127\.0\.0\.1:\d+/\S*", server.log_tail(20000))
        if found:
            return found[0].replace("token=...", f"token={server.token}")
        time.sleep(0.25)
    raise AssertionError(f"no URL in the server's output:\n{server.log_tail()}")


_MENU_JS = """() => [...document.querySelectorAll('#jp-MainMenu .lm-MenuBar-itemLabel')]
  .map(item => item.innerText.trim())"""


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_printed_url_opens_lesson_00_with_nothing_in_the_way(browser, tmp_path, lang):
    env = tmp_path / "env"  # stands for .venv: setup writes the course's settings there
    settings_dir = course.write_lab_settings(env, lang).parents[1]  # .../share/jupyter/lab/settings
    server = LabServer(tmp_path, env={}, settings={}, args=[
        *course.lab_server_args(lang=lang),  # root_dir=".": the server runs in its workspace, as make lab in the repo
        f"--LabApp.app_settings_dir={settings_dir}"])
    lesson_00 = course.LESSON_00.format(lang=lang)
    shutil.copytree(ROOT / "notebooks", server.workspace / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (server.workspace / "notebooks" / lang / "__pycache__").mkdir(exist_ok=True)  # hidden by default
    assert (server.workspace / "notebooks" / "__init__.py").exists()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        server.start()
        page = context.new_page()
        page.set_default_timeout(90_000)
        url = printed_url(server)
        assert urlsplit(url).path == f"/lab/tree/{lesson_00}", url
        page.goto(url)
        assert page.wait_for_function(_OPEN_DOCUMENTS_JS).json_value() == [lesson_00]
        menu = page.wait_for_function(f"() => {{ const m = ({_MENU_JS})(); return m.length ? m : null }}").json_value()
        if lang == "ja":  # JupyterLab's Japanese language pack, chosen by the settings setup wrote
            assert menu[:2] == ["ファイル", "編集"], menu
            heading = page.locator(".jp-Notebook .jp-MarkdownOutput h1").first.inner_text()
            assert re.search(r"[ぁ-んァ-ン一-龥]", heading), heading  # the Japanese edition
        else:
            assert menu[:2] == ["File", "Edit"], menu
        tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
        assert tab.inner_text() == "00_setup_check.ipynb"

        page.wait_for_function(f"() => ({_LISTING_JS})().includes('00_setup_check.ipynb')")
        listing = page.evaluate(_LISTING_JS)
        assert "student" in listing and "03_freezing.ipynb" in listing  # the edition's folder
        assert "__init__.py" not in listing and "__pycache__" not in listing

        page.wait_for_timeout(NEWS_WAIT * 1000)
        body = page.inner_text("body")
        assert "Jupyter news" not in body, "JupyterLab asked about news on the first page"

        # a lesson and its student copy open side by side as two tabs a student can tell apart
        for path in (f"notebooks/{lang}/03_freezing.ipynb",
                     f"notebooks/{lang}/student/03_freezing_student.ipynb"):
            page.evaluate("p => window.jupyterapp.commands.execute('docmanager:open', {path: p})", path)
        page.wait_for_function(f"() => ({_OPEN_DOCUMENTS_JS})()?.length === 3")
        labels = page.locator("#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabLabel").all_inner_texts()
        assert sorted(labels) == ["00_setup_check.ipynb", "03_freezing.ipynb",
                                  "03_freezing_student.ipynb"], labels
    except Exception:
        try:  # what the student would have seen; a screenshot must not hide the failure
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            context.pages[0].screenshot(path=str(ARTIFACTS / f"failed-lab-command-{lang}.png"))
        except Exception:  # noqa: BLE001
            pass
        raise
    finally:
        context.close()
        server.stop()
