"""Settings come from environment variables, read in one place."""

from __future__ import annotations

from pathlib import Path

import vgg_course as vc


def _clear(monkeypatch):
    for name in ("VGG_COURSE_QUICK", "VGG_COURSE_PRACTICE", "VGG_COURSE_DATA",
                 "VGG_COURSE_DATA_HOME", "VGG_COURSE_STRICT"):
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
