"""Colab: the first cell installs the kit there (and only there) from a published source.

The repository's lessons carry the block only when ``colab.SOURCE`` is set (it is not: no
lesson runs a placeholder); a classroom release stamps the URL of its student wheel. The
slow test is Colab simulated end to end: a release served over HTTP, a fresh environment
without the kit, Colab's ipywidgets 7.7.1, a released lesson run cell by cell.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import nbformat
import pytest

from fresh_env import fresh
from vgg_course import colab, stored
from vgg_course.instructor import authoring, release

NOTEBOOKS = [*authoring.lesson_notebooks(), *sorted(authoring.student_folder().glob("[0-9][0-9]_*.ipynb"))]
FIRST_CELL = "import vgg_course as vc\n\nvc.config.settings().banner()"  # every lesson's, after the block
WHEEL_URL = "https://example.org/wheels/vgg_course-0.1.0+student-py3-none-any.whl"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_every_first_code_cell_is_the_stamp_for_the_source_set_in_colab_py(path):
    cell = colab.first_code_cell(nbformat.read(path, as_version=4))
    assert cell.source == colab.stamped(FIRST_CELL, colab.SOURCE), (
        f"{path.name}: run `python -m vgg_course student-notebooks` (it stamps the block for "
        "vgg_course/colab.py's SOURCE into every lesson, then writes the student copies)")
    text = path.read_text(encoding="utf-8")
    assert not [p for p in colab.PLACEHOLDERS if p in text], f"{path.name} ships a placeholder"
    assert (colab.FIRST_LINE in text) == (colab.SOURCE is not None)


def test_changing_the_source_in_its_one_place_restamps_every_lesson(tmp_path):
    lessons = []
    for path in authoring.lesson_notebooks()[:2]:
        lessons.append(Path(tmp_path / path.name))
        lessons[-1].write_bytes(path.read_bytes())
    assert colab.stamp_lessons(lessons, check=True) == []
    assert colab.stamp_lessons(lessons, check=True, source=WHEEL_URL) == lessons
    assert colab.stamp_lessons(lessons, source=WHEEL_URL) == lessons
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        stored_nb = nbformat.read(authoring.lesson_notebooks()[0].parent / path.name, as_version=4)
        assert colab.first_code_cell(nb).source == colab.bootstrap_block(WHEEL_URL) + FIRST_CELL
        assert colab.first_code_cell(nb).outputs == colab.first_code_cell(stored_nb).outputs
        first, stored_first = colab.first_code_cell(nb), colab.first_code_cell(stored_nb)
        assert [c.source for c in nb.cells if c is not first] == \
            [c.source for c in stored_nb.cells if c is not stored_first]
    assert colab.stamp_lessons(lessons, source=WHEEL_URL) == []  # stamping twice changes nothing
    assert colab.stamp_lessons(lessons, source=None) == lessons  # unset: the block goes
    for path in lessons:
        original = authoring.lesson_notebooks()[0].parent / path.name
        assert path.read_text(encoding="utf-8") == original.read_text(encoding="utf-8")


def test_a_first_cell_without_the_kit_import_or_with_a_placeholder_is_refused():
    with pytest.raises(ValueError, match="import vgg_course as vc"):
        colab.stamped("import numpy as np", WHEEL_URL)
    with pytest.raises(ValueError, match="keep 'import vgg_course as vc' first"):
        colab.stamped("x = 1\nimport vgg_course as vc", WHEEL_URL)
    for placeholder in ("git+https://github.com/your-org/vgg-course.git", "", "  "):
        with pytest.raises(ValueError, match="placeholder"):
            colab.stamped(FIRST_CELL, placeholder)


@pytest.mark.parametrize("in_colab, kit, env, expected", [
    (False, None, None, None),  # not Colab: nothing runs
    (True, "found", None, None),  # Colab with the kit: nothing runs
    (True, None, None, ["install", "--quiet", WHEEL_URL]),
    (True, None, "vgg-course==0.1.0+student --index-url https://pypi.example.org/simple",
     ["install", "--quiet", "vgg-course==0.1.0+student", "--index-url", "https://pypi.example.org/simple"]),
])
def test_the_block_installs_only_in_colab_without_the_kit(monkeypatch, in_colab, kit, env, expected):
    import importlib.util
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda argv, check: ran.append(argv))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: kit if name == "vgg_course" else 1)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    if env:
        monkeypatch.setenv(colab.ENV, env)
    else:
        monkeypatch.delenv(colab.ENV, raising=False)
    exec(colab.bootstrap_block(WHEEL_URL), {})
    assert ran == ([] if expected is None else [[sys.executable, "-m", "pip", *expected]])


def test_colab_links_for_a_repository_a_branch_and_a_folder():
    names = ["notebooks/00_setup_check.ipynb", "notebooks/03_freezing.ipynb"]
    assert colab.colab_links("https://github.com/acme/vgg-class.git", names) == [
        (n, f"https://colab.research.google.com/github/acme/vgg-class/blob/main/{n}") for n in names]
    assert colab.colab_links("https://github.com/acme/site/tree/fall-2026/courses/vgg", names[:1]) == [
        (names[0], "https://colab.research.google.com/github/acme/site/blob/fall-2026/courses/vgg/"
                   "notebooks/00_setup_check.ipynb")]
    for bad in ("https://github.com/your-org/vgg-course", "https://gitlab.com/a/b", "acme/vgg-class"):
        with pytest.raises(ValueError, match="github.com/ORG/REPO"):
            colab.colab_links(bad, names)


# --------------------------------------------------------------- Colab, simulated end to end

LESSON = "03_freezing"  # the freeze-layers widget (ipywidgets), exercises and checks; quick mode
COLAB_IPYWIDGETS = "7.7.1"  # what Colab ships (tests/test_packaging.py)
_KERNEL = ("import sys, google.colab\n"  # what Colab's kernel has imported before any cell runs
           "from ipykernel.kernelapp import launch_new_instance\n"
           "sys.exit(launch_new_instance())")
_RUN = r'''
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="colab", timeout=300, resources={"metadata": {"path": "."}}).execute()
print(json.dumps([[o for o in c.outputs] for c in nb.cells if c.cell_type == "code"]))
'''
_INSTALLED = ("import json, pathlib, ipywidgets, vgg_course; kit = pathlib.Path(vgg_course.__file__).parent; "
              "print(json.dumps([vgg_course.__version__, str(kit), (kit / 'exercises/instructor').exists(), "
              "ipywidgets.__version__]))")


class _Wheels(http.server.SimpleHTTPRequestHandler):
    fetched: list[str] = []

    def log_message(self, *args) -> None:
        self.fetched.append(self.path)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="borrows packages through symlinks")
def test_a_released_lesson_runs_in_a_simulated_colab_from_the_published_student_wheel(tmp_path):
    """Release with --colab-source pointing at a local HTTP server serving the release's wheel/;
    a fresh environment without the kit (torch and the rest borrowed through a .pth line, but
    Colab's ipywidgets 7.7.1 of its own); a kernel that has imported a stub google.colab; the
    released lesson run top to bottom with nbclient: its first cell installs the student wheel
    over HTTP, every later cell runs, and the kit installed is the student build."""
    start = time.monotonic()
    out = tmp_path / "release"
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Wheels, directory=str(out / "wheel")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/{release.STUDENT_WHEEL}"
        release.write_release(out, [authoring.lesson_notebooks()[0].parent / f"{LESSON}.ipynb"],
                              colab_source=url)
        python = fresh.fresh_venv(tmp_path / "venv", borrow=True)
        # the venv's own old setuptools would shadow the borrowed one that torch requires
        subprocess.run([str(python), "-m", "pip", "uninstall", "--yes", "--quiet", "setuptools"],
                       check=True, capture_output=True, timeout=120)
        got = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                              f"ipywidgets=={COLAB_IPYWIDGETS}"], capture_output=True, text=True, timeout=120)
        offline = got.stderr[-1500:] if got.returncode else ""  # then the borrowed ipywidgets 8
        content = tmp_path / "content"  # Colab's working folder, outside the repository
        content.mkdir()
        assert fresh.kit_location(python, content) is None
        stub = tmp_path / "stub" / "google" / "colab"
        stub.mkdir(parents=True)
        (stub / "__init__.py").write_text("")
        (stub.parent / "__init__.py").write_text("")
        spec = tmp_path / "jupyter" / "kernels" / "colab"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [str(python), "-c", _KERNEL, "-f", "{connection_file}"],
            "display_name": "Colab (simulated)", "language": "python"}))
        env = {**os.environ, **{k: v for k, v in stored.kernel_env("quick").items() if v},
               "PYTHONPATH": str(tmp_path / "stub"), "JUPYTER_PATH": str(tmp_path / "jupyter"),
               "PIP_NO_INDEX": "1",  # everything but the kit is there already, as in Colab
               "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        for name in ("VIRTUAL_ENV", "VGG_COURSE_REAL", colab.ENV):
            env.pop(name, None)
        notebook = out / "notebooks" / f"{LESSON}_student.ipynb"
        done = subprocess.run([str(python), "-c", _RUN, str(notebook)], cwd=content, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-8000:]
    finally:
        server.shutdown()
    outputs = json.loads(done.stdout.strip().splitlines()[-1])
    assert not [o for cell in outputs for o in cell if o["output_type"] == "error"]
    assert [o for cell in outputs for o in cell  # the freeze-layers widget was built
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert _Wheels.fetched == [f"/{release.STUDENT_WHEEL}"]  # installed from the server, once
    assert colab.first_code_cell(nbformat.read(notebook, as_version=4)).source.startswith(
        colab.bootstrap_block(url))
    version, kit, instructor, widgets = json.loads(subprocess.run(
        [str(python), "-c", _INSTALLED], cwd=content, env=env, capture_output=True, text=True,
        check=True).stdout)
    assert version.endswith("+student") and instructor is False
    assert Path(kit).is_relative_to(fresh.site_packages(python))  # not this checkout
    assert time.monotonic() - start < 120
    if offline:
        pytest.skip(f"ran with ipywidgets {widgets}: pip could not get {COLAB_IPYWIDGETS}:\n{offline}")
    assert widgets == COLAB_IPYWIDGETS
