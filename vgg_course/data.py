"""Images in: datasets over checked folders, transforms from the weights, DataLoaders per device.

``image_folders`` checks a folder first (``vc.folders.validate_folder``: corrupt files
skipped by name, layout problems raised as ``vc.folders.DataError`` before training), then
returns train/val ``ImageFolder`` datasets over the files that passed. ``batches`` iterates
a loader once with a progress bar, ``shuffle_generator`` finds the generator that shuffles
it (the training loop and feature caching both need them). ``InMemory`` keeps
a deterministic dataset's decoded images as tensors (``vc.standardizing`` scales them for a
network from random weights).
"""

from __future__ import annotations

import inspect
import os
import random
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2
from tqdm.auto import tqdm

from vgg_course import config
from vgg_course.folders import FolderReport, validate_folder
from vgg_course.i18n import _


class CheckedImageFolder(ImageFolder):
    """An ``ImageFolder`` over the files a :class:`FolderReport` accepted, with its classes.

    Both splits share the train split's class list, so label numbers always agree; the
    report stays attached as ``.report``.
    """

    def __init__(self, report: FolderReport, split: str, transform: Callable | None) -> None:
        self.report = report
        self._fixed_classes = list(report.classes)
        allowed = set(report.files[split])
        base = report.root if report.layout.startswith("one folder") else report.root / split
        super().__init__(str(base), transform=transform, is_valid_file=allowed.__contains__)
        self.split = split

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        return self._fixed_classes, {c: i for i, c in enumerate(self._fixed_classes)}


def image_folders(
    root: str | os.PathLike,
    *,
    train_transform: Callable | None,
    val_transform: Callable | None,
    val_fraction: float | None = None,
    seed: int = 0,
    strict: bool = False,
) -> tuple[CheckedImageFolder, CheckedImageFolder]:
    """Validate an image folder, then return ``(train_ds, val_ds)`` ImageFolder datasets.

    Args:
        root: ``root/train/<class>/`` + ``root/val/<class>/``, or one folder of classes
            with ``val_fraction``.
        train_transform, val_transform: callables applied to each PIL image, e.g.
            :func:`train_transform` / :func:`eval_transform`, or a model's own preprocessing.
        val_fraction, seed: split one folder by a seed (see ``vc.folders.validate_folder``).
        strict: refuse the folder if any file had to be skipped.

    Raises:
        vgg_course.folders.DataError: the folder cannot be trained on; the message lists
            every problem.

    Example:
        >>> import vgg_course as vc, tempfile
        >>> root = vc.datasets.practice_dataset(tempfile.mkdtemp() + "/p")
        >>> train_ds, val_ds = image_folders(root, train_transform=None, val_transform=None)
        >>> len(train_ds), len(val_ds), train_ds.classes
        (80, 40, ['ants', 'bees'])
    """
    report = validate_folder(root, val_fraction=val_fraction, seed=seed)
    report.raise_for_problems(strict=strict)
    return (CheckedImageFolder(report, "train", train_transform),
            CheckedImageFolder(report, "val", val_transform))


class InMemory(Dataset):
    """A dataset's transformed items, computed once and kept as tensors (deterministic data only).

    Every recipe and every epoch then reuses the same decoded images instead of opening
    and resizing each JPEG again. ``classes`` and ``samples`` are kept from the original.

    Example:
        >>> data = [(torch.zeros(3, 4, 4), 1), (torch.ones(3, 4, 4), 0)]
        >>> kept = InMemory(data)
        >>> kept.images.shape, kept[1][1]
        (torch.Size([2, 3, 4, 4]), 0)
    """

    def __init__(self, dataset: Dataset, *, progress: bool = False) -> None:
        self.classes = list(getattr(dataset, "classes", []))
        self.samples = list(getattr(dataset, "samples", []))
        items = [dataset[i] for i in tqdm(range(len(dataset)), desc=_("decoding images"),
                                          leave=False, **({} if progress else {"disable": True}))]
        self.images = torch.stack([x for x, _ in items])
        self.labels = torch.tensor([int(y) for _, y in items])

    @classmethod
    def of(cls, images: torch.Tensor, labels: torch.Tensor, like: "InMemory") -> "InMemory":
        """Other image tensors with ``like``'s labels, classes and file list."""
        new = cls.__new__(cls)
        new.classes, new.samples = like.classes, like.samples
        new.images, new.labels = images, labels
        return new

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])


def batches(loader: Iterable, *, desc: str, progress: bool) -> Iterator:
    """Iterate ``loader`` once, with a progress bar that closes when the loop ends.

    ``tqdm.auto.tqdm(loader)`` would call ``iter(loader)`` twice -- for a ``DataLoader``
    that starts its worker processes twice and draws an extra random number, changing
    the shuffling order. Updating a bar by hand avoids both.
    """
    total = len(loader) if hasattr(loader, "__len__") else None
    with tqdm(total=total, desc=desc, leave=False, **({} if config.progress_bars(progress) else {"disable": True})) as bar:
        for batch in loader:
            yield batch
            bar.update()


def shuffle_generator(loader: Iterable) -> torch.Generator | None:
    """The generator that shuffles ``loader``: its own, or its sampler's (also inside a BatchSampler)."""
    for owner in (loader, getattr(loader, "sampler", None),
                  getattr(getattr(loader, "sampler", None), "sampler", None)):
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator):
            return generator
    return None


# ---------------------------------------------------------------- transforms


def _preset(weights: Any) -> Any:
    """The eval preset of a weights enum, or the preset itself."""
    preset = weights.transforms() if hasattr(weights, "transforms") else weights
    if not all(hasattr(preset, a) for a in ("crop_size", "resize_size", "mean", "std")):
        raise TypeError(_(
            "{weights} gives no crop_size/resize_size/mean/std to build transforms from. "
            "Pass your own transform to image_folders(train_transform=..., val_transform=...)."
        ).format(weights=repr(weights)))
    return preset


