"""Settings come from environment variables, read in one place."""

from __future__ import annotations

from pathlib import Path

import vgg_course as vc


def _clear(monkeypatch):
    for name in ("VGG_COURSE_QUICK", "VGG_COURSE_PRACTICE", "VGG_COURSE_DATA",
                 "VGG_COURSE_DATA_HOME", "VGG_COURSE_STRICT", "VGG_COURSE_REAL",
                 "VGG_COURSE_DIR", "VGG_COURSE_RESULTS"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_full_mode(monkeypatch):
    _clear(monkeypatch)
    s = vc.config.settings()
    assert (s.quick, s.practice, s.strict, s.data_dir, s.mode) == (False, False, False, None, "full")


def test_quick_implies_practice(monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")
    s = vc.config.settings()
    assert s.quick and s.practice and s.mode == "quick"
    assert "QUICK MODE" in repr(s.banner()) and "QUICK MODE" in s.banner()._repr_html_()


def test_practice_and_paths(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_PRACTICE", "yes")
    monkeypatch.setenv("VGG_COURSE_DATA", str(tmp_path))
    monkeypatch.setenv("VGG_COURSE_DATA_HOME", str(tmp_path / "home"))
    s = vc.config.settings()
    assert s.mode == "practice" and "random weights" in s.banner().text
    assert s.data_dir == tmp_path and s.data_home == tmp_path / "home"


def test_flag_values(monkeypatch):
    _clear(monkeypatch)
    for value, expected in (("0", False), ("", False), ("true", True), ("ON", True)):
        monkeypatch.setenv("VGG_COURSE_STRICT", value)
        assert vc.config.settings().strict is expected


def test_import_has_no_side_effects():
    import subprocess
    import sys
    code = ("import sys, vgg_course; "
            "print(sorted(m for m in sys.modules if m.startswith('vgg_course')), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['vgg_course'] False"
    assert out.stderr == ""
    assert Path(vc.__file__).name == "__init__.py"


def test_real_mode_says_which_network_gives_the_results(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_REAL", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no VGG16 weights there
    s = vc.config.settings()
    assert s.mode == "real" and s.real and not s.quick
    assert s.practice  # VGG16 cells fall back to practice weights, and the banner says so
    assert "REAL MODE" in s.banner().text and "offline companion" in s.banner().text
    weights = vc.weights.cache_path()
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")  # only its presence matters here
    s = vc.config.settings()
    assert not s.practice and "companion" not in s.banner().text


def test_quick_and_real_together_are_refused(monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")
    monkeypatch.setenv("VGG_COURSE_REAL", "1")
    import pytest

    with pytest.raises(ValueError, match="Unset one of them"):
        vc.config.settings()


def test_stored_modes_and_their_environments(tmp_path):
    import pytest

    assert vc.config.stored_mode({}) == "quick"
    assert vc.config.stored_mode({"vgg_course": {"mode": "real"}}) == "real"
    with pytest.raises(ValueError, match="unknown stored mode"):
        vc.config.stored_mode({"vgg_course": {"mode": "fast"}})
    assert vc.config.kernel_env("quick")["VGG_COURSE_REAL"] == ""
    real = vc.config.kernel_env("real", tmp_path)
    assert (real["VGG_COURSE_REAL"], real["VGG_COURSE_QUICK"], real["VGG_COURSE_DATA"]) == ("1", "", str(tmp_path))
    with pytest.raises(ValueError, match="VGG_COURSE_DATA"):
        vc.config.kernel_env("real", None)


def test_find_photos_order(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_DATA_HOME", str(tmp_path / "home"))
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "train").mkdir(parents=True)
        (root / "val").mkdir()
    assert vc.config.find_photos(tmp_path / "missing") is None
    assert vc.config.find_photos(tmp_path / "missing", b) == b
    monkeypatch.setenv("VGG_COURSE_DATA", str(a))
    assert vc.config.find_photos(b) == a


def test_files_go_to_the_nearest_course_folder_never_next_to_the_package(monkeypatch, tmp_path):
    _clear(monkeypatch)
    course = tmp_path / "course"
    (course / "student" / "deeper").mkdir(parents=True)
    (course / vc.config.MARKER).write_text("{}")
    monkeypatch.chdir(course / "student" / "deeper")  # a notebook's kernel starts in its folder
    s = vc.config.settings()
    assert s.course_dir == course.resolve()
    assert (s.data_home, s.results_dir, s.grades_dir) == (
        course.resolve() / "data", course.resolve() / "results", course.resolve() / "grades")
    package = Path(vc.__file__).resolve().parent
    assert package not in s.data_home.parents and package not in s.results_dir.parents
    monkeypatch.chdir(tmp_path)  # no marker at or above: the working directory
    assert vc.config.settings().course_dir == tmp_path.resolve()
    assert vc.config.settings().data_home == tmp_path.resolve() / "data"


def test_course_folder_and_results_can_be_configured(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VGG_COURSE_DIR", str(tmp_path / "elsewhere"))
    s = vc.config.settings()
    assert s.course_dir == tmp_path / "elsewhere" and s.results_dir == tmp_path / "elsewhere" / "results"
    monkeypatch.setenv("VGG_COURSE_RESULTS", str(tmp_path / "res"))
    monkeypatch.setenv("VGG_COURSE_DATA_HOME", str(tmp_path / "dat"))
    s = vc.config.settings()
    assert (s.results_dir, s.data_home) == (tmp_path / "res", tmp_path / "dat")


def test_the_repository_root_is_a_course_folder():
    repo = Path(__file__).resolve().parents[1]
    assert vc.config.course_folder(repo / "notebooks" / "student") == repo
