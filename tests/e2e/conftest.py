"""The browser suite (marked e2e): JupyterLab in headless Chromium; skipped where it can't run."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyterlab_driver import missing_requirements
from lab_fixtures import browser, lab_server, open_notebook, pytest_runtest_makereport  # noqa: F401

E2E_DIR = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: drives JupyterLab in headless Chromium (needs /usr/bin/chromium)")


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects (the quick tier)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_requirements()
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)  # a JupyterLab server and a browser: seconds each
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
