"""Tests for vgg_course.devices: device, precision and layout choice, peak memory."""

from __future__ import annotations

import sys

import pytest
import torch

import vgg_course as vc
from vgg_course import devices

AVX2_LAPTOP = "processor\t: 0\nflags\t\t: fpu sse sse2 avx avx2 fma\n"
ZEN4 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"


@pytest.mark.parametrize("text, expected", [(AVX2_LAPTOP, None), (ZEN4, "avx512_bf16"),
                                            (SAPPHIRE_RAPIDS, "amx_bf16")])
def test_bf16_hardware_read_from_cpuinfo_flags(tmp_path, monkeypatch, text, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    monkeypatch.setattr(devices, "_CPUINFO", cpuinfo)
    devices.cpu_bf16_hardware.cache_clear()
    try:
        assert devices.cpu_bf16_hardware() == expected
        assert devices.autocast_dtype("cpu") == (torch.bfloat16 if expected else None)
        chosen = devices.plan("cpu")
        assert chosen.channels_last is (expected is not None)
        assert ("no bf16 hardware" in chosen.reason) is (expected is None)
    finally:
        devices.cpu_bf16_hardware.cache_clear()


def test_forced_precisions_and_bad_precision():
    assert devices.autocast_dtype("cpu", "fp32") is None
    assert devices.autocast_dtype("cpu", "bf16") is torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        devices.autocast_dtype("cpu", "fp16")
    assert repr(devices.plan("cpu", "fp32")) == "Plan(cpu, fp32, NCHW: fp32 was asked for)"


def test_pick_device():
    assert devices.pick_device("cpu") == torch.device("cpu")
    best = devices.pick_device()
    if torch.cuda.is_available():
        assert best.type == "cuda"
    else:
        assert best.type in {"mps", "cpu"}
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            devices.pick_device("cuda")


def test_autocast_context_follows_the_dtype():
    lin = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with devices.autocast("cpu", torch.bfloat16):
        assert lin(x).dtype is torch.bfloat16
    with devices.autocast("cpu", None):
        assert lin(x).dtype is torch.float32


def test_prepare_and_to_device_use_channels_last_with_bf16():
    model = vc.models.tiny_vgg(2)
    chosen = devices.Plan(torch.device("cpu"), torch.bfloat16, True, "test")
    devices.prepare(model, chosen)
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    x = devices.to_device(torch.randn(2, 3, 32, 32), chosen)
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert devices.to_device(torch.tensor([1, 0]), chosen).shape == (2,)  # labels untouched


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_sees_a_large_allocation():
    # In a fresh process: in this one, earlier tests leave freed memory resident that the
    # allocator may reuse, so a new block would not raise the high-water mark.
    import subprocess

    code = (
        "import torch; from vgg_course import devices\n"
        "peak = devices.PeakMemory(torch.device('cpu')); before = peak.read()\n"
        "block = torch.ones(256 * 2**20 // 4)  # 256 MiB, written so the pages are resident\n"
        "print(peak.read() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) >= 250 * 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_peak_memory_trackers_nest():
    # fit() tracks each epoch inside a comparison that tracks the whole recipe: the inner
    # tracker's reset must not hide the outer stretch's earlier peak.
    import subprocess

    code = (
        "import torch; from vgg_course import devices\n"
        "outer = devices.PeakMemory('cpu'); base = outer.read()\n"
        "block = torch.ones(256 * 2**20 // 4); del block  # a 256 MiB peak, then freed\n"
        "inner = devices.PeakMemory('cpu')  # resets the process-wide high-water mark\n"
        "print(outer.read() - base, inner.read() - base, outer.gpu_peak())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    outer_growth, inner_growth, gpu = out.stdout.split()
    assert int(outer_growth) >= 250 * 2**20
    assert int(inner_growth) < 100 * 2**20
    assert gpu == "None"
