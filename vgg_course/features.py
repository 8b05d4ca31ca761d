"""Feature caching for frozen backbones: compute the frozen part once, train the rest.

When every layer up to some point is frozen and gives the same output for the same image
every time, running it again each epoch is wasted work -- for VGG16 it is nearly all the
work. ``check()`` finds that frozen prefix (and says in words why caching is impossible
when it is), ``cache()`` runs it once under ``torch.inference_mode()`` in the fast
precision and returns the remaining layers (``head``) with loaders over the stored tensors;
``vc.engine.fit(cached.head, cached.train, cached.val, optimizer, epochs=...)`` trains them,
with the same batches in the same order as the uncached loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler, Subset
from torchvision.models import VGG, SqueezeNet
from torchvision.models.squeezenet import Fire

from vgg_course import data, devices, quantize, segment

# Layers whose output depends only on their input and weights, in train mode as in eval mode.
_DETERMINISTIC = (nn.Conv2d, nn.Linear, nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Sigmoid,
                  nn.Tanh, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                  nn.AdaptiveMaxPool2d, nn.Flatten, nn.Identity, nn.Softmax, nn.LayerNorm,
                  Fire)  # Fire: squeeze 1x1 -> ReLU -> concat(expand 1x1, expand 3x3), no randomness
# Transform class names that draw random numbers (torchvision v1 and v2).
_RANDOM_TRANSFORMS = ("ColorJitter", "AutoAugment", "RandAugment", "TrivialAugmentWide",
                      "AugMix", "GaussianBlur", "ElasticTransform", "GaussianNoise")


def stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model as an ordered list of ``(name, layer)`` whose chain equals ``model(x)``.

    Knows torchvision's ``VGG`` (``features`` -> ``avgpool`` -> flatten -> ``classifier``),
    ``SqueezeNet`` (``features`` -> ``classifier`` -> flatten) and ``nn.Sequential``.

    Raises:
        TypeError: any other model (its ``forward`` could do anything).

    Example:
        >>> import vgg_course as vc
        >>> [name for name, _ in stages(vc.models.tiny_vgg(2))][30:34]
        ['features.30', 'avgpool', 'flatten', 'classifier.0']
    """
    if isinstance(model, VGG) and type(model).forward is VGG.forward:
        return ([(f"features.{i}", m) for i, m in enumerate(model.features)]
                + [("avgpool", model.avgpool), ("flatten", nn.Flatten(1))]
                + [(f"classifier.{i}", m) for i, m in enumerate(model.classifier)])
    if isinstance(model, SqueezeNet) and type(model).forward is SqueezeNet.forward:
        # SqueezeNet.forward: features -> classifier -> flatten
        return ([(f"features.{i}", m) for i, m in enumerate(model.features)]
                + [(f"classifier.{i}", m) for i, m in enumerate(model.classifier)]
                + [("flatten", nn.Flatten(1))])
    if type(model) is nn.Sequential:
        return [(name, m) for name, m in model.named_children()]
    raise TypeError(f"Feature caching knows how to split torchvision's VGG, SqueezeNet and nn.Sequential "
                    f"models; {type(model).__name__} has its own forward().")


def _why_not_cacheable(name: str, layer: nn.Module) -> str | None:
    """Why ``layer`` cannot be part of the cached prefix, or ``None`` when it can."""
    trainable = [n for n, p in layer.named_parameters() if p.requires_grad]
    if trainable:
        return f"{name} is trainable"
    for sub_name, sub in layer.named_modules():
        where = f"{name}.{sub_name}".rstrip(".")
        if isinstance(sub, nn.modules.dropout._DropoutNd) and sub.p > 0:
            return (f"{where} is a frozen {type(sub).__name__}(p={sub.p}) that is active in "
                    "train mode (it drops different units every batch)")
        if isinstance(sub, nn.modules.batchnorm._BatchNorm):
            return (f"{where} is a frozen {type(sub).__name__}: in train mode it normalises "
                    "with each batch's statistics and updates its running ones")
        if not isinstance(sub, (*_DETERMINISTIC, nn.Sequential, nn.modules.dropout._DropoutNd)):
            return f"{where} is a {type(sub).__name__}, not known to be deterministic"
    return None


