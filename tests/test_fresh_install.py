"""The built wheel, installed (not editable) in a fresh environment outside the repository:
`python -m vgg_course lessons DEST` and a lesson run from DEST, with its files under DEST.

The heavy dependencies are borrowed through a .pth line (scripts/fresh_install_check.py);
that script also runs every lesson, nbval, and with --real-install a genuine install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fresh_env import fresh


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="borrows packages through symlinks")
def test_the_wheel_installed_elsewhere_copies_the_lessons_and_runs_one_from_there(tmp_path):
    wheel = fresh.build_wheel(tmp_path / "dist")
    python = fresh.fresh_venv(tmp_path / "venv", borrow=True)
    work = tmp_path / "home"
    work.mkdir()
    assert fresh.kit_location(python, work) is None  # the repository's editable kit is not seen
    fresh.pip_install(python, str(wheel), cwd=work)
    kit = Path(fresh.kit_location(python, work)).parent
    assert kit == fresh.site_packages(python) / "vgg_course"
    assert (kit / "lessons" / "en" / "student" / "03_freezing_student.ipynb").is_file()
    assert (kit / "lessons" / "sanitize.cfg").is_file()

    dest = work / "my course"
    done = subprocess.run([str(python), "-m", "vgg_course", "lessons", str(dest)], cwd=work,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    same = (dest / "06_comparison_lab.ipynb").read_bytes() == (
        kit / "lessons" / "en" / "06_comparison_lab.ipynb").read_bytes()
    assert same, "lessons DEST copies the English edition by default"
    assert (dest / "student" / "06_comparison_lab_student.ipynb").is_file() and (dest / "vgg-course.json").is_file()
    # every lesson's student copy is there, under a name (a JupyterLab tab title) of its own
    lessons = sorted(p.name for p in dest.glob("[0-9][0-9]_*.ipynb"))
    students = sorted(p.name for p in (dest / "student").glob("*.ipynb"))
    assert len(lessons) == len(students) == 9 and not set(lessons) & set(students)

    before = sorted(p for p in kit.rglob("*") if "__pycache__" not in p.parts)
    times = fresh.run_lessons(python, dest, ["06_comparison_lab"], tmp_path / "jupyter")
    assert list(times) == ["06_comparison_lab"]
    # the lesson writes into a folder of its mode and model (a real run is never overwritten)
    assert (dest / "results" / "06_comparison" / "quick-squeezenet" / "comparison.json").is_file()
    assert (dest / "data" / "practice").is_dir()  # the quick-mode practice photos
    assert sorted(p for p in kit.rglob("*") if "__pycache__" not in p.parts) == before
