"""The modes lesson notebooks are stored in, the environment each runs with, and the photos."""

from __future__ import annotations

import pytest

import vgg_course as vc
from vgg_course import stored


def test_stored_modes_and_their_environments(tmp_path):
    assert stored.stored_mode({}) == "quick"
    assert stored.stored_mode({"vgg_course": {"mode": "real"}}) == "real"
    with pytest.raises(ValueError, match="unknown stored mode"):
        stored.stored_mode({"vgg_course": {"mode": "fast"}})
    assert stored.kernel_env("quick")["VGG_COURSE_REAL"] == ""
    real = stored.kernel_env("real", tmp_path)
    assert (real["VGG_COURSE_REAL"], real["VGG_COURSE_QUICK"], real["VGG_COURSE_DATA"]) == ("1", "", str(tmp_path))
    with pytest.raises(ValueError, match="VGG_COURSE_DATA"):
        stored.kernel_env("real", None)
    with pytest.raises(ValueError, match="unknown stored mode"):
        stored.kernel_env("practice")


def test_find_photos_order(monkeypatch, tmp_path):
    monkeypatch.delenv("VGG_COURSE_DATA", raising=False)
    monkeypatch.setenv("VGG_COURSE_DATA_HOME", str(tmp_path / "home"))
    a, b, home = tmp_path / "a", tmp_path / "b", tmp_path / "home" / "hymenoptera_data"
    for root in (a, b, home):
        (root / "train").mkdir(parents=True)
        (root / "val").mkdir()
    assert stored.find_photos(tmp_path / "missing") == home  # the data folder comes last
    assert stored.find_photos(tmp_path / "missing", b) == b
    monkeypatch.setenv("VGG_COURSE_DATA", str(a))
    vc.config.reset()  # the environment is read once: read it again
    assert stored.find_photos(b) == a
    with vc.config.use(data_dir=tmp_path / "missing"):  # a data_dir without photos is passed over
        assert stored.find_photos(b) == b


def test_find_photos_finds_nothing_and_downloads_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("VGG_COURSE_DATA", raising=False)
    monkeypatch.setenv("VGG_COURSE_DATA_HOME", str(tmp_path / "home"))
    assert stored.find_photos(tmp_path / "missing") is None
    assert not (tmp_path / "home").exists()