def _transforms(dataset: Dataset) -> list[object]:
    """The transform objects a dataset applies, looking through Subset and Compose."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    found, todo = [], [getattr(dataset, a, None) for a in ("transform", "transforms",
                                                          "target_transform")]
    while todo:
        t = todo.pop()
        if t is None:
            continue
        found.append(t)
        for attr in ("transforms", "transform"):  # Compose, RandomApply, StandardTransform
            inner = getattr(t, attr, None)
            if isinstance(inner, (list, tuple)):
                todo.extend(inner)
            elif inner is not None and inner is not t:
                todo.append(inner)
    return found


def random_transforms(loader: Iterable) -> list[str]:
    """Names of the random augmentations a loader's dataset applies (empty when none).

    Example:
        >>> from torchvision import transforms as T
        >>> class Photos(torch.utils.data.Dataset):
        ...     transform = T.Compose([T.RandomHorizontalFlip(), T.ToTensor()])
        >>> random_transforms(DataLoader(Photos()))
        ['RandomHorizontalFlip']
    """
    dataset = getattr(loader, "dataset", None)
    if dataset is None:
        return []
    names = [type(t).__name__ for t in _transforms(dataset)]
    return sorted({n for n in names if n.startswith("Random") or n in _RANDOM_TRANSFORMS})


@dataclass(frozen=True)
class CacheCheck:
    """Whether feature caching is possible for a model and its data, and where to split."""

    boundary: int            # layers [0, boundary) form the cached prefix
    names: tuple[str, ...]   # every stage's name, in order
    reason: str | None       # why caching is impossible, or None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def __repr__(self) -> str:
        if not self.ok:
            return f"CacheCheck(no: {self.reason})"
        return (f"CacheCheck(yes: cache {self.names[0]}..{self.names[self.boundary - 1]}, "
                f"train {self.names[self.boundary]}..{self.names[-1]})")


def check(model: nn.Module, train_loader: Iterable, val_loader: Iterable) -> CacheCheck:
    """Find the longest frozen, deterministic prefix of ``model`` and check the data allows it.

    Example:
        >>> import vgg_course as vc
        >>> model = vc.models.tiny_vgg(2)
        >>> model.features.requires_grad_(False)  # doctest: +ELLIPSIS
        Sequential(...)
        >>> check(model, [], [])
        CacheCheck(yes: cache features.0..flatten, train classifier.0..classifier.6)
    """
    try:
        named = stages(model)
    except TypeError as err:
        return CacheCheck(0, (), str(err))
    names = tuple(n for n, _ in named)
    if not any(p.requires_grad for p in model.parameters()):
        return CacheCheck(0, names, "every layer is frozen: there is nothing to train")
    boundary, stop = 0, None
    for name, layer in named:
        stop = _why_not_cacheable(name, layer)
        if stop:
            break
        boundary += 1
    if boundary == 0:
        return CacheCheck(0, names, f"the first layer cannot be cached: {stop}")
    for role, loader in (("training", train_loader), ("validation", val_loader)):
        if not isinstance(loader, (DataLoader, list, tuple)):
            return CacheCheck(boundary, names, f"the {role} loader is a {type(loader).__name__}; "
                              "caching needs a DataLoader (or a list of batches)")
        augment = random_transforms(loader)
        if augment:
            return CacheCheck(boundary, names, (
                f"the {role} data has random augmentation ({', '.join(augment)}): every "
                "epoch sees different pixels, so the frozen layers' output changes too. "
                "Train on weights.transforms() alone to cache, or keep the augmentation "
                "and train uncached"))
    return CacheCheck(boundary, names, None)


def prefix_key(model: nn.Module, checked: CacheCheck) -> tuple:
    """Identifies a cached prefix: where it ends and a fingerprint of its weights.

    Two models with the same key (copies of one starting model, frozen in the same place)
    share one caching pass (``Cached.with_head_of``).
    """
    named = stages(model)
    end = segment.span(named, checked.boundary, _DETERMINISTIC)  # frozen layers after it too
    return (checked.boundary, end, tuple(round(float(p.double().sum()), 6)
                                         for _, m in named[:end] for p in m.parameters()))


class _Indices(Dataset):
    """Dataset whose items are their own indices: replays a loader's sampling order."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


