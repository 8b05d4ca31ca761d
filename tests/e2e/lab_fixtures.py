"""The browser suite's fixtures: one JupyterLab server and one headless Chromium per run.

Both are session-scoped (JupyterLab takes a few seconds to start) and always shut down,
also when a test fails (test_e2e_cleanup.py proves it). Each test gets a fresh browser
context, a screenshot in test-artifacts/ when it fails, and ends the kernels it started.
Kept out of conftest.py so the cleanup test can load the same fixtures in a child pytest.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from jupyterlab_driver import CHROMIUM, CHROMIUM_ARGS, LabServer, NotebookPage

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("VGG_COURSE_E2E_ARTIFACTS", ROOT / "test-artifacts"))


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab on 127.0.0.1 (random port, token, temporary home); kernels in quick mode."""
    base = tmp_path_factory.mktemp("jupyterlab")
    env = {"VGG_COURSE_QUICK": "1",
           "VGG_COURSE_DATA_HOME": str(base / "course-data")}
    server = LabServer(base, env=env)
    # Copies of the lessons' folder (with any files they read next to them); the repo's
    # notebooks are never opened, so nothing the browser does can change them.
    shutil.copytree(ROOT / "notebooks", server.workspace / "notebooks",
                    ignore=shutil.ignore_patterns("student", ".ipynb_checkpoints"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_notebook(lab_server: LabServer, browser, request: pytest.FixtureRequest):
    """Open a notebook (copied into the server's workspace) in a fresh browser page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pages: list[NotebookPage] = []

    def _open(source: Path, folder: str = "notebooks") -> NotebookPage:
        page = NotebookPage(context.new_page(), lab_server,
                            lab_server.add_notebook(source, folder))
        pages.append(page)
        page.open()
        return page

    try:
        yield _open
    finally:
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        for page in pages:
            if failed:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
                try:  # show the first error, which may be far down the notebook
                    page.page.evaluate("""() => { const e = document.querySelector(
                        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
                        + ' .jupyter-widgets-error-widget'); if (e) e.scrollIntoView(); }""")
                    page.page.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"), full_page=True)
                except Exception:  # noqa: BLE001 - a screenshot must not hide the failure
                    pass
            page.close()
        context.close()
        # Kernels take a second or two to exit; let the next test start meanwhile (only
        # this test's kernels: the list is taken now).
        threading.Thread(target=lab_server.shutdown_kernels, args=(lab_server.running(),),
                         daemon=True).start()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
