"""Installing, verifying and loading weight files: always with small files made here."""

from __future__ import annotations

import pickle

import pytest
import torch

import vgg_course as vc
from vgg_course import weights as vw


@pytest.fixture()
def torch_home(monkeypatch, tmp_path):
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


def _expect(monkeypatch, path):
    """Make the kit expect exactly this file (small test files stand in for the 528 MiB one)."""
    monkeypatch.setitem(vw.KNOWN_FILES, "vgg16-397923af.pth",
                        (vc.downloads.sha256_file(path), path.stat().st_size))


def _meta_shaped_state_dict():
    # Real VGG16 keys and shapes (what install checks), each a stride-0 view of one number:
    # torch.save stores one element per key, so the file is a few KB, not 528 MiB.
    from torchvision.models import vgg16
    with torch.device("meta"):
        reference = vgg16().state_dict()
    return {k: torch.full((), float(i)).expand(v.shape) for i, (k, v) in enumerate(reference.items())}


def test_known_checksum_is_the_published_one():
    assert vw.expected() == ("397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
                             553_433_881)
    assert vw.file_name() == "vgg16-397923af.pth"


def test_cache_path_follows_torch_home(torch_home):
    assert vw.cache_path() == torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"


def test_wrong_hash_is_refused_and_nothing_is_written(torch_home, tmp_path, monkeypatch):
    src = tmp_path / "vgg16-397923af.pth"
    src.write_bytes(b"x" * 4096)
    # the expected size is this file's, so only the SHA-256 can refuse it
    monkeypatch.setitem(vw.KNOWN_FILES, src.name, ("0" * 64, 4096))
    with pytest.raises(vw.WeightsError, match="SHA-256"):
        vw.install(src)
    assert not vw.cache_dir().exists() or not any(vw.cache_dir().iterdir())


def test_truncated_file_is_refused_by_size(torch_home, tmp_path):
    src = tmp_path / "vgg16-397923af.pth"
    src.write_bytes(b"abc")
    with pytest.raises(vw.WeightsError, match="truncated"):
        vw.install(src)
    assert not vw.cache_path().exists()


def test_not_a_state_dict_is_refused(torch_home, tmp_path, monkeypatch):
    src = tmp_path / "list.pth"
    torch.save([1, 2, 3], src)
    _expect(monkeypatch, src)
    with pytest.raises(vw.WeightsError, match="not a state_dict"):
        vw.install(src)
    assert not vw.cache_path().exists()


def test_wrong_model_state_dict_is_refused(torch_home, tmp_path, monkeypatch):
    src = tmp_path / "tiny.pth"
    torch.save(vc.models.tiny_vgg().state_dict(), src)
    _expect(monkeypatch, src)
    with pytest.raises(vw.WeightsError, match="shape"):
        vw.install(src)
    assert not vw.cache_path().exists()


class _RunsCode:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_pickle_that_would_run_code_is_refused(torch_home, tmp_path, monkeypatch):
    src = tmp_path / "evil.pth"
    with open(src, "wb") as fh:
        pickle.dump({"features.0.weight": _RunsCode()}, fh)
    _expect(monkeypatch, src)
    with pytest.raises(vw.WeightsError, match="weights_only"):
        vw.install(src)
    assert not vw.cache_path().exists()


def test_missing_source_file(torch_home, tmp_path):
    with pytest.raises(FileNotFoundError, match="No weights file"):
        vw.install(tmp_path / "nope.pth")


def test_correct_file_lands_where_torchvision_finds_it(torch_home, tmp_path, monkeypatch):
    src = tmp_path / "copy-from-usb.pth"
    torch.save(_meta_shaped_state_dict(), src)
    assert src.stat().st_size < 100_000
    _expect(monkeypatch, src)
    dest = vw.install(src)
    assert dest == vw.cache_path()
    assert vc.downloads.sha256_file(dest) == vc.downloads.sha256_file(src)
    assert vw.status().ready
    # torchvision's own loader finds the file in the cache and does not try to download it
    from torchvision.models import VGG16_Weights
    state = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=False)
    assert len(state) == 32


def test_cached_file_is_reverified_before_use(torch_home, tmp_path, monkeypatch):
    path = vw.cache_path()
    path.parent.mkdir(parents=True)
    torch.save({"a": torch.zeros(2)}, path)
    _expect(monkeypatch, path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # flip a byte after the install: same size, different hash
    path.write_bytes(bytes(data))
    with pytest.raises(vw.WeightsError, match="damaged"):
        vw.load_state_dict()


def test_download_refused_when_not_allowed(torch_home):
    with pytest.raises(vw.WeightsUnavailableError, match="Ways out"):
        vw.load_state_dict(download=False)


def test_failed_download_names_the_ways_out(torch_home, monkeypatch):
    from torchvision.models import VGG16_Weights
    monkeypatch.setattr(VGG16_Weights.IMAGENET1K_V1.value, "url",
                        "http://127.0.0.1:9/vgg16-397923af.pth")  # port 9: nothing listens
    with pytest.raises(vw.WeightsUnavailableError) as info:
        vw.load_state_dict(progress=False)
    assert "downloading them failed: <urlopen error" in str(info.value)
    assert "weights install" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no chained pages
    assert len(str(info.value).splitlines()) <= 15
    assert not list(vw.cache_dir().glob("*.part"))


def test_cli_install_and_status(torch_home, tmp_path, monkeypatch, capsys):
    from vgg_course.__main__ import main
    assert main(["weights", "status"]) == 1
    assert "missing" in capsys.readouterr().out
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"0" * 10)
    assert main(["weights", "install", str(bad)]) == 2
    assert "truncated" in capsys.readouterr().out


