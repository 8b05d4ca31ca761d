"""VGG16 loading (pretrained and practice) and the tiny VGG-shaped twin."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import vgg16

import vgg_course as vc
from vgg_course import weights as vw

VGG16_CONVS = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]


@pytest.mark.slow
def test_real_vgg16_exact_counts(real_vgg16):
    counts = vc.inspection.param_counts(real_vgg16)
    assert counts.total == 138_357_544
    assert counts["features"].total == 14_714_688
    assert counts["classifier"].total == 123_642_856
    assert len(real_vgg16.state_dict()) == 32
    assert vc.inspection.conv_indices(real_vgg16) == VGG16_CONVS
    assert len(real_vgg16.features) == 31
    assert isinstance(real_vgg16.avgpool, nn.AdaptiveAvgPool2d)
    assert real_vgg16.avgpool.output_size == (7, 7)


def test_practice_mode_is_seeded_and_does_not_touch_global_rng():
    vc.config.use("practice")
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = vc.models.load_vgg16()
    after = torch.rand(1)
    assert torch.equal(before, after)  # global RNG untouched
    b = vc.models.load_vgg16(practice=True)
    assert torch.equal(a.classifier[6].weight, b.classifier[6].weight)
    c = vc.models.load_vgg16(practice=True, seed=1)
    assert not torch.equal(a.features[0].weight, c.features[0].weight)


def test_pretrained_without_weights_is_a_clear_error_not_a_fallback(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    vc.config.use("full")  # pretrained weights, and none in this TORCH_HOME
    with pytest.raises(vw.WeightsUnavailableError) as info:
        vc.models.load_vgg16(download=False)
    message = str(info.value)
    assert str(tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth") in message
    assert "python -m vgg_course weights install" in message
    assert 'vc.config.use("practice")' in message and "VGG_COURSE_PRACTICE=1" in message
    assert "internet" in message
    assert len(message.splitlines()) <= 15
    path = str(tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth")  # alone on its line
    assert all(len(line) <= 100 for line in message.splitlines() if line.strip() != path), message
    assert message.index('vc.config.use("practice")') < message.index("weights install")
    vc.config.use("practice")  # the first way out, in the same process: no restart
    assert sum(p.numel() for p in vc.models.load_vgg16().parameters()) == 138_357_544


def _closed_port() -> int:
    import socket
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_OFFLINE_LESSON = """
import sys
from torchvision.models import VGG16_Weights
VGG16_Weights.IMAGENET1K_V1.value.url = sys.argv[1]  # a closed port on 127.0.0.1: offline
import vgg_course as vc
model = vc.models.load_vgg16()  # a lesson's first cell that needs VGG16, in full mode
"""


def test_offline_a_lesson_stops_on_one_screen_that_says_what_to_do(tmp_path):
    import os
    import subprocess
    import sys
    url = f"http://127.0.0.1:{_closed_port()}/vgg16-397923af.pth"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VGG_COURSE_")}  # full mode
    env["TORCH_HOME"] = str(tmp_path / "torch")  # empty: no weights file
    done = subprocess.run([sys.executable, "-c", _OFFLINE_LESSON, url], capture_output=True,
                          text=True, cwd=tmp_path, env=env, timeout=300)
    assert done.returncode == 1 and done.stdout == ""
    shown = done.stderr
    lines = shown.splitlines()
    assert len(lines) <= 25, shown
    assert lines[0].startswith(f"Downloading vgg16-397923af.pth: 553.4 MB from {url} into "), shown
    assert "During handling" not in shown and "direct cause" not in shown  # no chained pages
    assert sum(line.startswith('  File "') for line in lines) <= 2, shown  # the cell, one kit frame
    error = shown[shown.index("vgg_course.weights.WeightsUnavailableError: "):]
    assert len(error.splitlines()) <= 15
    practice, install = error.index('vc.config.use("practice")'), error.index("weights install")
    assert practice < install  # the one-line switch comes first
    for fact in ("no restart", "python -m vgg_course weights install /path/to/vgg16-397923af.pth",
                 "553,433,881 bytes", "SHA-256 397923af8e79cdbb", "Connection refused"):
        assert fact in error, fact
    assert not (tmp_path / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth").exists()
    assert not list((tmp_path / "torch").rglob("*.part"))


def test_pretrained_loads_from_cache_through_state_dict_assign(monkeypatch, tmp_path, real_vgg16):
    # A cached file that passes verification is loaded into VGG16 without a random init.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = vw.cache_path()
    path.parent.mkdir(parents=True)
    # one distinct number per key, stored once (stride-0 views): a file of a few KB, not 528 MiB
    state = {k: torch.full((), float(i)).expand(v.shape)
             for i, (k, v) in enumerate(real_vgg16.state_dict().items())}
    torch.save(state, path)
    assert path.stat().st_size < 100_000
    sha = vc.downloads.sha256_file(path)
    monkeypatch.setitem(vw.KNOWN_FILES, path.name, (sha, path.stat().st_size))
    model = vc.models.load_vgg16(practice=False)
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value), key
    assert not any(p.is_meta for p in model.parameters())


def test_tiny_vgg_mirrors_vgg16_layout():
    tiny = vc.models.tiny_vgg(num_classes=3)
    with torch.device("meta"):
        real = vgg16()
    assert [type(m) for m in tiny.features] == [type(m) for m in real.features]
    assert [type(m) for m in tiny.classifier] == [type(m) for m in real.classifier]
    assert list(tiny.state_dict().keys()) == list(real.state_dict().keys())
    assert tiny.classifier[6].out_features == 3
    assert tiny(torch.randn(2, 3, 32, 32)).shape == (2, 3)
    assert vc.inspection.param_counts(tiny).total < 200_000
