"""Tests for vgg_course.features: where to split, when caching is refused, and that it trains the same head."""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from torchvision import transforms as T

import vgg_course as vc
from vgg_course import engine, features


pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n: int, seed: int) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    return TensorDataset(torch.randn(n, 3, 32, 32, generator=g) + y.view(-1, 1, 1, 1) * 0.5, y)


def _loaders():
    return (DataLoader(_data(24, 0), batch_size=6, shuffle=True),
            DataLoader(_data(12, 1), batch_size=6))


def _tl_model(frozen_classifier_layers: int = 0) -> nn.Module:
    model = vc.models.tiny_vgg(2)
    model.features.requires_grad_(False)
    for layer in list(model.classifier)[:frozen_classifier_layers]:
        layer.requires_grad_(False)
    return model


class _Photos(Dataset):
    """An ImageFolder stand-in: PIL images through a transform."""

    def __init__(self, transform):
        self.transform = transform

    def __len__(self):
        return 4

    def __getitem__(self, i):
        from PIL import Image
        return self.transform(Image.new("RGB", (40, 40), (i * 40, 0, 0))), i % 2


def test_stages_chain_equals_the_model():
    model = vc.models.tiny_vgg(3).eval()
    x = torch.randn(2, 3, 32, 32)
    out = x
    for _, layer in vc.features.cacheable.stages(model):
        out = layer(out)
    torch.testing.assert_close(out, model(x), rtol=0, atol=0)
    with pytest.raises(TypeError, match="has its own forward"):
        vc.features.cacheable.stages(nn.Module())


def test_check_finds_the_longest_frozen_deterministic_prefix():
    assert repr(vc.features.cacheable.check(_tl_model(), [], [])) == (
        "CacheCheck(yes: cache features.0..flatten, train classifier.0..classifier.6)")
    # Only classifier.6 trains, but classifier.2 is a frozen Dropout: stop before it.
    checked = vc.features.cacheable.check(_tl_model(frozen_classifier_layers=6), [], [])
    assert checked.ok and checked.names[checked.boundary] == "classifier.2"


@pytest.mark.parametrize("make, reason", [
    (lambda: vc.models.tiny_vgg(2), "the first layer cannot be cached: features.0 is trainable"),
    (lambda: vc.models.tiny_vgg(2).requires_grad_(False), "every layer is frozen"),
    (lambda: nn.Sequential(nn.BatchNorm2d(3).requires_grad_(False), nn.Flatten(),
                           nn.LazyLinear(2)), "BatchNorm2d: in train mode it normalises"),
    (lambda: nn.Sequential(nn.Dropout(0.2), nn.Flatten(), nn.LazyLinear(2)),
     r"Dropout\(p=0.2\) that is active in train mode"),
    (lambda: nn.Module(), "has its own forward"),
])
def test_check_says_why_caching_is_impossible(make, reason):
    checked = vc.features.cacheable.check(make(), [], [])
    assert not checked.ok
    assert re.search(reason, checked.reason)


def test_random_augmentation_is_found_through_subset_and_compose():
    augmented = _Photos(T.Compose([T.RandomResizedCrop(32), T.RandomApply([T.ColorJitter()]),
                                   T.ToTensor()]))
    plain = _Photos(T.Compose([T.Resize(32), T.ToTensor()]))
    assert vc.features.cacheable.random_transforms(DataLoader(Subset(augmented, [0, 1]))) == [
        "ColorJitter", "RandomApply", "RandomResizedCrop"]
    assert vc.features.cacheable.random_transforms(DataLoader(plain)) == []
    checked = vc.features.cacheable.check(_tl_model(), DataLoader(augmented), DataLoader(plain))
    assert "training data has random augmentation (ColorJitter, RandomApply, " in checked.reason
    checked = vc.features.cacheable.check(_tl_model(), DataLoader(plain), DataLoader(augmented))
    assert "validation data has random augmentation" in checked.reason


def _fit(model, train, val, opt, epochs=3, **kwargs):
    return engine.fit(model, train, val, opt, epochs=epochs, device="cpu", precision="fp32",
                      seed=7, progress=False, **kwargs)


@pytest.mark.parametrize("frozen_classifier_layers", [0, 6])
def test_cached_training_gives_the_same_head_as_the_uncached_loop(frozen_classifier_layers):
    """The oracle is the plain loop: same seed, same batches, same dropout draws, fp32."""
    heads, histories = [], []
    for cache in (False, True):
        model = _tl_model(frozen_classifier_layers)
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05,
                              momentum=0.9)
        train, val = _loaders()
        if cache:  # the head is the model's own layers: training it trains the model
            cached = features.cache(model, train, val, device="cpu", precision="fp32")
            assert str(cached).startswith("features cached: ") and repr(cached) == str(cached)
            train, val, net = cached.train, cached.val, cached.head
        else:
            net = model
        histories.append(_fit(net, train, val, opt))
        heads.append(model.classifier.state_dict())
    uncached, cached = histories
    for key in heads[0]:
        torch.testing.assert_close(heads[1][key], heads[0][key], rtol=1e-5, atol=1e-6, msg=key)
    assert [r.val_accuracy for r in cached.records] == [r.val_accuracy for r in uncached.records]
    for a, b in zip(cached.records, uncached.records):
        assert a.train_loss == pytest.approx(b.train_loss, rel=1e-5)


