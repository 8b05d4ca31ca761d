"""The models a check's cases describe: built from plain specs, read back as plain data.

A case never holds a model, only a spec such as ``{"arch": "tiny_vgg", "width": 3,
"hidden": 16, "num_classes": 5, "seed": 7}``; the student's side builds it with
:func:`build` to run the answer on, the trusted side builds it again (on the ``meta``
device when only shapes matter) to know what the answer should have done.
"""

from __future__ import annotations

import copy
import json
import random

import torch
from torch import nn
from torchvision import models as tv
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.models.vgg import make_layers

from vgg_course import models
from vgg_course.exercises.answers import plain
from vgg_course.i18n import N_
from vgg_course.exercises.integrity import (  # noqa: F401  (zoo.snapshot, zoo.changes: the lessons' helpers use them)
    changes, named_parameters, patched_methods, requires_grad, shape, snapshot, walk)

# Real torchvision networks a spec may name (weights=None: random, no download).
TORCHVISION = ("resnet18", "squeezenet1_1", "mobilenet_v3_small", "efficientnet_b0",
               "densenet121", "vgg16", "vgg11_bn")


class TinyNet(nn.Module):
    """A small CNN whose head has a name of the case's choosing (not VGG, not ResNet)."""

    def __init__(self, head: str, width: int, num_classes: int, conv_head: bool) -> None:
        super().__init__()
        self.head_name = head
        self.body = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, padding=1),
                                  nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        layer = (nn.Conv2d(width, num_classes, kernel_size=1) if conv_head
                 else nn.Linear(width, num_classes))
        self.add_module(head, layer)
        self.conv_head = conv_head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.body(x)
        if self.conv_head:  # (N, C, H, W) -> (N, k, H, W) -> (N, k)
            return self.pool(getattr(self, self.head_name)(x)).flatten(1)
        return getattr(self, self.head_name)(self.pool(x).flatten(1))


def tiny_vgg_bn(num_classes: int, *, width: int, hidden: int) -> nn.Module:
    """``tiny_vgg`` with BatchNorm after every conv, as torchvision's ``vgg16_bn``."""
    model = models.tiny_vgg(num_classes, width=width, hidden=hidden)
    scale = {64: 1, 128: 2, 256: 4, 512: 8}
    model.features = make_layers([v if v == "M" else width * scale[v] for v in models.VGG16_CFG],
                                 batch_norm=True)
    return model


def build(spec: dict, *, meta: bool = False) -> nn.Module:
    """The model a spec describes, with seeded random weights (or on the meta device).

    Example:
        >>> model = build({"arch": "tiny_vgg", "width": 2, "hidden": 8, "num_classes": 3})
        >>> model.classifier[6]
        Linear(in_features=8, out_features=3, bias=True)
    """
    # Building (random init above all) is most of a check's time: build a spec once,
    # hand out copies (a copy of a 5M-parameter ResNet takes milliseconds).
    key = json.dumps([spec, meta], sort_keys=True)
    if key not in _TEMPLATES:
        if len(_TEMPLATES) >= 16:
            _TEMPLATES.pop(next(iter(_TEMPLATES)))
        _TEMPLATES[key] = _build(spec, meta=meta)
    return copy.deepcopy(_TEMPLATES[key])


_TEMPLATES: dict[str, nn.Module] = {}


def _build(spec: dict, *, meta: bool) -> nn.Module:
    arch, k = spec["arch"], spec.get("num_classes", 1000)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.get("seed", 0))
        with torch.device("meta" if meta else "cpu"):
            if arch == "tiny_vgg":
                model = models.tiny_vgg(k, width=spec["width"], hidden=spec["hidden"],
                                        seed=spec.get("seed", 0))
                model = model.to("meta") if meta else model
            elif arch == "tiny_vgg_bn":
                model = tiny_vgg_bn(k, width=spec["width"], hidden=spec["hidden"])
            elif arch == "resnet":
                if spec.get("bottleneck"):  # narrow inside (16, not 64), still 2048 out
                    model = ResNet(Bottleneck, list(spec["layers"]), num_classes=k,
                                   width_per_group=16)
                else:
                    model = ResNet(BasicBlock, list(spec["layers"]), num_classes=k)
            elif arch == "tinynet":
                model = TinyNet(spec["head"], spec["width"], k, spec.get("conv_head", False))
            elif arch in TORCHVISION:
                model = getattr(tv, arch)(weights=None, num_classes=k)
            else:
                raise ValueError(f"unknown arch {arch!r}")
    if "tie" in spec:  # weight sharing: the first module uses the second one's weight
        shared, owner = spec["tie"]
        model.get_submodule(shared).weight = model.get_submodule(owner).weight
    for pattern in spec.get("frozen", ()):  # a starting state: these parameters frozen
        for name, param in model.named_parameters():
            if pattern in ("", name) or name.startswith(pattern + "."):
                param.requires_grad_(False)
    return model