def _takes_train(weights: Any) -> bool:
    try:
        return "train" in inspect.signature(weights.transforms).parameters
    except (AttributeError, TypeError, ValueError):
        return False


def _size(value: Any) -> int:
    return int(value[0] if isinstance(value, (list, tuple)) else value)


def eval_transform(weights: Any, *, image_size: int | None = None) -> Callable:
    """The weights' own preprocessing (``weights.transforms()``), optionally at a smaller size.

    Args:
        weights: a torchvision weights enum (``VGG16_Weights.IMAGENET1K_V1``), its
            ``transforms()`` preset, or weights whose ``transforms()`` is custom.
        image_size: crop to this many pixels instead (quick mode); the resize keeps the
            weights' resize/crop ratio and mean/std stay the weights'.

    Example:
        >>> from torchvision.models import VGG16_Weights
        >>> eval_transform(VGG16_Weights.IMAGENET1K_V1, image_size=64).transforms[1]
        CenterCrop(size=(64, 64))
    """
    if image_size is None:
        return weights.transforms() if hasattr(weights, "transforms") else weights
    preset = _preset(weights)
    resize = round(image_size * _size(preset.resize_size) / _size(preset.crop_size))
    return v2.Compose([
        v2.Resize(resize, interpolation=preset.interpolation, antialias=True),
        v2.CenterCrop(image_size),
        v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(preset.mean), std=list(preset.std)),
    ])


def train_transform(weights: Any, *, augment: bool = True, image_size: int | None = None) -> Callable:
    """Training preprocessing: a random resized crop and a flip, then the weights' normalization.

    The crop size, mean and std come from ``weights.transforms()``; weights whose
    ``transforms(train=...)`` builds its own training transform (the SqueezeNet companion)
    are asked for it. ``augment=False`` gives the eval transform (needed for feature caching).

    Example:
        >>> from torchvision.models import VGG16_Weights
        >>> t = train_transform(VGG16_Weights.IMAGENET1K_V1, image_size=64)
        >>> from PIL import Image
        >>> t(Image.new("RGB", (100, 80))).shape
        torch.Size([3, 64, 64])
    """
    if _takes_train(weights) and not hasattr(weights.transforms(), "mean"):
        if image_size is not None:
            raise TypeError(_("{weights} builds its own transforms: image_size is not "
                              "supported.").format(weights=repr(weights)))
        return weights.transforms(train=augment)
    if not augment:
        return eval_transform(weights, image_size=image_size)
    preset = _preset(weights)
    size = image_size or _size(preset.crop_size)
    return v2.Compose([
        v2.RandomResizedCrop(size, interpolation=preset.interpolation, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(preset.mean), std=list(preset.std)),
    ])


# ---------------------------------------------------------------- loaders


def loader_settings(device: str | torch.device = "cpu", *, num_workers: int | None = None) -> dict:
    """The DataLoader options the kit uses on a device; shown so a student can see why.

    CPU: no worker processes on a small machine (they would take cores from the model's
    own threads); CUDA: pinned memory and several persistent workers to keep the GPU fed.

    Example:
        >>> loader_settings("cuda", num_workers=4)
        {'num_workers': 4, 'pin_memory': True, 'persistent_workers': True, 'prefetch_factor': 4}
    """
    kind = torch.device(device).type
    cores = os.cpu_count() or 1
    if num_workers is None:
        if kind == "cuda":
            num_workers = max(1, min(8, cores - 1))
        elif kind == "mps":
            num_workers = max(0, min(4, cores // 2))
        else:
            num_workers = 0 if cores <= 4 else min(4, cores // 4)
    options: dict = {"num_workers": num_workers, "pin_memory": kind == "cuda",
                     "persistent_workers": num_workers > 0}
    if num_workers > 0:
        options["prefetch_factor"] = 4 if kind == "cuda" else 2
    return options


def _seed_worker(worker_id: int) -> None:
    # torch seeds each worker from the loader's generator; seed random and numpy from it too.
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def make_loaders(
    train_ds: Dataset,
    val_ds: Dataset,
    *,
    batch_size: int = 32,
    device: str | torch.device = "cpu",
    seed: int = 0,
    num_workers: int | None = None,
) -> tuple[DataLoader, DataLoader]:
    """Shuffled training and ordered validation loaders with per-device defaults.

    The training order comes from a generator seeded with ``seed``: the same seed gives
    the same batches. With worker processes the random augmentation is seeded from it
    too; with ``num_workers=0`` augmentation draws from torch's global generator, so seed
    that as well (``torch.manual_seed``) for identical augmented batches.

    Example:
        >>> import torch
        >>> from torch.utils.data import TensorDataset
        >>> ds = TensorDataset(torch.arange(10.0), torch.arange(10))
        >>> a, _ = make_loaders(ds, ds, batch_size=4, seed=1)
        >>> b, _ = make_loaders(ds, ds, batch_size=4, seed=1)
        >>> [x.tolist() for x, _ in a] == [x.tolist() for x, _ in b]
        True
    """
    if batch_size < 1:
        raise ValueError(_("batch_size must be at least 1, not {batch_size}.").format(
            batch_size=batch_size))
    options = loader_settings(device, num_workers=num_workers)
    generator = torch.Generator().manual_seed(seed)
    worker_init = _seed_worker if options["num_workers"] > 0 else None
    train = DataLoader(train_ds, batch_size=batch_size, shuffle=True, generator=generator,
                       worker_init_fn=worker_init, **options)
    val = DataLoader(val_ds, batch_size=batch_size, shuffle=False, **options)
    return train, val