class CachedLoader:
    """Batches of cached features in the order the original loader would have drawn them.

    The original ``DataLoader``'s own sampler (and generator) picks the indices through an
    index-only twin loader, so shuffling consumes the random generator exactly as the
    uncached loop does -- that is what makes cached and uncached training agree.
    """

    def __init__(self, loader: Iterable, features: torch.Tensor, labels: torch.Tensor,
                 frozen: segment.FrozenSegment | None = None) -> None:
        self.features, self.labels, self.frozen = features, labels, frozen
        # The same generator object: fit() re-seeds it per epoch, for this loader as for the original.
        self.generator = data.shuffle_generator(loader)
        if isinstance(loader, DataLoader):
            if loader.batch_sampler is not None:
                self._order = DataLoader(_Indices(len(features)), batch_sampler=loader.batch_sampler,
                                         generator=loader.generator)
            else:  # batch_size=None: the sampler yields whole batches of indices
                self._order = DataLoader(_Indices(len(features)), sampler=loader.sampler,
                                         batch_size=None, generator=loader.generator)
        else:  # a fixed list of batches: replay it in order
            sizes = [len(y) for _, y in loader]
            bounds = torch.tensor([0, *sizes]).cumsum(0).tolist()
            self._order = [torch.arange(a, b) for a, b in zip(bounds, bounds[1:])]

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # The whole epoch's order first: it draws what the uncached loader draws, in that order.
        order = [torch.as_tensor(idx).to(self.features.device) for idx in self._order]
        if self.frozen is None:
            for idx in order:
                yield self.features[idx], self.labels[idx]
            return
        sizes = [len(idx) for idx in order]
        out = self.frozen.train_pass(self.features[torch.cat(order)], sizes)
        for rows, idx in zip(out.split(sizes), order):
            yield rows, self.labels[idx]


@dataclass
class Cached:
    """The trainable remainder of a model plus cached train/val features for it."""

    head: nn.Sequential
    train: CachedLoader
    val: CachedLoader
    check: CacheCheck
    seconds: float
    precision: str
    feature_shape: tuple[int, ...]
    head_start: int = 0      # the head is stages [head_start, ...); frozen ones before it run in the loaders
    timings: dict[str, float] = field(default_factory=dict)  # decode, calibrate, extract seconds

    def with_head_of(self, model: nn.Module) -> "Cached":
        """These cached features with ``model``'s layers after the prefix as the head.

        For another copy of the same starting model whose prefix is frozen in the same place
        (another seed, another recipe): the one caching pass then serves them all.
        """
        named = stages(model)
        return replace(self, head=nn.Sequential(*(m for _, m in named[self.head_start:])))

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        mb = (self.train.features.nbytes + self.val.features.nbytes) / 2**20
        names = self.check.names
        return (f"features cached: {self.check.names[0]}..{self.check.names[self.check.boundary - 1]} "
                f"ran once ({self.precision}, {self.seconds:.1f} s) for "
                f"{len(self.train.features)} + {len(self.val.features)} images -> "
                f"{tuple(self.feature_shape)} each, {mb:.1f} MB; "
                + (f"{names[self.check.boundary]}..{names[self.head_start - 1]} (frozen, with "
                   "dropout) run once an epoch over all its batches; "
                   if self.head_start > self.check.boundary else "")
                + f"training {names[self.head_start]}..{names[-1]}")


def _ordered(loader: Iterable) -> Iterable:
    """The loader's data in index order (no shuffling), same batch size and workers."""
    if not isinstance(loader, DataLoader):
        return loader
    if loader.batch_size is None:  # the dataset takes lists of indices (data kept on a GPU)
        batches = BatchSampler(SequentialSampler(loader.dataset), 256, drop_last=False)
        return DataLoader(loader.dataset, sampler=batches, batch_size=None,
                          collate_fn=loader.collate_fn)
    # At least 32 images a pass: batch 4 (the tutorial's) leaves a CPU's vector units idle.
    return DataLoader(loader.dataset, batch_size=max(loader.batch_size, 32), shuffle=False,
                      num_workers=loader.num_workers, collate_fn=loader.collate_fn,
                      pin_memory=loader.pin_memory)