def reference(spec: dict) -> nn.Module:
    """``build(spec)`` for the trusted side to read (a fresh copy, so it may be changed)."""
    return build(spec)


def describe(spec: dict) -> str:
    """A few words for a feedback line: ``"a tiny VGG (width 3)"``."""
    arch = spec["arch"]
    if arch == "tiny_vgg":
        return f"a tiny VGG (width {spec['width']}, hidden {spec['hidden']})"
    if arch == "tiny_vgg_bn":
        return f"a tiny VGG with BatchNorm (width {spec['width']})"
    if arch == "resnet":
        kind = "bottleneck blocks" if spec.get("bottleneck") else "blocks"
        return f"a ResNet with {kind} {list(spec['layers'])}"
    if arch == "tinynet":
        return N_("a small CNN that is neither VGG nor ResNet")
    return {"resnet18": "ResNet-18", "squeezenet1_1": "SqueezeNet 1.1",
            "mobilenet_v3_small": "MobileNetV3-Small", "efficientnet_b0": "EfficientNet-B0",
            "densenet121": "DenseNet-121", "vgg16": "VGG16", "vgg11_bn": "VGG11-BN"}[arch]


def random_tiny_vgg(rng: random.Random, **extra) -> dict:
    """A spec for a tiny VGG of random widths (never the notebook's width=4, hidden=32)."""
    return {"arch": "tiny_vgg", "width": rng.choice([1, 2, 3, 5]),
            "hidden": rng.choice([6, 10, 12, 20]), "num_classes": rng.randint(2, 9),
            "seed": rng.randrange(1000), **extra}


def trainable_names(model: nn.Module) -> list[str]:
    """Names of the parameters with ``requires_grad``, read as :func:`named_parameters`."""
    return [n for n, p in named_parameters(model) if requires_grad(p)]


def param_names(model: nn.Module) -> list[str]:
    return [n for n, _ in named_parameters(model)]


def fingerprint(tensor: torch.Tensor) -> float:
    """One number that changes when a tensor's values do, rounded for JSON.

    A weighted sum, not a plain one: an SGD step on a cross-entropy head leaves the plain
    sum of its weight unchanged (the gradient's rows add up to zero).
    """
    flat = tensor.detach().double().flatten()
    global _WEIGHTS
    if _WEIGHTS.numel() < flat.numel():
        _WEIGHTS = torch.cos(torch.arange(max(flat.numel(), 2 * _WEIGHTS.numel()),
                                          dtype=torch.float64))
    return round(float(flat @ _WEIGHTS[:flat.numel()]), 6)


_WEIGHTS = torch.zeros(0, dtype=torch.float64)


def shapes(model: nn.Module) -> dict[str, list[int]]:
    return {n: list(shape(p)) for n, p in named_parameters(model)}


def path_of(model: nn.Module, module: object) -> str | None:
    """The dotted path of ``module`` inside ``model`` (by identity), or ``None``."""
    for name, candidate in walk(model):  # the model's own dicts, not a patchable method
        if candidate is module:
            return name
    return None


def key_cases(rng, specs: list[tuple[str, dict]], per_model: int = 2) -> list[dict]:
    """Cases of ``per_model`` random state_dict keys of each ``(part, spec)`` model."""
    cases = []
    for part, spec in specs:
        keys = list(build(spec, meta=True).state_dict())
        for key in rng.sample(keys, per_model):
            cases.append({"part": part, "label": f"{key!r} of {describe(spec)}",
                          "model": spec, "key": key})
    return cases


def call_answer(answer, case: dict):
    """An exercise's default ``observe`` (student side): call ``answer`` on the case's inputs.

    The inputs are the model that ``case["model"]`` describes (built fresh), if any, then the
    values of ``case["args"]``, if any; the result comes back as plain data (``plain``).
    An exercise that needs more (the model after the call, a training step) writes its own.

    Example:
        >>> call_answer(lambda model, k: k * sum(p.numel() for p in model.parameters()),
        ...             {"model": {"arch": "tiny_vgg", "width": 1, "hidden": 4}, "args": [0]})
        0
        >>> call_answer(lambda x, y: x + y, {"args": [2, 3]})
        5
    """
    inputs = [build(case["model"])] if "model" in case else []
    return plain(answer(*inputs, *case.get("args", [])))