def test_one_cache_trains_several_heads_on_the_batches_of_the_uncached_loop():
    import copy

    model = _tl_model()
    _, val = _loaders()
    # a loader with its own shuffling generator, as vc.data.make_loaders builds them
    train = DataLoader(_data(24, 0), batch_size=6, shuffle=True,
                       generator=torch.Generator().manual_seed(3))
    cached = features.cache(model, train, val, device="cpu", precision="fp32")
    assert cached.train.generator is train.generator
    runs = []
    for _ in range(2):
        head = copy.deepcopy(cached.head)
        opt = torch.optim.SGD(head.parameters(), lr=0.05, momentum=0.9)
        history = _fit(head, cached.train, cached.val, opt)
        runs.append(([r.train_loss for r in history.records], head.state_dict()))
    oracle = copy.deepcopy(model)  # uncached
    opt = torch.optim.SGD([p for p in oracle.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
    plain = _fit(oracle, train, val, opt)
    assert runs[0][0] == runs[1][0]
    assert runs[0][0] == pytest.approx([r.train_loss for r in plain.records], rel=1e-5)
    for key, value in oracle.classifier.state_dict().items():  # head = classifier.0..6
        torch.testing.assert_close(runs[0][1][key], value, rtol=1e-5, atol=1e-6, msg=key)


def test_a_cached_run_checkpoints_and_resumes_like_an_uninterrupted_one(tmp_path):
    def start():
        model = _tl_model()
        opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05,
                              momentum=0.9)
        train, val = _loaders()
        return model, opt, features.cache(model, train, val, device="cpu", precision="fp32")

    model, opt, cached = start()
    full = _fit(cached.head, cached.train, cached.val, opt, epochs=4)
    model, opt, cached = start()
    _fit(cached.head, cached.train, cached.val, opt, epochs=2, checkpoint=tmp_path)
    model, opt, cached = start()  # a new process: the same model, cached again
    resumed = _fit(cached.head, cached.train, cached.val, opt, epochs=4, checkpoint=tmp_path,
                   resume=True)
    assert [r.val_loss for r in resumed.records] == [r.val_loss for r in full.records]
    assert "resumed after epoch 2" in resumed.notes[0]
    fresh, _, again = start()
    state = vc.checkpoints.load(again.head, tmp_path / "best.pt")  # the head: fresh's own layers
    assert state["trained"] == [f"{i}.{w}" for i in (0, 3, 6) for w in ("bias", "weight")]
    assert torch.equal(fresh.classifier[6].weight, state["model"]["6.weight"])  # head = classifier


def test_cache_refuses_loudly_and_bf16_extraction_is_close_to_fp32():
    with pytest.raises(ValueError, match="Feature caching is not possible: the first layer"):
        features.cache(vc.models.tiny_vgg(2), [], [])
    model = _tl_model()
    train, val = _loaders()
    fp32 = features.cache(model, train, val, device="cpu", precision="fp32")
    bf16 = features.cache(model, train, val, device="cpu", precision="bf16")
    assert fp32.train.features.shape == (24, 32 * 7 * 7) and fp32.precision == "fp32"
    assert bf16.precision == "bfloat16" and bf16.train.features.dtype is torch.float32
    err = (bf16.train.features - fp32.train.features).norm() / fp32.train.features.norm()
    assert 0 < err < 0.02  # bf16 keeps ~3 significant digits
    assert torch.equal(fp32.train.labels, train.dataset.tensors[1])  # index order, not shuffled
    assert len(fp32.train) == len(train) and "ran once (fp32" in str(fp32)


def test_cached_loader_replays_a_list_of_batches():
    model = _tl_model()
    batches = [(torch.randn(3, 3, 32, 32), torch.tensor([0, 1, 0])),
               (torch.randn(2, 3, 32, 32), torch.tensor([1, 1]))]
    cached = features.cache(model, batches, batches, device="cpu", precision="fp32")
    got = list(cached.train)
    assert [len(y) for _, y in got] == [3, 2] and got[1][1].tolist() == [1, 1]
    model.eval()
    with torch.no_grad():
        expected = torch.flatten(model.avgpool(model.features(batches[1][0])), 1)
    torch.testing.assert_close(got[1][0], expected)


def test_squeezenet_transfer_learning_is_cached_and_matches_its_forward():
    from torchvision.models import squeezenet1_1

    torch.manual_seed(0)
    model = squeezenet1_1(weights=None, num_classes=2).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.classifier[1].parameters():
        p.requires_grad_(True)
    chain = vc.features.cacheable.stages(model)
    x = torch.randn(2, 3, 64, 64)
    out = x
    for _, layer in chain:
        out = layer(out)
    torch.testing.assert_close(out, model(x))
    names = [n for n, _ in chain]
    assert names[-1] == "flatten" and "classifier.1" in names
    assert "features.12" in names
    verdict = vc.features.cacheable.check(model, [], [])
    assert "features.0..features.12" in repr(verdict) and "classifier.0" in repr(verdict), repr(verdict)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_frozen_dropout_layers_run_once_an_epoch_with_the_uncached_loops_masks(precision):
    """Transfer learning on VGG: classifier.2..5 (dropout, frozen fc7, dropout) sit between the
    cache and the trained head. They run over the whole epoch at once in the train loader, with
    the masks the plain loop draws batch by batch, and once (eval mode) for validation."""
    results = []
    for cache in (False, True):
        model = _tl_model(frozen_classifier_layers=6)
        opt = torch.optim.SGD(model.classifier[6].parameters(), lr=0.05, momentum=0.9)
        train, val = _loaders()
        net = model
        if cache:
            cached = features.cache(model, train, val, device="cpu", precision=precision)
            assert cached.check.names[cached.head_start] == "classifier.6"
            assert [type(m) for m in cached.head] == [nn.Linear]
            assert "classifier.2..classifier.5 (frozen, with dropout) run once an epoch" in str(cached)
            assert set(cached.timings) == {"decode", "extract"}
            net, train, val = cached.head, cached.train, cached.val
        history = engine.fit(net, train, val, opt, epochs=3, device="cpu", precision=precision,
                             seed=7, progress=False)
        results.append((history, model.classifier[6].state_dict()))
    (plain, plain_head), (fast, fast_head) = results
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if precision == "fp32" else {"rtol": 1e-2, "atol": 1e-3}
    for key in plain_head:
        torch.testing.assert_close(fast_head[key], plain_head[key], **tolerance, msg=key)
    assert [r.train_loss for r in fast.records] == pytest.approx(
        [r.train_loss for r in plain.records], rel=tolerance["rtol"])
    assert [r.val_accuracy for r in fast.records] == [r.val_accuracy for r in plain.records]


def test_frozen_dropout_layers_stay_in_the_head_when_the_head_draws_random_numbers_too():
    # partial fine-tuning of fc6 keeps the classifier's dropout after a trainable layer:
    # masks and the head's own dropout would interleave, so nothing moves out of the head
    model = _tl_model(frozen_classifier_layers=0)
    train, val = _loaders()
    cached = features.cache(model, train, val, device="cpu", precision="fp32")
    assert cached.head_start == cached.check.boundary
    layers = [nn.Dropout(), nn.Linear(4, 4).requires_grad_(False), nn.Dropout(), nn.Linear(4, 2),
              nn.Dropout()]
    named = [(str(i), m) for i, m in enumerate(layers)]
    assert vc.features.segment.span(named, 0, (nn.Linear,)) == 0  # the last Dropout follows the head
    assert vc.features.segment.span(named[:4], 0, (nn.Linear,)) == 3
    assert vc.features.segment.span([(n, m) for n, m in named[:4] if n != "1"], 0, (nn.Linear,)) == 0  # no weights


@pytest.mark.parametrize("before", [True, False])
def test_cache_resolves_one_plan_and_leaves_no_global_flag_flipped(monkeypatch, before):
    """One plan for the prefix's pass, the frozen dropout segment and the head; cudnn.benchmark
    is the plan's while the pass runs (off on a CPU) and as it was after."""
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", before)
    calls, real = [], vc.devices.plan
    monkeypatch.setattr(vc.devices, "plan", lambda *args: calls.append(args) or real(*args))
    model = _tl_model(frozen_classifier_layers=6)  # a frozen dropout segment after the prefix
    seen = []
    model.features[0].register_forward_hook(lambda *_: seen.append(torch.backends.cudnn.benchmark))
    train, val = _loaders()
    cached = features.cache(model, train, val, device="cpu", precision="fp32")
    assert calls == [("cpu", "fp32")] and cached.head_start > cached.check.boundary
    assert torch.backends.cudnn.benchmark is before and seen and set(seen) == {False}
    ready = real("cpu", "bf16")
    assert features.cache(model, train, val, plan=ready).precision == "bfloat16"
    assert len(calls) == 1  # a ready plan is used as it is
    with pytest.raises(ValueError, match="cache\\(\\), which makes the int8 copy"):
        features.caching.extract(model.features, train, ready.__class__(
            ready.device, None, False, "test", int8_prefix=True))
