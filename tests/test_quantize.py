"""Tests for vgg_course.features.quantize and int8 feature caching: close to fp32, original untouched."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torchvision.datasets import ImageFolder

import vgg_course as vc
from vgg_course import companion, devices, engine, features, imagenet
from vgg_course.features import quantize

pytestmark = [pytest.mark.usefixtures("one_thread"),
              pytest.mark.skipif(devices.int8_engine() is None,
                                 reason="no int8 backend here (vc.devices.int8_engine())")]


def _loaders():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(36) % 2
    x = torch.randn(36, 3, 32, 32, generator=g) + y.view(-1, 1, 1, 1)
    return (DataLoader(TensorDataset(x[:24], y[:24]), batch_size=6, shuffle=True),
            DataLoader(TensorDataset(x[24:], y[24:]), batch_size=6))


def _tl_model():
    model = vc.models.tiny_vgg(2)
    model.features.requires_grad_(False)
    return model


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


@pytest.fixture(scope="module")
def tiny_int8():
    """VGG16's 13 convs at tiny widths, its fp32 state and its int8 copy (compiled once)."""
    prefix = vc.models.tiny_vgg(2).features.eval().requires_grad_(False)
    before = {k: v.clone() for k, v in prefix.state_dict().items()}
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the tests run it (one_thread): a compile is per thread count
    try:
        return prefix, before, x, quantize.int8_copy(prefix, x[:8])
    finally:
        torch.set_num_threads(threads)


def _kernels(module: nn.Module, x: torch.Tensor) -> list[str]:
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        module(x)
    return [event.name for event in prof.events()]


def test_int8_copy_is_close_to_fp32_and_leaves_the_original_alone(tiny_int8):
    prefix, before, x, quantized = tiny_int8
    with torch.inference_mode():
        got, expected = quantized(x), prefix(x)
    assert got.dtype is torch.float32 and got.shape == expected.shape
    assert 0 < _relative_error(got, expected) < 0.06  # measured 0.023; 8-bit steps, not exact
    cosine = nn.functional.cosine_similarity(got.flatten(1), expected.flatten(1))
    assert cosine.min() > 0.99  # measured 0.9996 for every image
    assert all(type(m).__module__.startswith("torch.nn.modules") for m in prefix.modules())
    for key, value in prefix.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert quantized.eval() is quantized and not quantized.training  # extract() calls eval()
    with pytest.raises(RuntimeError, match="only runs inference"):
        quantized.train()


def test_every_conv_runs_as_one_int8_kernel(tiny_int8):
    prefix, _, x, quantized = tiny_int8
    kernels = _kernels(quantized, x)
    assert kernels.count("onednn::qconv_pointwise") == 13, sorted(set(kernels))
    assert not {"aten::conv2d", "aten::convolution"} & set(kernels)
    assert "aten::convolution" in _kernels(prefix, x)  # the oracle: fp32 convs look like this


def test_one_int8_copy_serves_every_batch_size_row_by_row(tiny_int8):
    _, _, x, quantized = tiny_int8
    with torch.inference_mode():
        whole = quantized(x)
        parts = torch.cat([quantized(x[:1]), quantized(x[1:8]), quantized(x[8:])])
    torch.testing.assert_close(parts, whole)  # per-tensor scales: images never mix
    with torch.no_grad():  # an ordinary tensor outside inference mode gives the same
        torch.testing.assert_close(quantized(x.clone()), whole)


def test_a_probe_trained_on_fp32_features_reads_int8_features_the_same_way(tiny_int8):
    """The head trains on cached features: fp32's decision boundary must hold on int8's."""
    prefix, _, _, quantized = tiny_int8
    g = torch.Generator().manual_seed(1)
    y = torch.arange(64) % 2
    x = torch.randn(64, 3, 32, 32, generator=g) * 0.5 + y.view(-1, 1, 1, 1) * 0.5
    with torch.inference_mode():
        fp32, int8 = prefix(x).flatten(1), quantized(x).flatten(1)
    probe = nn.Linear(fp32.shape[1], 2)
    opt = torch.optim.SGD(probe.parameters(), lr=0.5)
    for _ in range(200):  # logistic regression, full batch
        opt.zero_grad()
        nn.functional.cross_entropy(probe(fp32.clone()), y).backward()
        opt.step()
    with torch.no_grad():
        on_fp32, on_int8 = probe(fp32.clone()).argmax(1), probe(int8.clone()).argmax(1)
    assert (on_fp32 == y).float().mean() > 0.9  # the probe learned something to agree on
    assert (on_int8 == on_fp32).float().mean() >= 0.95  # measured 63 of 64


