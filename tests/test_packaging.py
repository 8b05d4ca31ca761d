"""The kit as a real package: what the wheel holds, the two installs, and Colab's versions."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from fresh_env import fresh
from vgg_course import workspace

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# What Google Colab's GPU runtime ships (googlecolab/backend-info, pip-freeze.gpu.txt, as of
# 2026-02; Python 3.12). The students' install must take these as they are: an upgrade of
# ipywidgets to 8 breaks Colab's widget rendering, and any upgrade of an imported package
# (torch, numpy ...) needs a runtime restart.
COLAB = {"torch": "2.10.0", "torchvision": "0.25.0", "tqdm": "4.67.3", "matplotlib": "3.10.0",
         "numpy": "2.0.2", "pillow": "11.3.0", "ipywidgets": "7.7.1", "ipykernel": "6.17.1",
         "nbclient": "0.10.4", "nbformat": "5.10.4", "psutil": "5.9.5", "jupyter_client": "7.4.9",
         "torchao": "0.10.0", "torchaudio": "2.10.0"}
NOT_IN_COLAB = {"torchinfo", "ndf"}  # small, and installed by the bootstrap


def test_every_dependency_takes_what_colab_ships_so_the_bootstrap_upgrades_nothing():
    for line in PROJECT["dependencies"]:
        req = Requirement(line)
        name = req.name.lower().replace("-", "_")
        if req.marker is not None and not req.marker.evaluate({"sys_platform": "linux"}):
            continue  # not installed on Colab's Linux
        if name in NOT_IN_COLAB:
            continue
        assert name in COLAB, f"{req.name}: what version does Colab ship? add it to COLAB"
        assert req.specifier.contains(COLAB[name], prereleases=True), (
            f"{line} would upgrade Colab's {req.name} {COLAB[name]}")


def test_the_students_install_has_no_test_tools_and_the_extras_have_them():
    students = {Requirement(r).name.lower() for r in PROJECT["dependencies"]}
    assert not students & {"pytest", "nbval", "playwright", "nbgrader", "jupyterlab"}
    extras = {k: {Requirement(r).name.lower() for r in v}
              for k, v in PROJECT["optional-dependencies"].items()}
    assert {"pytest", "nbval", "playwright", "nbgrader"} <= extras["test"]
    assert "jupyterlab" in extras["lab"]
    # where JupyterLab 4 renders the widgets, they are ipywidgets 8
    assert any(Requirement(r).name == "ipywidgets" and not Requirement(r).specifier.contains("7.7.1")
               for r in PROJECT["optional-dependencies"]["lab"])


def test_every_package_of_the_kit_is_in_the_package_list():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "vgg_course").rglob("__init__.py") if "__pycache__" not in p.parts}
    assert found | {"vgg_course.lessons"} == listed
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"vgg_course.lessons": "notebooks"}


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory) -> list[str]:
    wheel = fresh.build_wheel(tmp_path_factory.mktemp("dist"))
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_the_wheel_carries_the_lessons_and_nothing_of_the_learners(wheel_names):
    lessons = sorted(n.removeprefix("vgg_course/lessons/") for n in wheel_names
                     if n.startswith("vgg_course/lessons/") and n.endswith((".ipynb", ".cfg")))
    folder = workspace.lessons_folder()  # the masters and both editions
    assert lessons == sorted([*(p.name for p in folder.glob("[0-9][0-9]_*.ipynb")), "sanitize.cfg",
                              *(f"{lang}/{name}" for lang in ("en", "ja")
                                for name in workspace.lesson_files(folder / lang))])
    assert "vgg_course/lessons/ja/student/03_freezing_student.ipynb" in wheel_names
    assert "vgg_course/lessons/en/student/03_freezing.ipynb" not in wheel_names  # a tab titled like the lesson
    assert "vgg_course/locale/ja/LC_MESSAGES/vgg_course.mo" in wheel_names  # the Japanese messages
    assert "vgg_course/exercises/instructor/freezing.py" in wheel_names  # self-study edition
    top = {n.split("/")[0] for n in wheel_names}
    assert top == {"vgg_course", "vgg_course-0.1.0.dist-info"}, top  # no data/, results/, tests/
    assert not [n for n in wheel_names if "__pycache__" in n or n.endswith((".pyc", ".pt", ".pth"))]
