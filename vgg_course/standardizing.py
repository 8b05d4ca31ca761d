"""Inputs for random weights: each channel standardised by the training images' own statistics.

No pretrained preprocessing applies to random weights, so ``standardized`` centres each
channel and scales it to unit variance with the training split's own mean and standard
deviation, the validation split using the same numbers. Two ``data.InMemory`` splits are
standardised as tensors; data too big for memory is streamed: ``channel_stats`` computes the
statistics in one pass over the training images, and ``Standardized`` applies them to each
image as it is decoded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from vgg_course.data import InMemory, batches, loader_settings


def _resized(x: torch.Tensor, image_size: int | None) -> torch.Tensor:
    """A batch ``(N, C, H, W)`` as float, resized to square ``image_size`` (bilinear, antialiased)."""
    if image_size is None or x.shape[-1] == image_size:
        return x.float()
    return F.interpolate(x.float(), size=(image_size, image_size), mode="bilinear",
                         antialias=True, align_corners=False)


class Standardized(Dataset):
    """A dataset's images resized (optionally) and standardised on the fly, one item at a time.

    What ``standardized`` returns for data too big to keep in memory: each image is decoded
    by the wrapped dataset when a batch asks for it, then ``(x - mean) / std`` per channel.
    """

    def __init__(self, dataset: Dataset, mean: torch.Tensor, std: torch.Tensor,
                 image_size: int | None) -> None:
        self.dataset, self.image_size = dataset, image_size
        self.mean, self.std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)  # (C, 1, 1)
        self.classes = list(getattr(dataset, "classes", []))
        self.samples = list(getattr(dataset, "samples", []))

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x, y = self.dataset[i]
        return (_resized(x[None], self.image_size)[0] - self.mean) / self.std, y


def channel_stats(dataset: Dataset, *, image_size: int | None = None, batch_size: int = 64,
                  progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (population) of a dataset's images, in one streamed pass.

    Each batch is decoded, resized like ``standardized`` does and added to float64 sums of
    ``x`` and ``x**2``, so memory stays one batch whatever the dataset's size. Torch's
    global random state is left as it was (an augmenting transform draws from it).

    Example:
        >>> imgs = [(torch.full((3, 2, 2), float(i)), 0) for i in range(4)]
        >>> mean, std = channel_stats(imgs)
        >>> mean.tolist(), [round(v, 4) for v in std.tolist()]
        ([1.5, 1.5, 1.5], [1.118, 1.118, 1.118])
    """
    total = squares = None
    count = 0
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, **loader_settings("cpu"))
    with torch.random.fork_rng(devices=[]):
        for x, _ in batches(loader, desc="image statistics", progress=progress):
            x = _resized(x, image_size).double()  # (N, C, H, W)
            total = x.sum(dim=(0, 2, 3)) + (0 if total is None else total)
            squares = (x * x).sum(dim=(0, 2, 3)) + (0 if squares is None else squares)
            count += x.numel() // x.shape[1]
    if total is None:
        raise ValueError("no images to compute statistics from")
    mean = total / count
    std = (squares / count - mean * mean).clamp_min(0).sqrt()
    return mean.float(), std.float().clamp_min(1e-6)


def standardized(train: Dataset, val: Dataset, *, image_size: int | None = None,
                 progress: bool = False) -> tuple[Dataset, Dataset, torch.Tensor, torch.Tensor]:
    """Both splits resized (optionally) and standardised with the training images' statistics.

    For a network trained from random weights: no pretrained preprocessing applies, so each
    channel is centred and scaled to unit variance by the training split's own mean and
    standard deviation (the validation split uses the same numbers). ``image_size``
    resizes the square images first (bilinear, antialiased). Two ``InMemory`` splits give
    ``InMemory`` results; any other datasets are streamed: the statistics come from one
    pass over the training images (``channel_stats``), and each split is wrapped in a
    ``Standardized`` that applies them per image. Returns ``(train, val, mean, std)``;
    the inputs are not changed.

    Example:
        >>> imgs = InMemory([(torch.full((3, 8, 8), float(i)), i % 2) for i in range(4)])
        >>> tr, va, mean, std = standardized(imgs, imgs, image_size=4)
        >>> tr.images.shape, round(float(tr.images.mean()), 6), round(float(tr.images.std(unbiased=False)), 2)
        (torch.Size([4, 3, 4, 4]), 0.0, 1.0)
    """
    if not (isinstance(train, InMemory) and isinstance(val, InMemory)):
        mean, std = channel_stats(train, image_size=image_size, progress=progress)
        return (Standardized(train, mean, std, image_size), Standardized(val, mean, std, image_size),
                mean, std)
    train_x, val_x = _resized(train.images, image_size), _resized(val.images, image_size)
    mean = train_x.mean(dim=(0, 2, 3), keepdim=True)
    std = train_x.std(dim=(0, 2, 3), keepdim=True, unbiased=False).clamp_min(1e-6)
    return (InMemory.of((train_x - mean) / std, train.labels, train),
            InMemory.of((val_x - mean) / std, val.labels, val), mean.flatten(), std.flatten())
