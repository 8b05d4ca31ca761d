"""The browser checker catches what it must: a cell that raises, a widget that cannot render."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def _notebook(tmp_path: Path, name: str, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    nb = new_notebook(cells=[new_markdown_cell(f"# {name}")])
    for index, source in enumerate(sources):
        cell = new_code_cell(source)
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def test_clean_notebook_with_a_widget_passes(tmp_path, open_notebook):
    path = _notebook(tmp_path, "clean",
                     "import ipywidgets as w\nw.IntSlider(value=3, description='n')",
                     "import os\nos.environ['VGG_COURSE_QUICK']",
                     "try:\n    1 / 0\nexcept ZeroDivisionError:\n    pass",
                     "raise KeyError('expected')",
                     "print('last cell')",
                     tags={3: ["raises-exception"]})
    page = open_notebook(path, folder="checker")
    report = page.run_all(timeout=60)
    assert report.problems == [], str(report)
    # the slider really rendered, and the kernel runs in quick mode
    assert page.page.locator(".jp-OutputArea-output .widget-slider").count() == 1
    assert page.kernel_exec("import os; print(os.environ['VGG_COURSE_QUICK'])").strip() == "1"


def test_a_cell_that_raises_fails_the_check(tmp_path, open_notebook):
    path = _notebook(tmp_path, "raises",
                     "x = 1",
                     "raise ValueError('deliberate failure in a lesson cell')",
                     "print('never runs')")
    report = open_notebook(path, folder="checker").run_all(timeout=60)
    text = str(report)
    assert "ValueError: deliberate failure in a lesson cell" in text
    assert "cells not executed: 3" in text  # Run All stops at the error, as it does for a student


def test_a_traceback_on_stderr_fails_the_check(tmp_path, open_notebook):
    # e.g. a library that catches an exception and prints it, or a failing widget callback
    printed = "import traceback\ntry:\n    {}['missing']\nexcept KeyError:\n    traceback.print_exc()"
    path = _notebook(tmp_path, "stderr_traceback", "import warnings", printed)
    report = open_notebook(path, folder="checker").run_all(timeout=60)
    assert "traceback on stderr" in str(report) and "KeyError: 'missing'" in str(report), str(report)


def test_a_widget_that_cannot_render_fails_the_check(tmp_path, open_notebook):
    broken = (
        "import ipywidgets as w\n"
        "from traitlets import Unicode\n"
        "class Broken(w.DOMWidget):\n"
        "    _model_module = Unicode('vgg-course-no-such-module').tag(sync=True)\n"
        "    _model_name = Unicode('NoSuchModel').tag(sync=True)\n"
        "    _view_module = Unicode('vgg-course-no-such-module').tag(sync=True)\n"
        "    _view_name = Unicode('NoSuchView').tag(sync=True)\n"
        "Broken()"
    )
    path = _notebook(tmp_path, "broken_widget", broken, "print('after the widget')")
    report = open_notebook(path, folder="checker").run_all(timeout=60)
    assert "widget failed to render" in str(report), str(report)
    assert "vgg-course-no-such-module" in str(report)
    print(report)


def test_a_widget_whose_model_is_missing_fails_the_check(tmp_path, open_notebook):
    # What a student sees when a widget's kernel side is gone (e.g. a stored output).
    missing = ("from IPython.display import display\n"
               "display({'application/vnd.jupyter.widget-view+json': "
               "{'model_id': 'no-such-model', 'version_major': 2, 'version_minor': 0}}, raw=True)")
    path = _notebook(tmp_path, "missing_model", "import ipywidgets", missing)
    report = open_notebook(path, folder="checker").run_all(timeout=60, settle=5)
    print(report)
    assert "Error displaying widget: model not found" in str(report), str(report)
