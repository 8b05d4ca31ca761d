"""Tests for vgg_course.datasets: registry, download, installs, practice data."""

from __future__ import annotations

import dataclasses
import http.server
import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vgg_course as vc
from vgg_course import datasets
from vgg_course.__main__ import main
from zips import make_zip


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own data folder and no VGG_COURSE_DATA."""
    home = tmp_path / "home"
    monkeypatch.setenv("VGG_COURSE_DATA_HOME", str(home))
    monkeypatch.delenv("VGG_COURSE_DATA", raising=False)
    return home


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 16), colour).save(buf, format="JPEG")
    return buf.getvalue()




def _tiny_hymenoptera(top: str = "hymenoptera_data/") -> dict[str, bytes]:
    entries = {}
    for split, n in (("train", 3), ("val", 2)):
        for cls, colour in (("ants", (90, 40, 10)), ("bees", (240, 200, 0))):
            for i in range(n):
                entries[f"{top}{split}/{cls}/{i}.jpg"] = _jpeg(colour)
    entries[f"{top}train/ants/imageNotFound.gif"] = b"GIF89a"
    return entries


@pytest.fixture()
def tiny_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small hymenoptera-shaped zip, registered in place of the real one."""
    path = make_zip(tmp_path / "hymenoptera_data.zip", _tiny_hymenoptera())
    entry = dataclasses.replace(datasets.REGISTRY["hymenoptera"],
                                sha256=vc.downloads.sha256_file(path), size=path.stat().st_size)
    monkeypatch.setitem(datasets.REGISTRY, "hymenoptera", entry)
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- registry


def test_registry_has_the_tutorial_zip():
    s = datasets.REGISTRY["hymenoptera"]
    assert s.url == "https://download.pytorch.org/tutorial/hymenoptera_data.zip"
    assert s.size == 47_286_322
    assert s.sha256 == "fbc41b31d544714d18dd1230b1e2b455e1557766e13e67f9f5a7a23af7c02209"
    assert s.classes == ("ants", "bees")


def test_unknown_dataset_is_named():
    with pytest.raises(datasets.DatasetError, match="Unknown dataset 'cifar'"):
        datasets.spec("cifar")


def test_an_unsafe_zip_is_refused_as_a_dataset_error_and_installs_nothing(tmp_path: Path,
                                                                          data_home: Path):
    zf = make_zip(tmp_path / "bad.zip", {**_tiny_hymenoptera(), "../evil.txt": b"owned"})
    entry = dataclasses.replace(datasets.REGISTRY["hymenoptera"],
                                sha256=vc.downloads.sha256_file(zf), size=zf.stat().st_size)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(datasets.REGISTRY, "hymenoptera", entry)
        with pytest.raises(datasets.DatasetError, match="climbs out"):
            datasets.install(zf)
    assert not (tmp_path / "evil.txt").exists() and _leftovers(data_home) == []


# ---------------------------------------------------------------- install


def test_install_zip_verified_and_extracted(tiny_zip: Path, data_home: Path):
    dest = datasets.install(tiny_zip)
    assert dest == data_home / "hymenoptera_data"
    assert sorted(p.name for p in dest.iterdir()) == ["train", "val"]
    assert datasets.hymenoptera(download=False) == dest
    assert _leftovers(data_home) == ["hymenoptera_data"]  # no staging folders left


