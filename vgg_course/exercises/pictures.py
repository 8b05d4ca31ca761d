"""Pictures and weights for preprocessing checks, and what a transform makes of a picture.

A transform answer (``eval_preprocess(weights, image_size)``) is checked on weights whose
statistics differ from ImageNet's (:class:`CaseWeights`) and on pictures with structure
(:func:`case_image`: ramps, stripes, an off-centre block), each run several times with the
random generators seeded (:func:`run_transform`), so random augmentation, a flip, a crop or
a squash all show in :func:`transform_summary`, plain data for the judge.
"""

from __future__ import annotations

import random

import torch
from PIL import Image
from torch import nn
from torchvision.models import VGG16_Weights

from vgg_course.exercises.observed import values

_REPEATS = 6  # the same picture this many times: random augmentation shows


class CaseWeights:
    """Stands in for a torchvision weights enum whose preprocessing has other numbers."""

    def __init__(self, mean: list[float], std: list[float], crop: int, resize: int) -> None:
        self._preset = dict(crop_size=crop, resize_size=resize, mean=tuple(mean), std=tuple(std))
        self.meta = {"categories": ["a", "b"], "num_params": 0}

    def transforms(self, *, crop_size: int | None = None,
                   resize_size: int | None = None) -> nn.Module:
        """Like an enum's ``transforms()`` (the same preset class, these numbers); the sizes may
        be overridden, as there."""
        sizes = {k: v for k, v in (("crop_size", crop_size), ("resize_size", resize_size)) if v}
        return VGG16_Weights.IMAGENET1K_V1.transforms(**{**self._preset, **sizes})

    def __repr__(self) -> str:
        return f"CaseWeights({self._preset})"


def case_weights(spec: dict):
    """The weights a case names: a :class:`CaseWeights` or a real torchvision enum."""
    if spec["kind"] == "case":
        return CaseWeights(spec["mean"], spec["std"], spec["crop"], spec["resize"])
    from torchvision import models as tv  # a real enum: its transforms need no download
    return tv.get_weight(spec["name"])


def case_image(spec: list[int]) -> Image.Image:
    """A test picture with structure, from ``[seed, width, height]``: a red ramp left to right,
    green stripes, a blue ramp top to bottom and a bright block off centre, so that a flip, a
    crop, a squash, a wrong order or a colour change all show."""
    seed, width, height = spec
    gen = torch.Generator().manual_seed(seed)
    x = torch.linspace(0, 1, width)[None, :].expand(height, width)
    y = torch.linspace(0, 1, height)[:, None].expand(height, width)
    period = width // int(torch.randint(5, 9, (1,), generator=gen))  # wide: any filter keeps them
    stripes = ((torch.arange(width)[None, :] // period) % 2).float().expand(height, width)
    rgb = torch.stack([0.1 + 0.8 * x, 0.25 + 0.5 * stripes * (1 - y), 0.85 - 0.7 * y])
    left, top = (int(v) for v in torch.randint(2, 8, (2,), generator=gen))
    rows, cols = slice(top * height // 20, (top + 5) * height // 20), slice(
        left * width // 20, (left + 4) * width // 20)
    rgb[:, rows, cols] = 0.95
    array = (rgb.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    return Image.fromarray(array, "RGB")


def flat_image(spec: list[int]) -> Image.Image:
    """A picture of one colour (chosen by the seed of ``[seed, width, height]``): any resize or
    crop keeps it, so what comes out shows the normalisation alone."""
    seed, width, height = spec
    colour = torch.randint(20, 236, (3,), generator=torch.Generator().manual_seed(seed + 1))
    return Image.new("RGB", (width, height), tuple(int(v) for v in colour))


def transform_summary(outputs: list) -> dict:
    """What a transform gave for the same picture, several times: the first output's type,
    shape, per-channel mean and std, its 6 x 6 average-pooled values per channel, and the
    largest difference between any output and the first one."""
    first = outputs[0]
    if not isinstance(first, torch.Tensor):
        return {"type": type(first).__name__}
    tensor = values(first).double()
    got = {"shape": list(tensor.shape), "finite": bool(torch.isfinite(tensor).all())}
    if tensor.dim() != 3 or not got["finite"] or min(tensor.shape) == 0:
        return got
    spread = 0.0
    for other in outputs[1:]:
        if not isinstance(other, torch.Tensor) or list(other.shape) != got["shape"]:
            spread = float("inf")
            break
        spread = max(spread, float((values(other).double() - tensor).abs().max()))
    pooled = torch.nn.functional.adaptive_avg_pool2d(tensor, 6).reshape(tensor.shape[0], -1)
    return {**got, "spread": spread if spread < 1e9 else 1e9,
            "mean": [round(float(v), 4) for v in tensor.mean((1, 2))],
            "std": [round(float(v), 4) for v in tensor.std((1, 2))],
            "pooled": [[round(float(v), 4) for v in row] for row in pooled]}


def run_transform(transform, case: dict) -> dict:
    """The transform on the case's picture ``_REPEATS`` times, with torch's and Python's
    random generators seeded by the case (and put back as they were after), then on a picture
    of one colour: :func:`transform_summary` of the first, and ``flat``, the per-channel
    mean of the second."""
    image = case_image(case["image"])
    state = random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case["rng"])
        random.seed(case["rng"])
        try:
            got = transform_summary([transform(image.copy()) for _ in range(_REPEATS)])
            flat = transform_summary([transform(flat_image(case["image"]))])
        finally:
            random.setstate(state)
    return {**got, "flat": flat.get("mean")}
