"""Colab: every lesson's first cell installs the kit there (and only there) from one source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fresh_env import fresh
from vgg_course import colab
from vgg_course.instructor import authoring

NOTEBOOKS = [*authoring.lesson_notebooks(), *sorted(authoring.student_folder().glob("[0-9][0-9]_*.ipynb"))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_every_first_code_cell_is_the_stamped_block_then_the_kit(path):
    cell = colab.first_code_cell(nbformat.read(path, as_version=4))
    assert cell.source == (colab.bootstrap_block() + "import vgg_course as vc\n\n"
                           "vc.config.settings().banner()"), (
        f"{path.name}: run `python -m vgg_course student-notebooks` (it stamps vgg_course/colab.py's "
        "block into every lesson, then writes the student copies)")
    assert json.dumps(colab.SOURCE) in cell.source


def test_changing_the_source_in_its_one_place_restamps_every_lesson(tmp_path):
    lessons = []
    for path in authoring.lesson_notebooks()[:2]:
        lessons.append(Path(shutil.copy(path, tmp_path / path.name)))
    assert colab.stamp_lessons(lessons, check=True) == []
    other = "https://example.org/wheels/vgg_course-0.1.0-py3-none-any.whl"
    assert colab.stamp_lessons(lessons, check=True, source=other) == lessons
    assert colab.stamp_lessons(lessons, source=other) == lessons
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        stored = nbformat.read(authoring.lesson_notebooks()[0].parent / path.name, as_version=4)
        assert colab.first_code_cell(nb).source.count(other) == 1
        assert colab.first_code_cell(nb).outputs == colab.first_code_cell(stored).outputs
        assert [c.source for c in nb.cells[2:]] == [c.source for c in stored.cells[2:]]
    assert colab.stamp_lessons(lessons, source=other) == []  # stamping twice changes nothing


def test_a_first_cell_without_the_kit_import_is_refused():
    with pytest.raises(ValueError, match="import vgg_course as vc"):
        colab.stamped("import numpy as np")
    with pytest.raises(ValueError, match="keep 'import vgg_course as vc' first"):
        colab.stamped("x = 1\nimport vgg_course as vc")


_CELL = r'''
import contextlib, importlib.util, io, json, sys
fake_colab = sys.argv[2] == "colab"
if fake_colab:
    import google.colab  # what Colab's kernel has imported before any cell runs
out = io.StringIO()
with contextlib.redirect_stdout(out):
    exec(open(sys.argv[1]).read())
spec = importlib.util.find_spec("vgg_course")
print(json.dumps({"printed": out.getvalue(), "kit": spec.origin if spec else None,
                  "vc": "vc" in globals()}))
'''


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="borrows packages through symlinks")
def test_the_first_cell_installs_the_kit_in_colab_only(tmp_path):
    """A fresh environment without the kit (torch and the rest borrowed through a .pth line);
    Colab faked by a stub google.colab; the source is a wheel built from this checkout."""
    wheel = fresh.build_wheel(tmp_path / "dist")
    python = fresh.fresh_venv(tmp_path / "venv", borrow=True)
    work = tmp_path / "content"  # Colab's working folder, outside the repository
    work.mkdir()
    assert fresh.kit_location(python, work) is None
    stub = tmp_path / "stub"
    (stub / "google" / "colab").mkdir(parents=True)
    (stub / "google" / "colab" / "__init__.py").write_text("")
    lesson = authoring.lesson_notebooks()[3]
    cell = colab.first_code_cell(nbformat.read(lesson, as_version=4)).source
    block = work / "block.py"
    block.write_text(colab.bootstrap_block())  # the lesson's own lines, up to the import
    assert cell.startswith(block.read_text())
    env = {**os.environ, "PYTHONPATH": str(stub), "VGG_COURSE_SOURCE": str(wheel)}
    env.pop("VIRTUAL_ENV", None)

    def run(mode: str, code: Path) -> dict:
        done = subprocess.run([str(python), "-c", _CELL, str(code), mode], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    outside = run("jupyter", block)  # not Colab: nothing is installed, nothing printed
    assert outside == {"printed": "", "kit": None, "vc": False}
    assert fresh.kit_location(python, work) is None

    whole = work / "first_cell.py"
    whole.write_text(cell)
    inside = run("colab", whole)  # Colab: installs from the source, then imports the kit
    assert inside["vc"] is True and inside["printed"] == ""
    assert Path(inside["kit"]).is_relative_to(fresh.site_packages(python)), inside["kit"]
    again = run("colab", whole)  # the kit is there now: no second install
    assert again["kit"] == inside["kit"]
