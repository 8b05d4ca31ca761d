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


def test_every_precision_is_one_plan_and_an_unknown_one_is_refused():
    """One set of values: what plan() takes is what autocast_dtype and the edges take."""
    assert devices.PRECISIONS == ("auto", "fp32", "bf16", "int8")
    auto = devices.plan("cpu", "auto")
    assert devices.plan("cpu", "fp32").dtype is None and not devices.plan("cpu", "fp32").int8_prefix
    assert devices.plan("cpu", "bf16").dtype is torch.bfloat16
    # int8 trains as auto; only the cached pass is int8
    assert devices.autocast_dtype("cpu", "int8") == auto.dtype
    if vc.devices.int8_engine() is not None:
        int8 = devices.plan("cpu", "int8")
        assert int8.int8_prefix and int8.dtype == auto.dtype and int8.channels_last == auto.channels_last
        assert "int8 cached pass" in repr(int8)
    for bad in ("fp16", "FP32", "float32"):
        with pytest.raises(ValueError, match="precision must be one of"):
            devices.plan("cpu", bad)
        with pytest.raises(ValueError, match="precision must be one of"):
            vc.compare.Budget(precision=bad)


def test_int8_is_refused_at_every_edge_where_it_cannot_run(monkeypatch):
    """No int8 engine: plan, fit, cache, Budget and the CLI all refuse, naming the way out."""
    monkeypatch.setattr(vc.devices, "int8_engine", lambda: None)
    model = vc.models.tiny_vgg(2)
    model.features.requires_grad_(False)
    batches = [(torch.randn(2, 3, 32, 32), torch.tensor([0, 1]))]
    opt = torch.optim.SGD(model.classifier.parameters(), lr=0.1)
    refusals = [lambda: devices.plan("cpu", "int8"),
                lambda: vc.engine.fit(model, batches, batches, opt, epochs=1, device="cpu",
                                      precision="int8", progress=False),
                lambda: vc.engine.predict(model, batches, device="cpu", precision="int8"),
                lambda: vc.features.cache(model, batches, batches, device="cpu", precision="int8"),
                lambda: vc.compare.Budget(precision="int8")]
    for refuse in refusals:
        with pytest.raises(ValueError, match="int8 engine.*precision='auto'"):
            refuse()


def test_int8_is_refused_on_a_gpu(monkeypatch):
    monkeypatch.setattr(devices, "pick_device", lambda prefer=None: torch.device("cuda"))
    monkeypatch.setattr(vc.devices, "int8_engine", lambda: "x86")
    with pytest.raises(ValueError, match="runs on a CPU, not cuda.*precision='auto'"):
        devices.plan(None, "int8")


def test_a_ready_plan_is_used_as_it_is_and_not_mixed_with_strings():
    ready = devices.plan("cpu", "fp32")
    assert devices.resolve(None, "auto", ready) is ready
    assert devices.resolve("cpu", "bf16", None).dtype is torch.bfloat16
    with pytest.raises(ValueError, match="not both"):
        devices.resolve("cpu", "auto", ready)
    with pytest.raises(ValueError, match="not both"):
        devices.resolve(None, "bf16", ready)


@pytest.mark.parametrize("before", [True, False])
def test_applied_sets_cudnn_benchmark_for_the_block_and_restores_it(monkeypatch, before):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", before)
    gpu = devices.Plan(torch.device("cuda"), torch.bfloat16, True, "test")
    with devices.applied(gpu):
        assert torch.backends.cudnn.benchmark is True  # fixed-size crops: time the kernels once
    assert torch.backends.cudnn.benchmark is before
    with pytest.raises(KeyError), devices.applied(gpu):
        raise KeyError("an error inside the block")
    assert torch.backends.cudnn.benchmark is before
    with devices.applied(devices.plan("cpu", "fp32")):
        assert torch.backends.cudnn.benchmark is False
    assert torch.backends.cudnn.benchmark is before
