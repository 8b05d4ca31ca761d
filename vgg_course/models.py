"""Building the course's models: VGG16, pretrained or in practice mode, the companion, a tiny twin.

``load_vgg16()`` goes through torchvision's weights API (``VGG16_Weights.IMAGENET1K_V1``),
never the deprecated ``pretrained=True``. ``load(name)`` gives a lesson's starting model by
name (``"vgg16"`` or the offline companion ``"squeezenet"``, ``vc.companion``) with a note
saying what it is, and ``transforms(name)`` its preprocessing, from its weights.
``tiny_vgg()`` has VGG16's exact layout (``features`` indices 0-30 with convs at the same
places, ``avgpool``, a 7-layer ``classifier``) with tiny widths, so tests and exercises run
in milliseconds.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torchvision.models import VGG, VGG16_Weights, vgg16
from torchvision.models.vgg import make_layers

from vgg_course import companion, config, data, weights as weights_files

NAMES = ("vgg16", "squeezenet")  # the starting models a lesson (or the lab) asks for by name

# VGG16 ("configuration D"): numbers are conv output channels, "M" a 2x2 max-pool.
VGG16_CFG: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                              512, 512, 512, "M", 512, 512, 512, "M"]


def load_vgg16(
    *,
    practice: bool | None = None,
    weights: VGG16_Weights = VGG16_Weights.IMAGENET1K_V1,
    seed: int = 0,
    download: bool = True,
    progress: bool = True,
) -> VGG:
    """VGG16 with ImageNet weights, or with seeded random weights in practice mode.

    Args:
        practice: ``True`` for random weights, ``False`` for pretrained ones; ``None``
            follows the mode at this call (``vc.config.settings().practice``; change it
            with ``vc.config.use("practice")``, ``"quick"``, ``"real"`` or ``"full"``).
        weights: which torchvision weights to load.
        seed: the seed for the random weights of practice mode.
        download: allow torchvision's one-time download when the file is not cached.

    Raises:
        vgg_course.weights.WeightsUnavailableError: pretrained weights were asked for and
            cannot be had; the message lists the ways out. There is no silent fallback.

    Example:
        >>> model = load_vgg16(practice=True)
        >>> sum(p.numel() for p in model.parameters())
        138357544
    """
    if practice is None:
        practice = config.settings().practice
    if practice:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return vgg16(weights=None)
    try:
        state_dict = weights_files.load_state_dict(weights, download=download, progress=progress)
    except weights_files.WeightsUnavailableError as missing:
        # the message below says what to do: the traceback starts here, not deep in the kit
        raise missing.with_traceback(None)
    with torch.device("meta"):
        model = vgg16(weights=None)
    model.load_state_dict(state_dict, assign=True)  # no 138M-parameter random init first
    return model


def load(name: str, *, practice: bool | None = None) -> tuple[nn.Module, str]:
    """A starting model by name (``"vgg16"`` / ``"squeezenet"``) and a note saying what it is.

    ``"vgg16"`` has ImageNet weights, or random practice weights where ``practice`` (default:
    ``vc.config``) says so; ``"squeezenet"`` is the offline companion with ImageNet weights.

    Raises:
        ValueError: an unknown name.
        vgg_course.weights.WeightsUnavailableError: VGG16's weights are missing (no fallback).

    Example:
        >>> model, note = load("vgg16", practice=True)
        >>> note.startswith("VGG16 with RANDOM practice weights")
        True
    """
    if name == "squeezenet":
        return companion.load_squeezenet(), companion.Banner().text
    if name == "vgg16":
        practice = config.settings().practice if practice is None else practice
        note = ("VGG16 with RANDOM practice weights: the pipeline is real, the accuracies are "
                "not those of pretrained VGG16." if practice else "VGG16, ImageNet weights.")
        return load_vgg16(practice=practice), note
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(NAMES)}")


def transforms(name: str, *, augment: bool = False, image_size: int | None = None
               ) -> tuple[Callable, Callable]:
    """The (train, val) preprocessing of a model by name, from its weights.

    ``augment`` adds a random resized crop and a flip to the training transform;
    ``image_size`` crops to that many pixels (quick mode uses small images).

    Example:
        >>> train, val = transforms("squeezenet", image_size=96)
        >>> val.crop_size, val.train_mode
        (96, False)
    """
    if name == "squeezenet":
        size = image_size or companion.CROP_SIZE
        return (companion.CaffePreprocess(train=augment, crop_size=size),
                companion.CaffePreprocess(crop_size=size))
    if name == "vgg16":
        weights = VGG16_Weights.IMAGENET1K_V1
        return (data.train_transform(weights, augment=augment, image_size=image_size),
                data.eval_transform(weights, image_size=image_size))
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(NAMES)}")


def tiny_vgg(num_classes: int = 10, *, width: int = 4, hidden: int = 32, seed: int = 0) -> VGG:
    """A VGG16-shaped model with tiny widths: same indices, same sections, ~0.1M parameters.

    Conv widths are ``width * (1, 2, 4, 8, 8)`` instead of (64, 128, 256, 512, 512), the
    hidden layers have ``hidden`` units instead of 4096. It takes 32x32 images and up.

    Example:
        >>> model = tiny_vgg(num_classes=2)
        >>> [i for i, m in enumerate(model.features) if isinstance(m, torch.nn.Conv2d)]
        [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
        >>> model.classifier[6]
        Linear(in_features=32, out_features=2, bias=True)
    """
    scale = {64: 1, 128: 2, 256: 4, 512: 8}
    cfg = [v if v == "M" else width * scale[v] for v in VGG16_CFG]
    last = width * 8
    with torch.device("meta"):
        # VGG() would allocate and initialise VGG16's 123M-parameter classifier only for us
        # to throw it away: build the shell on the meta device, then the real tiny parts.
        model = VGG(nn.Sequential(), num_classes=num_classes, init_weights=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.features = make_layers(cfg)
        model.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        # (N, last, 7, 7) -> (N, last * 49): same layout as VGG16's classifier, tiny widths
        model.classifier = nn.Sequential(
            nn.Linear(last * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(p=0.5),
            nn.Linear(hidden, num_classes),
        )
        for m in model.modules():  # torchvision's VGG initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)
    return model
