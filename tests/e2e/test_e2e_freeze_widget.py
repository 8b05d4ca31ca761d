"""The freeze-layers widget, clicked in the page, changes the kernel's model and the shown counts.

Here on the real VGG16 in a notebook of the test's own; test_e2e_notebooks.py does the same
click on the widget the lessons show (03_freezing).
"""

from __future__ import annotations

import nbformat
from freeze_check import click_conv1_and_check
from lab_fixtures import ARTIFACTS  # test-artifacts/, unless VGG_COURSE_E2E_ARTIFACTS says
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def test_freeze_widget_click_changes_the_model(tmp_path, open_notebook):
    """On the real VGG16 (practice weights), independent of how lesson 03 uses the widget."""
    nb = new_notebook(cells=[
        new_markdown_cell("# freeze widget"),
        new_code_cell("import vgg_course as vc\nmodel = vc.models.load_vgg16(practice=True)"),
        new_code_cell('vc.widgets.freeze_widget(model, initial="conv5")'),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "freeze_widget.ipynb"
    nbformat.write(nb, path)
    page = open_notebook(path, folder="checker")
    report = page.run_all()
    assert report.problems == [], str(report)
    click_conv1_and_check(page, ARTIFACTS / "freeze_widget_vgg16.png")

