"""Feature caching for frozen backbones: compute the frozen part once, train the rest.

When every layer up to some point is frozen and gives the same output for the same image
every time, running it again each epoch is wasted work -- for VGG16 it is nearly all the
work. ``vc.features.cacheable.check()`` finds that frozen prefix (and says in words why caching is impossible
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
from torch.utils.data import BatchSampler, DataLoader, Dataset, SequentialSampler

from vgg_course import data, devices
from vgg_course.features import cacheable, quantize, segment


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
    check: cacheable.CacheCheck
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
        named = cacheable.stages(model)
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


def extract(prefix: nn.Module, loader: Iterable, chosen: devices.Plan, *, progress: bool = False,
            timings: dict[str, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``prefix`` once over ``loader`` in index order; return (features fp32, labels).

    Runs under ``torch.inference_mode()`` with the plan's device, layout and autocast dtype.
    Features stay on the device. ``timings``, when given, gets the seconds spent in the
    network (``"extract"``) and waiting for the loader, that is decoding and resizing images
    (``"decode"``), added in. On a GPU the kernels run while the next batch decodes, and
    ``"extract"`` is the launches plus one wait at the end.

    Raises:
        ValueError: ``chosen`` asks for an int8 pass: ``cache()`` makes the int8 copy first.

    Example:
        >>> prefix = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())
        >>> batches = [(torch.randn(2, 3, 5, 5), torch.tensor([0, 1]))]
        >>> feats, labels = extract(prefix, batches, devices.plan("cpu", "fp32"))
        >>> tuple(feats.shape), labels.tolist()
        ((2, 36), [0, 1])
    """
    if chosen.int8_prefix:
        raise ValueError("extract() runs the prefix as it is; for an int8 pass call cache(), "
                         "which makes the int8 copy first.")
    devices.prepare(prefix, chosen)
    prefix.eval()
    feats, labels = [], []
    start, in_network = time.perf_counter(), 0.0
    with devices.applied(chosen), torch.inference_mode():
        for x, y in data.batches(_ordered(loader), desc="caching features", progress=progress):
            begin = time.perf_counter()
            with chosen.autocast():
                out = prefix(devices.to_device(x, chosen))
            # fp32 storage: the head then trains on exactly what the uncached loop computes
            feats.append(out.float().contiguous())
            labels.append(torch.as_tensor(y).to(chosen.device))
            in_network += time.perf_counter() - begin
        if chosen.device.type == "cuda":  # one wait for the queued kernels, not one a batch
            begin = time.perf_counter()
            torch.cuda.synchronize(chosen.device)
            in_network += time.perf_counter() - begin
    if not feats:
        raise ValueError("The loader yielded no batches: nothing to cache.")
    if timings is not None:
        timings["extract"] = timings.get("extract", 0.0) + in_network
        timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - start - in_network
    return torch.cat(feats), torch.cat(labels)


def cache(model: nn.Module, train_loader: Iterable, val_loader: Iterable,
          checked: cacheable.CacheCheck | None = None, *, device: torch.device | str | None = None,
          precision: str = "auto", plan: devices.Plan | None = None,
          progress: bool = False) -> Cached:
    """Cache the frozen prefix's output for both loaders; return the head and its loaders.

    The head is ``model``'s own layers after the prefix (not copies): an optimizer built over
    ``model`` trains it, and training it trains ``model``. ``device`` and ``precision`` are
    those of ``vc.devices.plan`` (or pass a ready ``plan``): with ``"int8"`` (a CPU with an
    int8 engine) the prefix runs as an int8 copy calibrated on a few training images
    (``vc.features.quantize``), several times faster than fp32, with features close to fp32's
    but not equal to them; frozen layers after it run at ``"auto"``'s dtype, as ``fit`` trains.

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
    chosen = devices.resolve(device, precision, plan)  # an impossible precision fails first
    checked = checked or cacheable.check(model, train_loader, val_loader)
    if not checked.ok:
        raise ValueError(f"Feature caching is not possible: {checked.reason}.")
    named = cacheable.stages(model)
    prefix = nn.Sequential(*(m for _, m in named[:checked.boundary]))
    head_start = segment.span(named, checked.boundary, cacheable.DETERMINISTIC)
    head = nn.Sequential(*(m for _, m in named[head_start:]))
    start, timings = time.perf_counter(), {}
    pass_plan = chosen
    if chosen.int8_prefix:  # one int8 copy for both loaders, calibrated on training images
        prefix = quantize.int8_copy(prefix, quantize.calibration_batch(train_loader))
        timings["calibrate"] = time.perf_counter() - start
        # the int8 copy takes and gives fp32 NCHW tensors
        pass_plan = replace(chosen, dtype=None, channels_last=False, int8_prefix=False)
    train_x, train_y = extract(prefix, train_loader, pass_plan, progress=progress, timings=timings)
    val_x, val_y = extract(prefix, val_loader, pass_plan, progress=progress, timings=timings)
    frozen = None
    if head_start > checked.boundary:
        # at the dtype fit() trains the head with (an int8 plan's "auto" dtype)
        frozen = segment.FrozenSegment([m for _, m in named[checked.boundary:head_start]], chosen)
        for layer in frozen.layers:
            devices.prepare(layer, chosen)
        with devices.applied(chosen):
            val_x = frozen.eval_pass(val_x)  # validation runs in eval mode: no dropout, once
    seconds = time.perf_counter() - start
    return Cached(head=head, train=CachedLoader(train_loader, train_x, train_y, frozen),
                  val=CachedLoader(val_loader, val_x, val_y), check=checked, seconds=seconds,
                  precision="int8" if chosen.int8_prefix else chosen.precision,
                  feature_shape=tuple(train_x.shape[1:]), head_start=head_start,
                  timings=timings)
