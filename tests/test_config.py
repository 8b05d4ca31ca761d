"""Settings: chosen once from the environment, changed from a notebook cell with ``use()``."""

from __future__ import annotations

from pathlib import Path

import pytest

import vgg_course as vc
from vgg_course import config

ENV = ("VGG_COURSE_QUICK", "VGG_COURSE_PRACTICE", "VGG_COURSE_DATA", "VGG_COURSE_DATA_HOME",
       "VGG_COURSE_STRICT", "VGG_COURSE_REAL", "VGG_COURSE_DIR", "VGG_COURSE_RESULTS",
       "VGG_COURSE_LANG")


def _clear(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------- the environment's defaults


def test_defaults_are_full_mode(monkeypatch):
    _clear(monkeypatch)
    s = vc.config.settings()
    assert (s.quick, s.practice, s.strict, s.data_dir, s.mode, s.lang) == (
        False, False, False, None, "full", "en")


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
    monkeypatch.setenv("VGG_COURSE_LANG", "JA")
    s = vc.config.settings()
    assert s.mode == "practice" and "ランダム" in s.banner().text  # the banner speaks Japanese
    assert s.data_dir == tmp_path and s.data_home == tmp_path / "home" and s.lang == "ja"
    with vc.config.use(lang="en") as english:
        assert "random weights" in english.banner().text


def test_flag_values(monkeypatch):
    _clear(monkeypatch)
    for value, expected in (("0", False), ("", False), ("true", True), ("ON", True)):
        monkeypatch.setenv("VGG_COURSE_STRICT", value)
        vc.config.reset()  # the environment is read once: read it again
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


def test_quick_and_real_together_are_refused(monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")
    monkeypatch.setenv("VGG_COURSE_REAL", "1")
    with pytest.raises(ValueError, match="Unset one of them"):
        vc.config.settings()


def test_an_unknown_language_in_the_environment_names_the_choices(monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_LANG", "fr")
    with pytest.raises(ValueError, match=r"VGG_COURSE_LANG.*'fr'.*'en', 'ja'"):
        vc.config.settings()


def test_the_environment_is_read_once_until_reset(monkeypatch):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")
    first = vc.config.settings()
    monkeypatch.delenv("VGG_COURSE_QUICK")
    monkeypatch.setenv("VGG_COURSE_PRACTICE", "1")
    monkeypatch.setenv("VGG_COURSE_STRICT", "1")
    assert vc.config.settings() is first and first.mode == "quick" and not first.strict
    vc.config.reset()
    again = vc.config.settings()
    assert (again.mode, again.strict) == ("practice", True)


def test_settings_does_not_touch_the_disk(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_REAL", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    lookups, files = [], []
    cache_path, is_file = vc.weights.cache_path, Path.is_file
    monkeypatch.setattr(vc.weights, "cache_path", lambda *a: lookups.append(1) or cache_path(*a))
    monkeypatch.setattr(Path, "is_file", lambda self: files.append(self) or is_file(self))
    assert vc.config.settings().practice  # real mode, no VGG16 file: the first read looks once
    assert len(lookups) == 1
    checked = len(files)
    for _ in range(100):
        assert vc.config.settings().mode == "real"
    assert len(lookups) == 1 and len(files) == checked  # later calls look at nothing
    vc.config.use("real")  # choosing the mode again looks again
    assert len(lookups) == 2


# ---------------------------------------------------------------- use()


def test_use_switches_the_mode_without_a_restart_and_models_and_data_follow(monkeypatch):
    _clear(monkeypatch)
    built, loaded = [], []
    # the practice path builds VGG16 with random weights, the pretrained one reads the file:
    # stand-ins record which path was taken, so no 138M-parameter model is built
    monkeypatch.setattr(vc.models, "vgg16", lambda weights=None: built.append(weights) or "random")
    monkeypatch.setattr(vc.weights, "load_state_dict", lambda *a, **k: loaded.append(1) or 1 / 0)
    monkeypatch.setattr(vc.datasets, "practice_dataset", lambda: "drawn")
    monkeypatch.setattr(vc.datasets, "hymenoptera", lambda: "photos")
    assert vc.config.settings().mode == "full"
    with pytest.raises(ZeroDivisionError):
        vc.models.load_vgg16()  # full mode: the pretrained weights
    assert loaded == [1] and vc.datasets.course_dataset() == "photos"

    s = vc.config.use("practice")  # positional, as the missing-weights message says
    assert s.mode == "practice" and vc.config.settings() is s
    assert vc.models.load_vgg16() == "random" and loaded == [1]
    assert vc.models.load("vgg16")[1].startswith("VGG16 with RANDOM practice weights")
    assert vc.datasets.course_dataset() == "photos"  # practice changes the weights only

    vc.config.use(mode="quick")
    assert vc.models.load_vgg16() == "random" and vc.datasets.course_dataset() == "drawn"
    assert vc.config.settings().banner().text.startswith("QUICK MODE")

    vc.config.use("full")
    with pytest.raises(ZeroDivisionError):
        vc.models.load_vgg16()
    assert loaded == [1, 1] and vc.datasets.course_dataset() == "photos"


def test_use_keeps_what_it_is_not_given(monkeypatch, tmp_path):
    _clear(monkeypatch)
    monkeypatch.setenv("VGG_COURSE_STRICT", "1")
    monkeypatch.setenv("VGG_COURSE_DATA", str(tmp_path / "photos"))
    s = vc.config.use(lang="ja")
    assert (s.mode, s.lang, s.strict, s.data_dir) == ("full", "ja", True, tmp_path / "photos")
    s = vc.config.use("quick")
    assert (s.mode, s.lang, s.strict, s.data_dir) == ("quick", "ja", True, tmp_path / "photos")
    s = vc.config.use(strict=False)
    assert (s.mode, s.lang, s.strict) == ("quick", "ja", False)
    vc.config.reset()  # back to the environment's
    s = vc.config.settings()
    assert (s.mode, s.lang, s.strict) == ("full", "en", True)


def test_use_takes_the_folders_and_the_derived_ones_follow_the_course_folder(monkeypatch, tmp_path):
    _clear(monkeypatch)
    s = vc.config.use(course_dir=tmp_path / "course")
    assert (s.course_dir, s.data_home, s.results_dir, s.grades_dir) == (
        tmp_path / "course", tmp_path / "course" / "data", tmp_path / "course" / "results",
        tmp_path / "course" / "grades")
    s = vc.config.use(data_home=tmp_path / "data", data_dir=str(tmp_path / "photos"))
    assert (s.data_home, s.data_dir) == (tmp_path / "data", tmp_path / "photos")
    s = vc.config.use(course_dir=tmp_path / "other", results_dir=tmp_path / "res")
    assert (s.data_home, s.results_dir) == (tmp_path / "data", tmp_path / "res")  # chosen: kept
    assert vc.datasets.cache_path() == tmp_path / "data" / "hymenoptera_data"


def test_use_in_a_with_block_restores_the_previous_settings(monkeypatch):
    _clear(monkeypatch)
    outside = vc.config.settings()
    with vc.config.use("quick") as quick:
        assert vc.config.settings() is quick and quick.mode == "quick"
        with vc.config.use("practice", lang="ja"):
            assert (vc.config.settings().mode, vc.config.settings().lang) == ("practice", "ja")
        assert vc.config.settings() == quick
        with pytest.raises(RuntimeError), vc.config.use("real"):
            raise RuntimeError("a failing cell")
        assert vc.config.settings().mode == "quick"
    assert vc.config.settings() == outside and vc.config.settings().mode == "full"


def test_bad_values_are_refused_with_the_choices_and_change_nothing(monkeypatch):
    _clear(monkeypatch)
    before = vc.config.settings()
    with pytest.raises(ValueError, match="unknown mode 'fast'; choose one of 'quick', 'real', "
                                         "'practice', 'full'"):
        vc.config.use("fast")
    with pytest.raises(ValueError, match="unknown language 'fr'; choose one of 'en', 'ja'"):
        vc.config.use(lang="fr")
    with pytest.raises(ValueError, match="strict must be True or False"):
        vc.config.use(strict="yes")
    assert vc.config.settings() is before
    assert config.MODES == ("quick", "real", "practice", "full") and config.LANGS == ("en", "ja")


def test_real_mode_says_which_network_gives_the_results_and_use_looks_again(monkeypatch, tmp_path):
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
    assert vc.config.settings().practice  # settings() does not look again...
    s = vc.config.use("real")  # ...choosing the mode does
    assert not s.practice and "companion" not in s.banner().text


def test_settings_show_as_a_table_of_what_use_takes(monkeypatch, tmp_path):
    _clear(monkeypatch)
    s = vc.config.use("quick", data_home=tmp_path)
    text = repr(s)
    assert text.startswith("QUICK MODE")
    rows = dict(line.split(None, 1) for line in text.splitlines()[2:] if not line.startswith("VGG16"))
    assert rows == {"mode": "quick", "lang": "en", "data_dir": "(not set)",
                    "data_home": str(tmp_path), "results_dir": "<course folder>/results",
                    "course_dir": f".../{s.course_dir.name} (the course folder)", "strict": "False"}
    assert str(s.course_dir) not in text  # a stored output names no machine's path
    assert "VGG16 weights  random (practice)" in text
    assert "QUICK MODE" in s._repr_html_() and "<td>data_home</td>" in s._repr_html_()


# ---------------------------------------------------------------- the course folder


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
    monkeypatch.chdir(tmp_path)  # no marker at or above: the working directory...
    assert vc.config.settings().course_dir == course.resolve()  # ...once the settings are read again
    vc.config.reset()
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
    vc.config.reset()
    s = vc.config.settings()
    assert (s.results_dir, s.data_home) == (tmp_path / "res", tmp_path / "dat")


def test_the_repository_root_is_a_course_folder():
    repo = Path(__file__).resolve().parents[1]
    assert vc.config.course_folder(repo / "notebooks" / "student") == repo


# ---------------------------------------------------------------- what a student reads


def test_the_quick_banner_tells_a_student_who_set_nothing_what_they_see_and_how_to_switch(monkeypatch):
    _clear(monkeypatch)
    text = vc.config.use("quick").banner().text
    assert text.startswith("QUICK MODE")
    for words in ("not real results", "the course's checks made these outputs",
                  "the mode you choose (full mode unless you set one)", 'vc.config.use("full")',
                  "no restart"):
        assert words in text, words
    assert "VGG_COURSE_" not in text  # the switch is the one call, not a variable to unset


def test_every_banner_names_its_mode_first_and_practice_names_the_way_back(monkeypatch):
    _clear(monkeypatch)
    firsts = {mode: vc.config.use(mode).banner().text.split(":")[0] for mode in vc.config.MODES}
    assert firsts["quick"] == "QUICK MODE" and firsts["practice"] == "PRACTICE MODE"
    assert firsts["real"] == "REAL MODE" and firsts["full"].startswith("Full mode")
    assert 'vc.config.use("full")' in vc.config.use("practice").banner().text


def test_paths_show_relative_to_the_course_folder_or_home(monkeypatch, tmp_path):
    _clear(monkeypatch)
    course = tmp_path / "course"
    s = vc.config.use(course_dir=course)
    assert s.shown(course / "data" / "practice") == "<course folder>/data/practice"
    assert s.shown(course) == "<course folder>"
    assert s.shown(tmp_path / "shared" / "hymenoptera_data") == "<course folder>/../shared/hymenoptera_data"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert s.shown(tmp_path / "home" / "Downloads" / "photos") == "~/Downloads/photos"
    assert s.shown("/srv/photos") == "/srv/photos"  # nowhere near: as given, the student's own
    assert s.shown("photos/train") == "photos/train"


def test_a_folder_report_shows_its_folder_relative_and_keeps_the_full_path(monkeypatch, tmp_path):
    _clear(monkeypatch)
    vc.config.use("quick", course_dir=tmp_path)
    photos = vc.datasets.practice_dataset(tmp_path / "data" / "photos")
    report = vc.folders.validate_folder(photos)
    assert report.root == photos.resolve()  # the full path, for whoever needs it
    shown = report.summary() + repr(report) + report._repr_html_()
    assert "<course folder>/data/photos" in report.summary() and str(tmp_path) not in shown
