"""Every lesson notebook runs top to bottom in JupyterLab, in a real browser, without an error.

A lesson that shows the freeze-layers widget (03_freezing must) also gets its widget clicked:
the click has to change the kernel's model and the counts shown in the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from freeze_check import click_conv1_and_check
from lab_fixtures import ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MUST_SHOW_FREEZE_WIDGET = {"03_freezing"}


@pytest.mark.parametrize("notebook", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_runs_in_jupyterlab(notebook: Path, open_notebook):
    page = open_notebook(notebook)
    report = page.run_all()
    print(report)
    assert report.problems == [], str(report)
    has_widget = page.page.locator(".vgg-freeze-widget").count() > 0
    if notebook.stem in MUST_SHOW_FREEZE_WIDGET:
        assert has_widget, f"{notebook.name} shows no freeze-layers widget (.vgg-freeze-widget)"
    if has_widget:
        click_conv1_and_check(page, ARTIFACTS / f"freeze_widget_{notebook.stem}.png")
