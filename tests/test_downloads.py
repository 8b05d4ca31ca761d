"""Tests for vgg_course.downloads' safe extraction: no zip entry leaves its folder, a failure leaves nothing."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from vgg_course import downloads
from test_weights import _serve
from zips import make_zip




def _tiny_hymenoptera() -> dict[str, bytes]:
    return {f"hymenoptera_data/{split}/{cls}/{i}.jpg": bytes([i]) * 100
            for split, n in (("train", 3), ("val", 2)) for cls in ("ants", "bees") for i in range(n)}


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_safe_extract_writes_all_files(tmp_path: Path):
    zf = make_zip(tmp_path / "ok.zip", _tiny_hymenoptera())
    dest = downloads.safe_extract(zf, tmp_path / "out")
    assert len(list(dest.rglob("*.jpg"))) == 10
    assert _leftovers(tmp_path) == ["ok.zip", "out"]


@pytest.mark.parametrize("bad_name, why", [
    ("../evil.txt", "climbs out"),
    ("hymenoptera_data/train/../../../evil.txt", "climbs out"),
    ("/tmp/evil.txt", "absolute path"),
    ("C:/evil.txt", "absolute path"),
    ("hymenoptera_data\\..\\evil.txt", "backslash"),
])
def test_safe_extract_refuses_escaping_entries(tmp_path: Path, bad_name: str, why: str):
    entries = {**_tiny_hymenoptera(), bad_name: b"owned"}
    zf = make_zip(tmp_path / "bad.zip", entries)
    target = tmp_path / "deep" / "out"
    with pytest.raises(downloads.ArchiveError, match=why):
        downloads.safe_extract(zf, target)
    assert not target.exists() and not (tmp_path / "evil.txt").exists()
    assert _leftovers(tmp_path / "deep") == []  # nothing extracted, no temp folder left


def test_safe_extract_refuses_symlinks(tmp_path: Path):
    zf = make_zip(tmp_path / "link.zip", _tiny_hymenoptera(),
                   symlinks={"hymenoptera_data/train/ants/x.jpg": "/etc/passwd"})
    with pytest.raises(downloads.ArchiveError, match="symbolic link"):
        downloads.safe_extract(zf, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_truncated_zip_leaves_nothing(tmp_path: Path):
    good = make_zip(tmp_path / "good.zip", _tiny_hymenoptera())
    cut = tmp_path / "cut.zip"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(downloads.ArchiveError, match="truncated or corrupt"):
        downloads.safe_extract(cut, tmp_path / "out")
    assert _leftovers(tmp_path) == ["cut.zip", "good.zip"]


def test_corrupt_member_fails_crc_and_leaves_nothing(tmp_path: Path):
    data = bytearray(make_zip(tmp_path / "good.zip", {"a/b.bin": bytes(range(256)) * 64}).read_bytes())
    at = data.index(bytes(range(256)))
    data[at + 10] ^= 0xFF  # flip one byte of the stored (uncompressed) member
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    with pytest.raises(downloads.ArchiveError, match="Bad CRC-32"):
        downloads.safe_extract(bad, tmp_path / "out")
    assert _leftovers(tmp_path) == ["bad.zip", "good.zip"]


def test_safe_extract_needs_a_new_folder(tmp_path: Path):
    zf = make_zip(tmp_path / "ok.zip", _tiny_hymenoptera())
    (tmp_path / "out").mkdir()
    with pytest.raises(downloads.ArchiveError, match="already exists"):
        downloads.safe_extract(zf, tmp_path / "out")


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(downloads, "MAX_UNPACKED_BYTES", 500)
    zf = make_zip(tmp_path / "big.zip", {"a/b.bin": b"0" * 1000})
    with pytest.raises(downloads.ArchiveError, match="more than 500 bytes"):
        downloads.safe_extract(zf, tmp_path / "out")
    assert _leftovers(tmp_path) == ["big.zip"]


@pytest.mark.parametrize("size_known", [True, False])
def test_a_download_first_says_how_big_it_is_and_where_it_goes(tmp_path, monkeypatch, capsys,
                                                               size_known):
    served = tmp_path / "served"
    served.mkdir()
    (served / "photos.zip").write_bytes(b"z" * 1_234_567)
    sha = downloads.sha256_file(served / "photos.zip")
    said_before_the_bytes = []
    opened = downloads.urllib.request.urlopen

    def urlopen(url, timeout):  # what had been said on stderr when the first byte was asked for
        said_before_the_bytes.append(capsys.readouterr().err)
        return opened(url, timeout=timeout)

    monkeypatch.setattr(downloads.urllib.request, "urlopen", urlopen)
    server = _serve(served)
    try:
        url = f"http://127.0.0.1:{server.server_port}/photos.zip"
        dest = tmp_path / "data" / "photos.zip"
        downloads.download(url, dest, sha256=sha, size=1_234_567 if size_known else None,
                           progress=False)
        line = f"Downloading photos.zip: 1.2 MB from {url} into {dest.parent}\n"
        # with the size known it is said before connecting; else from the server's Content-Length
        said = said_before_the_bytes[0] if size_known else capsys.readouterr().err
        assert said == line
        assert dest.read_bytes() == b"z" * 1_234_567
        downloads.download(url, dest, sha256=sha, size=1_234_567, progress=False)
        assert capsys.readouterr().err == "" and len(said_before_the_bytes) == 1  # kept: no download
    finally:
        server.shutdown()


# ---------------------------------------------------------------- copies are the owner's


def _modes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]}


def _owner_can_change_every_entry(root: Path) -> bool:
    """Mode bits, not a write attempt: the tests run as root, who may write anyway."""
    return all(p.stat().st_mode & (0o700 if p.is_dir() else 0o600) == (0o700 if p.is_dir() else 0o600)
               for p in [root, *root.rglob("*")])


def test_files_unzipped_from_read_only_members_or_under_a_read_only_umask_are_writable(tmp_path):
    zf = tmp_path / "ro.zip"
    with zipfile.ZipFile(zf, "w") as z:  # members that say "read-only", as a CD's zip does
        for name in ("top/", "top/sub/"):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFDIR | 0o555) << 16
            z.writestr(info, b"")
        info = zipfile.ZipInfo("top/sub/a.jpg")
        info.external_attr = (stat.S_IFREG | 0o444) << 16
        z.writestr(info, b"x" * 10)
    old = os.umask(0o222)  # a shared machine whose umask makes every new file read-only
    try:
        dest = downloads.safe_extract(zf, tmp_path / "out")
    finally:
        os.umask(old)
    assert (dest / "top" / "sub" / "a.jpg").read_bytes() == b"x" * 10
    assert _owner_can_change_every_entry(dest), _modes(dest)


def test_an_installed_copy_of_a_read_only_file_is_writable_and_the_source_unchanged(tmp_path):
    src = tmp_path / "usb" / "w.pth"
    src.parent.mkdir()
    src.write_bytes(b"weights")
    src.chmod(0o444)
    src.parent.chmod(0o555)
    dest = downloads.install_file(src, tmp_path / "cache" / "w.pth")
    assert dest.stat().st_mode & 0o600 == 0o600 and dest.read_bytes() == b"weights"
    assert (src.stat().st_mode & 0o777, src.parent.stat().st_mode & 0o777) == (0o444, 0o555)


def test_make_writable_adds_the_owners_bits_only_and_leaves_links_alone(tmp_path):
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_text("x")
    (tmp_path / "target").write_text("t")
    (tmp_path / "target").chmod(0o404)
    (tmp_path / "d" / "link").symlink_to(tmp_path / "target")
    for path, mode in ((tmp_path / "d" / "e" / "f", 0o404), (tmp_path / "d" / "e", 0o505),
                       (tmp_path / "d", 0o505)):
        path.chmod(mode)
    downloads.make_writable(tmp_path / "d")
    assert _modes(tmp_path / "d") == {".": 0o705, "e": 0o705, "e/f": 0o604, "link": 0o404}
    assert (tmp_path / "target").stat().st_mode & 0o777 == 0o404  # outside, through a link: untouched
