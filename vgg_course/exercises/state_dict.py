"""Exercises for ``02_state_dict.ipynb``: reading VGG16's structure and its state_dict."""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn
from torchvision.models import VGG, vgg16

from vgg_course.exercises.core import Exercise, Part, tiny_model


@lru_cache(maxsize=1)
def _vgg16_meta() -> VGG:
    with torch.device("meta"):  # real shapes, no memory, no random init cost
        return vgg16(weights=None)


def _int_answer(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"expected an int, got {type(value).__name__}"
    return None


# --- q1: reading the structure -------------------------------------------------------

def _third_256_conv(value: object) -> str | None:
    if problem := _int_answer(value):
        return problem
    features = _vgg16_meta().features
    if not 0 <= value < len(features):
        return f"model.features has indices 0 to {len(features) - 1}"
    layer = features[value]
    if not isinstance(layer, nn.Conv2d):
        return f"features[{value}] is a {type(layer).__name__}, not a Conv2d"
    if layer.out_channels != 256:
        return f"features[{value}] is a conv with {layer.out_channels} output channels, not 256"
    convs = [i for i, m in enumerate(features) if isinstance(m, nn.Conv2d) and m.out_channels == 256]
    return None if value == convs[2] else (
        f"features[{value}] is a 256-channel conv, but not the third one: count them in order")


q1 = Exercise(
    id="state_dict.q1",
    title="find a layer by its index",
    task=("VGG16's `features` is an `nn.Sequential` of convs, ReLUs and pools. Which index "
          "of `model.features` holds the **third** convolution with 256 output channels? "
          "Set `third_256_conv` to that index (an `int`)."),
    answer="third_256_conv",
    cell=("# The index in model.features of VGG16's third conv with 256 output channels (an int).\n"
          "### BEGIN SOLUTION\n"
          "with torch.device(\"meta\"):  # real shapes, no memory, built in milliseconds\n"
          "    vgg = torchvision.models.vgg16(weights=None)\n"
          "convs_256 = [i for i, m in enumerate(vgg.features)\n"
          "             if isinstance(m, nn.Conv2d) and m.out_channels == 256]\n"
          "third_256_conv = convs_256[2]\n"
          "### END SOLUTION"),
    parts=(Part("the third 256-channel conv", _third_256_conv),),
    hint_text=("Print `model.features` and read the `Conv2d(in, out, ...)` lines, or list "
               "`[(i, m) for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d)]`."),
)


# --- q2: state_dict keys <-> modules --------------------------------------------------

_KEYS = ("features.0.weight", "features.14.bias", "classifier.3.weight", "classifier.6.bias")


def _owner_test(keys: tuple[str, ...]):
    def test(fn: object) -> str | None:
        if not callable(fn):
            return f"expected a function, got {type(fn).__name__}"
        model = tiny_model(num_classes=3)
        for key in keys:
            module_path = key.rsplit(".", 1)[0]
            got = fn(model, key)
            if got is not model.get_submodule(module_path):
                what = type(got).__name__
                return f"for {key!r} it returned a {what}, not the module that holds the tensor"
        return None
    return test


q2 = Exercise(
    id="state_dict.q2",
    title="from a state_dict key to its module",
    task=("Every `state_dict` key is a module path plus a tensor name: `features.14.weight` "
          "is the `weight` of `model.features[14]`. Write `module_of(model, key)` that "
          "returns the module (the `nn.Module` object itself) that holds the tensor `key`. "
          "It must work for any model, not just VGG16."),
    answer="module_of",
    cell=("def module_of(model: nn.Module, key: str) -> nn.Module:\n"
          '    """The module holding the state_dict entry `key`, e.g. "features.14.weight"."""\n'
          "    ### BEGIN SOLUTION\n"
          '    path, _, _tensor_name = key.rpartition(".")\n'
          "    return model.get_submodule(path)\n"
          "    ### END SOLUTION"),
    parts=(Part("keys in `features`", _owner_test(_KEYS[:2])),
           Part("keys in `classifier`", _owner_test(_KEYS[2:]))),
    hint_text=("Split the key at its last dot. `model.get_submodule('features.14')` walks "
               "a dotted path for you."),
)


# --- q3: counting entries and parameters ----------------------------------------------

def _n_keys(value: object) -> str | None:
    if problem := _int_answer(value):
        return problem
    expected = len(_vgg16_meta().state_dict())
    if value == expected:
        return None
    return ("too many: VGG16 has no BatchNorm, so no running-stat buffers" if value > expected
            else "too few: every conv and linear layer has a weight AND a bias entry")


def _classifier_params(value: object) -> str | None:
    if problem := _int_answer(value):
        return problem
    expected = sum(p.numel() for p in _vgg16_meta().classifier.parameters())
    if value == expected:
        return None
    features = sum(p.numel() for p in _vgg16_meta().features.parameters())
    if value == expected + features:
        return "that is the whole model; count only `model.classifier`"
    return "not the number of parameters in `model.classifier` (weights and biases)"


q3 = Exercise(
    id="state_dict.q3",
    title="count entries and parameters",
    task=("Set `n_keys` to the number of entries in VGG16's `state_dict()`, and "
          "`classifier_params` to the number of parameters (numbers, weights and biases) "
          "in `model.classifier`. `answers` collects both."),
    answer="answers",
    cell=("### BEGIN SOLUTION\n"
          "with torch.device(\"meta\"):\n"
          "    vgg = torchvision.models.vgg16(weights=None)\n"
          "n_keys = len(vgg.state_dict())\n"
          "classifier_params = sum(p.numel() for p in vgg.classifier.parameters())\n"
          "### END SOLUTION\n"
          'answers = {"n_keys": n_keys, "classifier_params": classifier_params}'),
    parts=(Part("number of state_dict entries", lambda a: _n_keys(_field(a, "n_keys"))),
           Part("parameters in the classifier",
                lambda a: _classifier_params(_field(a, "classifier_params")))),
    hint_text=("`len(model.state_dict())`; `sum(p.numel() for p in module.parameters())`."),
)


def _field(answers: object, key: str) -> object:
    if not isinstance(answers, dict):
        raise TypeError(f"`answers` should be a dict, got {type(answers).__name__}")
    value = answers.get(key, ...)
    if value is ...:
        raise NotImplementedError(key)  # this part is still the stub
    return value


EXERCISES = (q1, q2, q3)