def extract(prefix: nn.Module, loader: Iterable, *, device: torch.device | str | None = None,
            precision: str = "auto", progress: bool = False,
            timings: dict[str, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``prefix`` once over ``loader`` in index order; return (features fp32, labels).

    Runs under ``torch.inference_mode()`` in the fast precision of ``vc.devices.plan``
    (bf16 and channels_last where the hardware has bf16). Features stay on the device.
    ``timings``, when given, gets the seconds spent in the network (``"extract"``) and
    waiting for the loader, that is decoding and resizing images (``"decode"``), added in.
    """
    chosen = devices.plan(device, precision)
    devices.prepare(prefix, chosen)
    prefix.eval()
    feats, labels = [], []
    start, in_network = time.perf_counter(), 0.0
    with torch.inference_mode():
        for x, y in data.batches(_ordered(loader), desc="caching features", progress=progress):
            begin = time.perf_counter()
            with devices.autocast(chosen.device, chosen.dtype):
                out = prefix(devices.to_device(x, chosen))
            # fp32 storage: the head then trains on exactly what the uncached loop computes
            feats.append(out.float().contiguous())
            labels.append(torch.as_tensor(y).to(chosen.device))
            if chosen.device.type == "cuda":
                torch.cuda.synchronize(chosen.device)
            in_network += time.perf_counter() - begin
    if not feats:
        raise ValueError("The loader yielded no batches: nothing to cache.")
    if timings is not None:
        timings["extract"] = timings.get("extract", 0.0) + in_network
        timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - start - in_network
    return torch.cat(feats), torch.cat(labels)


def _int8_prefix(prefix: nn.Module, train_loader: Iterable,
                 device: torch.device | str | None) -> nn.Module:
    """One int8 copy of ``prefix`` for both loaders, calibrated on training images."""
    where = devices.pick_device(None if device is None else str(device))
    if where.type != "cpu":
        raise ValueError(f"int8 feature extraction runs on a CPU, not {where.type}: use "
                         "precision='auto' there (bf16 on a GPU).")
    return quantize.int8_copy(prefix, quantize.calibration_batch(train_loader))


def cache(model: nn.Module, train_loader: Iterable, val_loader: Iterable,
          checked: CacheCheck | None = None, *, device: torch.device | str | None = None,
          precision: str = "auto", progress: bool = False) -> Cached:
    """Cache the frozen prefix's output for both loaders; return the head and its loaders.

    The head is ``model``'s own layers after the prefix (not copies): an optimizer built over
    ``model`` trains it, and training it trains ``model``. ``precision`` is that of
    ``vc.devices.plan`` (``"auto"``, ``"fp32"``, ``"bf16"``) or ``"int8"`` (CPU only): the
    prefix then runs as an int8 copy calibrated on a few training images (``vc.quantize``),
    several times faster than fp32, with features close to fp32's but not equal to them.
    The head trains in full precision either way.

    Raises:
        ValueError: caching is not possible here; the message says why (``check``).

    Example:
        >>> import vgg_course as vc
        >>> model = vc.recipes.apply("transfer_learning", vc.models.tiny_vgg(2), 2)
        >>> optimizer = vc.optim.make_optimizer(model, lr=0.01)
        >>> data = [(torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 0, 1]))]
        >>> cached = cache(model, data, data, device="cpu", precision="fp32")
        >>> cached.head[-1] is model.classifier[6], tuple(cached.train.features.shape)
        (True, (4, 32))
        >>> history = vc.engine.fit(cached.head, cached.train, cached.val, optimizer, epochs=1,
        ...                         device="cpu", progress=False)
    """
    checked = checked or check(model, train_loader, val_loader)
    if not checked.ok:
        raise ValueError(f"Feature caching is not possible: {checked.reason}.")
    named = stages(model)
    prefix = nn.Sequential(*(m for _, m in named[:checked.boundary]))
    head_start = segment.span(named, checked.boundary, _DETERMINISTIC)
    head = nn.Sequential(*(m for _, m in named[head_start:]))
    start = time.perf_counter()
    label, timings = precision, {}
    if precision == "int8":
        prefix, precision = _int8_prefix(prefix, train_loader, device), "fp32"
        timings["calibrate"] = time.perf_counter() - start
        segment_plan = devices.plan(device, "auto")  # the head's precision in fit()
    else:
        label = devices.plan(device, precision).precision
        segment_plan = devices.plan(device, precision)
    train_x, train_y = extract(prefix, train_loader, device=device, precision=precision,
                               progress=progress, timings=timings)
    val_x, val_y = extract(prefix, val_loader, device=device, precision=precision,
                           progress=progress, timings=timings)
    frozen = None
    if head_start > checked.boundary:
        frozen = segment.FrozenSegment([m for _, m in named[checked.boundary:head_start]],
                                       segment_plan)
        for layer in frozen.layers:
            devices.prepare(layer, segment_plan)
        val_x = frozen.eval_pass(val_x)  # validation runs in eval mode: no dropout, once
    seconds = time.perf_counter() - start
    return Cached(head=head, train=CachedLoader(train_loader, train_x, train_y, frozen),
                  val=CachedLoader(val_loader, val_x, val_y), check=checked, seconds=seconds,
                  precision=label, feature_shape=tuple(train_x.shape[1:]), head_start=head_start,
                  timings=timings)