def test_int8_copy_warns_nothing():
    """No deprecated call on the way: DeprecationWarning, FutureWarning, UserWarning are errors.

    The prefix is shaped like VGG16's for transfer learning: convs, pooling, then a frozen
    linear layer (int8 linear layers would warn from inside torch 2.14's compiler)."""
    prefix = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                           nn.Linear(4 * 7 * 7, 8), nn.ReLU())
    prefix.eval().requires_grad_(False)
    x = torch.randn(4, 3, 16, 16)
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning, UserWarning):
            warnings.simplefilter("error", category)
        quantized = quantize.int8_copy(prefix, x)
        got = quantized(x)
    assert 0 < _relative_error(got, prefix(x)) < 0.06
    kernels = _kernels(quantized, x)
    assert "onednn::qconv_pointwise" in kernels and "onednn::qlinear_pointwise" not in kernels


def test_int8_is_offered_only_with_the_releases_it_was_tested_with(monkeypatch):
    releases = {"torch": "2.14.1", "torchao": "0.18.0"}
    monkeypatch.setattr(devices, "version", releases.__getitem__)
    assert devices.int8_engine() == "x86"
    for name, older in (("torch", "2.10.0+cu128"), ("torch", "2.13.0+cpu"), ("torchao", "0.10.0")):
        with monkeypatch.context() as m:
            m.setitem(releases, name, older)
            assert devices.int8_engine() is None, releases
    monkeypatch.setenv("CXX", "no-such-compiler")
    assert devices.int8_engine() is None
    with pytest.raises(RuntimeError, match="no int8 backend"):
        quantize.int8_copy(nn.Conv2d(3, 4, 3).requires_grad_(False), torch.randn(2, 3, 8, 8))


def test_only_frozen_layers_are_quantized():
    with pytest.raises(ValueError, match="quantized; 0.weight is trainable"):
        quantize.int8_copy(vc.models.tiny_vgg(2).features, torch.randn(2, 3, 32, 32))


def test_calibration_images_cover_the_dataset_not_its_first_class():
    train, _ = _loaders()
    batch = quantize.calibration_batch(train, n=8)
    expected = train.dataset.tensors[0][[0, 3, 7, 10, 13, 16, 20, 23]]
    assert torch.equal(batch, expected)
    batches = [(torch.zeros(3, 1), torch.zeros(3)), (torch.ones(3, 1), torch.zeros(3))]
    assert quantize.calibration_batch(batches, n=4).flatten().tolist() == [0, 0, 0, 1]
    with pytest.raises(ValueError, match="no batches"):
        quantize.calibration_batch([])


def test_int8_cache_uses_one_copy_for_train_and_val(monkeypatch):
    calls = []
    real = quantize.int8_copy
    monkeypatch.setattr(quantize, "int8_copy", lambda *a: calls.append(1) or real(*a))
    model = _tl_model()
    train, val = _loaders()
    fp32 = features.cache(model, train, val, device="cpu", precision="fp32")
    int8 = features.cache(model, train, val, device="cpu", precision="int8")
    assert len(calls) == 1 and int8.precision == "int8" and "ran once (int8" in str(int8)
    for split in ("train", "val"):
        got, expected = getattr(int8, split).features, getattr(fp32, split).features
        assert got.dtype is torch.float32 and 0 < _relative_error(got, expected) < 0.06
    assert torch.equal(int8.train.labels, fp32.train.labels)


def test_fit_trains_the_head_on_int8_features_as_it_does_on_fp32_ones():
    """Oracle: the same run cached in fp32. The head trains in fp32 on both."""
    histories, frozen = [], None
    for cache_precision in ("fp32", "int8"):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten(), nn.Linear(8, 2))
        model[0].requires_grad_(False)
        frozen = frozen or {k: v.clone() for k, v in model[0].state_dict().items()}
        opt = torch.optim.SGD(model[4].parameters(), lr=0.1, momentum=0.9)
        train, val = _loaders()
        cached = features.cache(model, train, val, device="cpu", precision=cache_precision)
        assert f"ran once ({cache_precision}" in str(cached)
        histories.append(engine.fit(cached.head, cached.train, cached.val, opt, epochs=4,
                                    device="cpu", precision="fp32", progress=False))
        for key, value in model[0].state_dict().items():
            assert torch.equal(value, frozen[key]), key  # the fp32 model, not a quantized one
    fp32, int8 = histories
    assert int8.precision == "fp32"
    assert int8.records[-1].val_accuracy == fp32.records[-1].val_accuracy == 1.0
    for a, b in zip(int8.records, fp32.records):
        assert a.train_loss == pytest.approx(b.train_loss, rel=0.02)  # measured within 0.24%


def test_int8_extraction_is_cpu_only(monkeypatch):
    monkeypatch.setattr(vc.devices, "pick_device", lambda prefer=None: torch.device("cuda"))
    train, val = _loaders()
    with pytest.raises(ValueError, match="int8 feature extraction runs on a CPU, not cuda"):
        features.cache(_tl_model(), train, val, precision="int8")


