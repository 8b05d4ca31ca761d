"""Exercises for ``07_other_networks.ipynb``: finding and replacing the head of other CNNs."""

from __future__ import annotations

import copy
from functools import lru_cache

import torch
from torch import nn
from torchvision.models import resnet18, squeezenet1_1, vgg16

from vgg_course.exercises.core import Exercise, Part, tiny_model


@lru_cache(maxsize=None)
def _meta(arch: str) -> nn.Module:
    with torch.device("meta"):  # real structure, no memory
        return {"vgg16": vgg16, "resnet18": resnet18, "squeezenet1_1": squeezenet1_1}[arch](
            weights=None)


def _last_layer(model: nn.Module) -> str:
    return [n for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]


# --- q1: where is the head? -----------------------------------------------------------

def _head_case(arch: str):
    def test(fn: object) -> str | None:
        if not callable(fn):
            return f"expected a function, got {type(fn).__name__}"
        model = tiny_model() if arch == "tiny VGG" else _meta(arch)
        got = fn(model)
        if not isinstance(got, str):
            return f"expected a module path (a str like 'a.b'), got {type(got).__name__}"
        try:
            module = model.get_submodule(got)
        except AttributeError:
            return f"{got!r} is not a module path in {arch}"
        if got == _last_layer(model):
            return None
        return f"{got!r} is a {type(module).__name__} but not the layer that makes the class scores"
    return test


q1 = Exercise(
    id="other_networks.q1",
    title="find the head of any network",
    task=("Write `head_path(model)` that returns the dotted module path of the layer that "
          "produces the class scores, e.g. `'classifier.6'` for VGG16. It is checked on "
          "VGG16, ResNet-18 and SqueezeNet 1.1 (whose head is a 1x1 convolution), so "
          "find it from the structure rather than from a lookup table."),
    answer="head_path",
    cell=("def head_path(model: nn.Module) -> str:\n"
          '    """The path of the last Linear or Conv2d: the layer that makes class scores."""\n'
          "    ### BEGIN SOLUTION\n"
          "    layers = [name for name, module in model.named_modules()\n"
          "              if isinstance(module, (nn.Linear, nn.Conv2d))]\n"
          "    return layers[-1]\n"
          "    ### END SOLUTION"),
    parts=(Part("VGG16", _head_case("vgg16")), Part("ResNet-18", _head_case("resnet18")),
           Part("SqueezeNet 1.1", _head_case("squeezenet1_1"))),
    hint_text=("`model.named_modules()` walks every layer in order, with its dotted path; "
               "the head is the last layer with weights that maps to the classes."),
)


# --- q2: a new head for SqueezeNet -----------------------------------------------------

@lru_cache(maxsize=1)
def _squeezenet() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return squeezenet1_1(weights=None)


def _squeeze_case(num_classes: int):
    def test(fn: object) -> str | None:
        if not callable(fn):
            return f"expected a function, got {type(fn).__name__}"
        model = copy.deepcopy(_squeezenet())
        result = fn(model, num_classes)
        model = result if isinstance(result, nn.Module) else model
        head = model.classifier[1]
        if not isinstance(head, nn.Conv2d):
            return f"classifier[1] is a {type(head).__name__}; SqueezeNet's head is a Conv2d"
        if head.kernel_size != (1, 1) or head.in_channels != 512:
            return "the new head must be a 1x1 conv over the same 512 input channels"
        model.eval()
        with torch.no_grad():
            out = model(torch.zeros(1, 3, 64, 64))
        if out.shape != (1, num_classes):
            return f"the model outputs shape {tuple(out.shape)} for {num_classes} classes"
        return None
    return test


q2 = Exercise(
    id="other_networks.q2",
    title="a new head for SqueezeNet",
    task=("SqueezeNet 1.1 makes its class scores with `classifier[1]`, a 1x1 `nn.Conv2d`, "
          "followed by global average pooling. Write `replace_squeezenet_head(model, "
          "num_classes)` that swaps it for a new 1x1 conv with `num_classes` output "
          "channels and returns the model."),
    answer="replace_squeezenet_head",
    cell=("def replace_squeezenet_head(model: nn.Module, num_classes: int) -> nn.Module:\n"
          '    """A fresh 1x1 conv head: (N, 512, 13, 13) -> (N, num_classes, 13, 13)."""\n'
          "    ### BEGIN SOLUTION\n"
          "    in_channels = model.classifier[1].in_channels\n"
          "    model.classifier[1] = nn.Conv2d(in_channels, num_classes, kernel_size=1)\n"
          "    model.num_classes = num_classes\n"
          "    return model\n"
          "    ### END SOLUTION"),
    parts=(Part("2 classes", _squeeze_case(2)), Part("5 classes", _squeeze_case(5))),
    hint_text=("Read `in_channels` from the old `classifier[1]`; `nn.Conv2d(in, out, "
               "kernel_size=1)` is a per-pixel linear layer."),
)

EXERCISES = (q1, q2)
