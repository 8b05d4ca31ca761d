"""Every lesson notebook runs top to bottom in JupyterLab, in a real browser, without an error."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("notebook", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_runs_in_jupyterlab(notebook: Path, open_notebook):
    page = open_notebook(notebook)
    report = page.run_all()
    assert report.problems == [], str(report)
    print(report)
