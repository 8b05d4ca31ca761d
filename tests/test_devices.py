"""Tests for vgg_course.devices: device, precision and layout choice."""

from __future__ import annotations

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