def _serve(directory):
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # not on stderr, where the tests read what the kit says
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_real_download_path_against_a_local_server(torch_home, tmp_path, monkeypatch, capsys):
    # torchvision would fetch weights.url; here a server on 127.0.0.1 plays download.pytorch.org.
    from torchvision.models import VGG16_Weights
    served = tmp_path / "served"
    served.mkdir()
    good = {"features.0.weight": torch.zeros(2)}  # hash-correct but not VGG16: refused after download
    torch.save(good, served / "vgg16-397923af.pth")
    _expect(monkeypatch, served / "vgg16-397923af.pth")
    server = _serve(served)
    try:
        url = f"http://127.0.0.1:{server.server_port}/vgg16-397923af.pth"
        monkeypatch.setattr(VGG16_Weights.IMAGENET1K_V1.value, "url", url)
        with pytest.raises(vw.WeightsError, match="does not hold vgg16 weights"):
            vw.load_state_dict(progress=False)
        size = (served / "vgg16-397923af.pth").stat().st_size
        assert capsys.readouterr().err.startswith(  # said before it downloaded
            f"Downloading vgg16-397923af.pth: {size / 1e6:,.1f} MB from {url} into {vw.cache_dir()}\n")
        # the verified download itself landed in the cache under its final name, no .part left
        assert vw.cache_path().is_file()
        assert not list(vw.cache_dir().glob("*.part"))
        # a server that sends different bytes: refused, nothing left behind
        vw.cache_path().unlink()
        (served / "vgg16-397923af.pth").write_bytes(b"tampered" * 100)
        with pytest.raises(vw.WeightsUnavailableError, match="SHA-256|bytes"):
            vw.load_state_dict(progress=False)
        assert not vw.cache_path().exists()
        assert not list(vw.cache_dir().glob("*.part"))
    finally:
        server.shutdown()


def test_weights_installed_from_a_read_only_copy_are_the_owners(torch_home, tmp_path, monkeypatch):
    src = tmp_path / "cdrom" / "vgg16-397923af.pth"
    src.parent.mkdir()
    torch.save(_meta_shaped_state_dict(), src)
    _expect(monkeypatch, src)
    src.chmod(0o444)
    src.parent.chmod(0o555)
    dest = vw.install(src)
    # mode bits, not a write attempt: the tests run as root, who may write anyway
    assert dest.stat().st_mode & 0o600 == 0o600
    assert (src.stat().st_mode & 0o777, src.parent.stat().st_mode & 0o777) == (0o444, 0o555)


def _fits_one_screen(message: str, path) -> None:
    """At most 15 lines of at most 100 characters; only the file's own path may be longer."""
    lines = message.splitlines()
    assert len(lines) <= 15, message
    too_wide = [line for line in lines if len(line) > 100 and line.strip() != str(path)]
    assert not too_wide, too_wide


def test_missing_weights_error_fits_one_screen_and_names_the_switch_first(torch_home):
    with pytest.raises(vw.WeightsUnavailableError) as info:
        vw.load_state_dict(download=False)
    message = str(info.value)
    _fits_one_screen(message, vw.cache_path())
    assert f"  {vw.cache_path()}" in message.splitlines()  # the full path, on a line of its own
    assert message.index('vc.config.use("practice")') < message.index("weights install")


def test_a_long_download_failure_is_shortened_to_one_line(torch_home, monkeypatch):
    def fail(*args, **kwargs):
        raise vc.downloads.DownloadError("x " * 200)
    monkeypatch.setattr(vc.downloads, "download", fail)
    with pytest.raises(vw.WeightsUnavailableError) as info:
        vw.load_state_dict(progress=False)
    assert "downloading them failed: x x" in str(info.value)
    _fits_one_screen(str(info.value), vw.cache_path())


def test_status_shows_the_cache_relative_to_torch_home_or_home(torch_home, monkeypatch, tmp_path):
    shown = repr(vw.status())
    assert "$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth" in shown
    assert str(tmp_path) not in shown  # a stored output never shows this machine's folders
    assert vw.status().path == torch_home / "hub" / "checkpoints" / "vgg16-397923af.pth"  # full
    monkeypatch.delenv("TORCH_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))  # torch's default cache, under the home folder
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert "Pretrained weights file is missing: ~/.cache/torch/hub/checkpoints/vgg16-" in repr(vw.status())
    assert str(tmp_path) not in repr(vw.status())
    assert vw.shown("/srv/models/x.pth") == "/srv/models/x.pth"  # elsewhere: in full