@pytest.mark.slow
@pytest.mark.photos
def test_int8_squeezenet_keeps_its_imagenet_accuracy_on_the_photos(photos_dir):
    """Real weights, real photos: the whole pretrained network as an int8 copy."""
    model = companion.load_squeezenet().eval().requires_grad_(False)
    transform = companion.WEIGHTS.transforms()
    train = DataLoader(ImageFolder(photos_dir / "train", transform=transform), batch_size=32)
    val = DataLoader(ImageFolder(photos_dir / "val", transform=transform), batch_size=32)
    int8 = quantize.int8_copy(model, quantize.calibration_batch(train))
    fp32_result, int8_result = imagenet.known_classes(model, val), imagenet.known_classes(int8, val)
    # measured: fp32 95.4% (66/70, 80/83), int8 96.1% (67/70, 80/83)
    assert int8_result.accuracy >= fp32_result.accuracy - 0.02, (fp32_result, int8_result)


def test_ceil_mode_pools_keep_their_output_size():
    """SqueezeNet pools with ceil_mode=True: 227 px gives 14x14 features, and so must int8."""
    prefix = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True),
                           nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                           nn.MaxPool2d(3, 2, ceil_mode=True)).eval().requires_grad_(False)
    x = torch.randn(4, 3, 59, 59, generator=torch.Generator().manual_seed(0))
    reference, int8 = prefix(x), quantize.int8_copy(prefix, x)(x)
    assert int8.shape == reference.shape == (4, 8, 7, 7)  # the int8 max-pool kernel gave 6x6
    cosine = torch.nn.functional.cosine_similarity(int8.flatten(1), reference.flatten(1))
    assert cosine.min() > 0.99


def test_one_int8_plan_caches_in_int8_and_trains_the_head_at_autos_dtype():
    """The lab's path: one plan, resolved once, for the cached pass and for fit."""
    chosen = vc.devices.plan("cpu", "int8")
    model = _tl_model()
    opt = torch.optim.SGD(model.classifier[6].parameters(), lr=0.05, momentum=0.9)
    train, val = _loaders()
    before = model.classifier[6].weight.detach().clone()
    cached = features.cache(model, train, val, plan=chosen)
    history = engine.fit(cached.head, cached.train, cached.val, opt, epochs=2, plan=chosen,
                         progress=False)
    assert cached.precision == "int8" and "calibrate" in cached.timings
    assert history.precision == vc.devices.plan("cpu", "auto").precision
    assert not torch.equal(model.classifier[6].weight, before)  # the model's own head trained
    assert all(r.train_loss == r.train_loss for r in history.records)  # no NaN


def _records(logger_name: str, msg: str, *args: object) -> list[logging.LogRecord]:
    """What a handler of ``logger_name`` receives when it logs ``msg % args`` (a logger's
    filters run before its handlers, and before torch's handler that writes to stderr)."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        logger.warning(msg, *args)
    finally:
        logger.removeHandler(handler)
    return seen


def test_exactly_the_known_benign_torch_log_records_are_dropped_and_only_inside():
    class KernelPreference:  # stands in for torchao's enum (its repr names the class)
        def __repr__(self) -> str:
            return "<enum 'KernelPreference'>"

    pytree_msg = ("%s is an Enum subclass and is now natively supported by torch.compile as an "
                  "opaque value type. Calling register_constant() on Enum subclasses is deprecated")
    cuda_msg = "No CUDA runtime is found, using CUDA_HOME='%s'"
    before = {name: list(logging.getLogger(name).filters)
              for name, *_ in quantize.BENIGN_TORCH_LOGS}
    with quantize.benign_torch_logs_silenced():
        assert _records("torch.utils._pytree", pytree_msg, KernelPreference()) == []
        assert _records("torch.utils.cpp_extension", cuda_msg, "/usr/local") == []
        # the same logger's other records, another enum, and other loggers still get through
        assert len(_records("torch.utils._pytree", pytree_msg, "<enum 'OtherEnum'>")) == 1
        assert len(_records("torch.utils.cpp_extension", "Error building extension %s", "x")) == 1
        assert len(_records("torch._inductor", cuda_msg, "/usr/local")) == 1
    assert {name: list(logging.getLogger(name).filters) for name in before} == before
    assert len(_records("torch.utils.cpp_extension", cuda_msg, "/usr/local")) == 1  # restored


@pytest.mark.slow
def test_a_fresh_int8_copy_writes_nothing_to_stderr():
    """In a new process (torchao's import warns once per process), with torch's own handler."""
    script = textwrap.dedent("""
        import torch
        from torch import nn
        from vgg_course.features import quantize

        torch.set_num_threads(1)
        prefix = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval().requires_grad_(False)
        x = torch.randn(4, 3, 16, 16)
        quantized = quantize.int8_copy(prefix, x)
        print(tuple(quantized(x).shape))
        import logging
        logging.getLogger("torch.utils.cpp_extension").warning("No CUDA runtime is found, after")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(4, 4, 14, 14)")
    # the only line on stderr is the one logged after the int8 copy: silenced inside, not after
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].endswith("] No CUDA runtime is found, after"), (
        result.stderr[-2000:])