def test_install_zip_with_wrong_hash_installs_nothing(tiny_zip: Path, data_home: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    wrong = dataclasses.replace(datasets.REGISTRY["hymenoptera"], sha256="0" * 64)
    monkeypatch.setitem(datasets.REGISTRY, "hymenoptera", wrong)
    with pytest.raises(datasets.DatasetError, match="(?s)SHA-256.*Nothing was installed"):
        datasets.install(tiny_zip)
    assert _leftovers(data_home) == []


def test_install_truncated_zip_is_refused_by_size(tiny_zip: Path, data_home: Path, tmp_path: Path):
    cut = tmp_path / "cut.zip"
    cut.write_bytes(tiny_zip.read_bytes()[:-100])
    with pytest.raises(datasets.DatasetError, match="truncated"):
        datasets.install(cut)
    assert _leftovers(data_home) == []


def test_install_zip_without_the_dataset_is_refused(tmp_path: Path, data_home: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    entries = {k: v for k, v in _tiny_hymenoptera().items() if "/val/" not in k}
    zf = make_zip(tmp_path / "noval.zip", entries)
    entry = dataclasses.replace(datasets.REGISTRY["hymenoptera"],
                                sha256=vc.downloads.sha256_file(zf), size=zf.stat().st_size)
    monkeypatch.setitem(datasets.REGISTRY, "hymenoptera", entry)
    with pytest.raises(datasets.DatasetError, match="no val/"):
        datasets.install(zf)
    assert _leftovers(data_home) == []


def test_install_from_unpacked_folder(tmp_path: Path, data_home: Path):
    src = vc.downloads.safe_extract(make_zip(tmp_path / "z.zip", _tiny_hymenoptera()), tmp_path / "usb")
    dest = datasets.install(src)  # the folder holding hymenoptera_data/ is accepted too
    assert dest == data_home / "hymenoptera_data"
    assert len(list(dest.rglob("*.jpg"))) == 10 and (src / "hymenoptera_data").is_dir()


def test_install_folder_with_wrong_classes_is_refused(tmp_path: Path, data_home: Path):
    entries = {k.replace("bees", "wasps"): v for k, v in _tiny_hymenoptera().items()}
    src = vc.downloads.safe_extract(make_zip(tmp_path / "z.zip", entries), tmp_path / "usb")
    with pytest.raises(datasets.DatasetError, match=r"classes are \['ants', 'wasps'\]"):
        datasets.install(src)
    assert _leftovers(data_home) == []


def test_install_folder_with_empty_class_is_refused(tmp_path: Path, data_home: Path):
    src = vc.downloads.safe_extract(make_zip(tmp_path / "z.zip", _tiny_hymenoptera()), tmp_path / "usb")
    for f in (src / "hymenoptera_data" / "val" / "bees").iterdir():
        f.unlink()
    with pytest.raises(datasets.DatasetError, match="val/bees/ has no usable images"):
        datasets.install(src)


def test_install_nonexistent_path(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="No file or folder at"):
        datasets.install(tmp_path / "nope.zip")


def test_a_refused_install_keeps_the_existing_copy(tiny_zip: Path, tmp_path: Path):
    dest = datasets.install(tiny_zip)
    bad = tmp_path / "bad"
    (bad / "train" / "ants").mkdir(parents=True)
    with pytest.raises(datasets.DatasetError):
        datasets.install(bad)
    assert len(list(dest.rglob("*.jpg"))) == 10


# ---------------------------------------------------------------- download


@pytest.fixture()
def server(tiny_zip: Path):
    """A local HTTP server on 127.0.0.1 serving the tiny zip; yields (url, request log)."""
    payload, log = tiny_zip.read_bytes(), []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            log.append(self.path)
            body = payload if self.path.endswith(".zip") else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # /cut/...: the connection drops half-way through the body
            self.wfile.write(body[: len(body) // 2] if self.path.startswith("/cut/") else body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", log
    httpd.shutdown()
    httpd.server_close()


def _point_at(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = dataclasses.replace(datasets.REGISTRY["hymenoptera"], url=url)
    monkeypatch.setitem(datasets.REGISTRY, "hymenoptera", entry)


def test_download_once_verified_and_extracted(server, data_home: Path, monkeypatch):
    base, log = server
    _point_at(f"{base}/tutorial/hymenoptera_data.zip", monkeypatch)
    root = datasets.hymenoptera()
    assert root == data_home / "hymenoptera_data"
    assert vc.folders.validate_folder(root).counts == {"train": {"ants": 3, "bees": 3},
                                                    "val": {"ants": 2, "bees": 2}}
    assert datasets.hymenoptera() == root and log == ["/tutorial/hymenoptera_data.zip"]
    assert _leftovers(data_home) == ["hymenoptera_data", "hymenoptera_data.zip"]


def test_download_with_wrong_hash_keeps_nothing(server, data_home: Path, monkeypatch):
    base, _ = server
    _point_at(f"{base}/tutorial/hymenoptera_data.zip", monkeypatch)
    wrong = dataclasses.replace(datasets.REGISTRY["hymenoptera"], sha256="f" * 64)
    monkeypatch.setitem(datasets.REGISTRY, "hymenoptera", wrong)
    with pytest.raises(datasets.DatasetUnavailableError, match="(?s)SHA-256.*Ways out"):
        datasets.download(progress=False)
    assert _leftovers(data_home) == []  # no zip, no .part, no folder


def test_interrupted_download_keeps_nothing(server, data_home: Path, monkeypatch):
    base, _ = server
    _point_at(f"{base}/cut/hymenoptera_data.zip", monkeypatch)
    with pytest.raises(datasets.DatasetUnavailableError, match="(?s)truncated.*Ways out"):
        datasets.hymenoptera()
    assert _leftovers(data_home) == []


def test_download_failure_gives_ways_out(server, data_home: Path, monkeypatch):
    base, _ = server
    _point_at(f"{base}/missing.bin", monkeypatch)
    with pytest.raises(datasets.DatasetUnavailableError, match="data install"):
        datasets.hymenoptera()
    assert not (data_home / "hymenoptera_data").exists()


def test_no_download_when_not_allowed(data_home: Path):
    with pytest.raises(datasets.DatasetUnavailableError, match="not in .*hymenoptera_data"):
        datasets.hymenoptera(download=False)


# ---------------------------------------------------------------- data_dir, course_dataset


def test_data_dir_wins(tmp_path: Path, tiny_zip: Path):
    datasets.install(tiny_zip)  # a copy in the data folder too
    mine = vc.downloads.safe_extract(tiny_zip, tmp_path / "mine") / "hymenoptera_data"
    assert datasets.hymenoptera() != mine
    vc.config.use(data_dir=mine)  # from a notebook cell, no restart
    assert datasets.hymenoptera() == mine
    assert datasets.status().source == "data_dir" and datasets.status().ready


def test_vgg_course_data_wins(tmp_path: Path, tiny_zip: Path, monkeypatch):
    mine = vc.downloads.safe_extract(tiny_zip, tmp_path / "mine") / "hymenoptera_data"
    monkeypatch.setenv("VGG_COURSE_DATA", str(mine))  # before the first read of the settings
    assert datasets.hymenoptera() == mine


def test_data_dir_pointing_nowhere(tmp_path: Path):
    vc.config.use(data_dir=tmp_path / "nowhere")
    with pytest.raises(datasets.DatasetError, match="VGG_COURSE_DATA.* is .*nowhere"):
        datasets.hymenoptera()
    assert not datasets.status().ready and "data_dir must name" in datasets.status().advice


def test_course_dataset_follows_the_mode_without_a_restart(data_home: Path, tiny_zip: Path):
    vc.config.use("quick")
    assert datasets.course_dataset() == data_home / "practice" / "seed-0"
    vc.config.use("full")
    datasets.install(tiny_zip)
    assert datasets.course_dataset() == data_home / "hymenoptera_data"
    with vc.config.use("quick"):
        assert datasets.course_dataset() == data_home / "practice" / "seed-0"
    assert datasets.course_dataset() == data_home / "hymenoptera_data"


def test_photos_through_vgg_course_data(photos_dir: Path, monkeypatch):
    monkeypatch.setenv("VGG_COURSE_DATA", str(photos_dir))
    monkeypatch.delenv("VGG_COURSE_QUICK", raising=False)
    root = datasets.course_dataset()
    train_ds, val_ds = vc.data.image_folders(root, train_transform=None, val_transform=None)
    assert (len(train_ds), len(val_ds)) == (244, 153)
    assert [s.path for s in train_ds.report.skipped] == ["train/ants/imageNotFound.gif"]


# ---------------------------------------------------------------- practice data


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_practice_is_byte_identical_per_seed(tmp_path: Path):
    a = _files(datasets.practice_dataset(tmp_path / "a", seed=3))
    b = _files(datasets.practice_dataset(tmp_path / "b", seed=3))
    c = _files(datasets.practice_dataset(tmp_path / "c", seed=4))
    assert a == b
    assert a.keys() == c.keys() and a["train/ants/ants_000.jpg"] != c["train/ants/ants_000.jpg"]


def test_practice_layout_and_gif_placeholder(tmp_path: Path):
    report = vc.folders.validate_folder(datasets.practice_dataset(tmp_path / "p"))
    assert report.ok
    assert report.counts == {"train": {"ants": 40, "bees": 40}, "val": {"ants": 20, "bees": 20}}
    assert [s.path for s in report.skipped] == ["train/ants/imageNotFound.gif"]
    with Image.open(tmp_path / "p" / "train" / "bees" / "bees_000.jpg") as img:
        assert img.size == (96, 96) and img.mode == "RGB"


def test_practice_is_reused_not_redrawn(tmp_path: Path):
    root = datasets.practice_dataset(tmp_path / "p")
    marker = root / "train" / "ants" / "ants_000.jpg"
    mtime = marker.stat().st_mtime_ns
    assert datasets.practice_dataset(tmp_path / "p") == root
    assert marker.stat().st_mtime_ns == mtime


def test_practice_never_overwrites_a_foreign_folder(tmp_path: Path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("precious")
    with pytest.raises(datasets.DatasetError, match="not a practice dataset"):
        datasets.practice_dataset(tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "precious"


def test_practice_classes_are_learnable_from_colour(tmp_path: Path):
    root = datasets.practice_dataset(tmp_path / "p")

    def colour_histograms(split: str) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = [], []
        for label, cls in enumerate(("ants", "bees")):
            for f in sorted((root / split / cls).glob("*.jpg")):
                q = np.asarray(Image.open(f)) // 64  # 4 levels per channel -> 64 colour bins
                bins = (q[..., 0] * 16 + q[..., 1] * 4 + q[..., 2]).ravel().astype(int)
                xs.append(np.bincount(bins, minlength=64) / bins.size)
                ys.append(label)
        return np.stack(xs), np.array(ys)

    x, y = colour_histograms("train")
    centroids = np.stack([x[y == k].mean(0) for k in (0, 1)])
    xv, yv = colour_histograms("val")
    predicted = np.linalg.norm(xv[:, None] - centroids[None], axis=2).argmin(1)
    assert (predicted == yv).mean() >= 0.9  # nearest colour-histogram centroid; chance is 0.5


# ---------------------------------------------------------------- CLI


def test_cli_status_install_practice(tiny_zip: Path, data_home: Path, tmp_path: Path, capsys):
    assert main(["data", "status"]) == 1
    assert "Ways out" in capsys.readouterr().out
    assert main(["data", "install", str(tiny_zip)]) == 0
    assert main(["data", "status"]) == 0
    assert "data folder" in capsys.readouterr().out
    assert main(["data", "install", str(tmp_path / "nope.zip")]) == 2
    assert "No file or folder" in capsys.readouterr().out
    assert main(["data", "practice", "--root", str(tmp_path / "p"), "--seed", "2"]) == 0
    assert (tmp_path / "p" / "val" / "bees").is_dir()


def _read_only(root: Path) -> Path:
    """Make a tree read-only as a CD or ``../shared/datasets`` is: files 0o444, folders 0o555."""
    for path in sorted(root.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    root.chmod(0o555)
    return root


def _modes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]}


def test_a_copy_of_a_read_only_folder_is_its_owners_and_the_source_stays_read_only(tmp_path: Path):
    src = _read_only(vc.downloads.safe_extract(make_zip(tmp_path / "z.zip", _tiny_hymenoptera()),
                                               tmp_path / "ro"))
    before = _modes(src)
    dest = datasets.install(src)
    # mode bits, not a write attempt: the tests run as root, who may write anyway
    needs = {name: 0o700 if (dest / name).is_dir() else 0o600 for name in _modes(dest)}
    bad = {name: oct(mode) for name, mode in _modes(dest).items() if mode & needs[name] != needs[name]}
    assert not bad and len(list(dest.rglob("*.jpg"))) == 10, bad
    assert _modes(src) == before  # the source is not touched


# ---------------------------------------------------------------- where the CLI writes


@pytest.fixture()
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory outside any course folder, with no folder chosen by the environment."""
    cwd = tmp_path / "nowhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name in ("VGG_COURSE_DIR", "VGG_COURSE_DATA_HOME", "VGG_COURSE_RESULTS"):
        monkeypatch.delenv(name, raising=False)
    return cwd


@pytest.mark.parametrize("command", [["install", "ZIP"], ["download"], ["practice"]])
def test_outside_a_course_folder_writing_data_commands_refuse_and_write_nothing(
        command, nowhere: Path, tiny_zip: Path, capsys, monkeypatch):
    monkeypatch.setattr(vc.downloads, "download", lambda *a, **k: pytest.fail("downloaded"))
    words = [str(tiny_zip) if w == "ZIP" else w for w in command]
    assert main(["data", *words]) == 2
    err = capsys.readouterr().err
    assert "--here" in err and "python -m vgg_course lessons DEST" in err and "Nothing was written" in err
    assert str(nowhere / "data") in err  # where it would have written
    assert list(nowhere.iterdir()) == []


def test_here_makes_the_working_directory_the_course_folder(nowhere: Path, tiny_zip: Path, capsys):
    assert main(["data", "install", str(tiny_zip), "--here"]) == 0
    assert (nowhere / "data" / "hymenoptera_data" / "train" / "ants").is_dir()
    assert f"Writing into {nowhere.resolve() / 'data' / 'hymenoptera_data'}" in capsys.readouterr().out
    assert main(["data", "practice", "--here", "--seed", "1"]) == 0
    assert (nowhere / "data" / "practice" / "seed-1" / "val" / "bees").is_dir()


def test_inside_a_course_folder_data_commands_say_where_they_write(nowhere: Path, tiny_zip: Path,
                                                                   capsys, monkeypatch):
    (nowhere / "vgg-course.json").write_text("{}")
    (nowhere / "lesson").mkdir()
    monkeypatch.chdir(nowhere / "lesson")
    assert main(["data", "install", str(tiny_zip)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"Writing into {nowhere.resolve() / 'data' / 'hymenoptera_data'} "
                      f"(course folder: {nowhere.resolve()}).")
    assert (nowhere / "data" / "hymenoptera_data").is_dir()
