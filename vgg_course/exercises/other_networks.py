"""Exercises for ``07_other_networks.ipynb``: heads of any network, ResNet recipes, BatchNorm."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.answers import plain, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, digest, prediction_exercise
from vgg_course.exercises.transfer_learning import head_observation


def last_scoring_layer(model: nn.Module) -> str:
    """The path of the last Linear or Conv2d registered: the layer that makes class scores."""
    return [n for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]


# --- q1: where is the head? ---------------------------------------------------------------

_HEAD_NAMES = ("out", "scores", "last", "logits", "predict", "decision")


def _q1_cases(rng) -> list[dict]:
    names = rng.sample(_HEAD_NAMES, 2)
    specs = [
        ("VGG and ResNet", zoo.random_tiny_vgg(rng)),
        ("VGG and ResNet", {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": 3}),
        ("SqueezeNet (a conv head)", {"arch": "squeezenet1_1", "num_classes": rng.randint(2, 9)}),
        ("networks the task does not name", {"arch": "tinynet", "head": names[0], "width": 4,
                                             "num_classes": rng.randint(2, 9)}),
        ("networks the task does not name", {"arch": "tinynet", "head": names[1], "width": 6,
                                             "num_classes": rng.randint(2, 9), "conv_head": True}),
        ("networks the task does not name", {"arch": "mobilenet_v3_small", "num_classes": 4}),
    ]
    return [{"part": part, "label": zoo.describe(spec), "model": spec} for part, spec in specs]


def _q1_observe(fn, case: dict):
    return plain(fn(zoo.build(case["model"], meta=True)))


def _q1_assess(case: dict, got) -> str | None:
    if not isinstance(got, str):
        return f"expected a module path (a str like 'a.b'), got {type_name(got)}"
    model = zoo.build(case["model"], meta=True)
    try:
        module = model.get_submodule(got)
    except AttributeError:
        return f"{got!r} is not a module path of this network"
    if got == last_scoring_layer(model):
        return None
    return f"{got!r} is a {type(module).__name__}, but not the layer that makes the class scores"


q1 = Exercise(
    id="other_networks.q1",
    title="find the head of any network",
    task=("Write `head_path(model)` that returns the dotted module path of the layer that "
          "produces the class scores, e.g. `'classifier.6'` for VGG16 and `'fc'` for ResNet. "
          "It is checked on VGG- and ResNet-shaped models, on SqueezeNet (whose head is a 1×1 "
          "convolution) and on networks this notebook never shows, with heads of any name: "
          "find it from the structure, not from a table of names."),
    answer="head_path",
    parts=(Part("VGG and ResNet"), Part("SqueezeNet (a conv head)"),
           Part("networks the task does not name")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=("`model.named_modules()` walks every layer in order, with its dotted path; "
               "the head is the last layer with weights: a `Linear` or a `Conv2d`."),
)


# --- q2: partial fine-tuning on a ResNet ---------------------------------------------------

_Q2_ASPECTS = {"trains": "only layer4 and the new fc train", "fits": "the new fc fits",
               "kept": "the pretrained layers are kept"}


def _q2_cases(rng) -> list[dict]:
    specs = [{"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": rng.randint(10, 1000),
              "seed": rng.randrange(1000)},
             {"arch": "resnet", "layers": [1, 1, rng.choice([1, 2]), 1], "bottleneck": True,
              "num_classes": rng.randint(10, 1000), "seed": rng.randrange(1000)}]
    return [{"part": _Q2_ASPECTS[aspect], "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "num_classes": rng.choice([2, 3, 5])}
            for spec in specs for aspect in _Q2_ASPECTS]


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"])
    return head_observation(model, fn(model, case["num_classes"]), case["num_classes"])


def _q2_assess(case: dict, got) -> str | None:
    before = dict(zoo.reference(case["model"]).named_parameters())
    params, k = got["params"], case["num_classes"]
    new = {n: v for n, v in params.items() if n.startswith("fc.")}
    old = {n: v for n, v in params.items() if not n.startswith("fc.")}
    if case["aspect"] == "fits":
        if sorted(new) != ["fc.bias", "fc.weight"]:
            return "fc must be one Linear layer"
        if new["fc.weight"][0] != [k, before["fc.weight"].shape[1]] or got["out"] != [2, k]:
            return (f"the new fc must map the features the network gives to {k} scores (read "
                    "the width from the old fc: not every ResNet has 512)")
        return None
    if case["aspect"] == "trains":
        wrong = [n for n, v in params.items() if v[1] != n.startswith(("layer4.", "fc."))]
        if not wrong:
            return None
        return f"{wrong[0]} is {'trainable' if params[wrong[0]][1] else 'frozen'}"
    if sorted(old) != sorted(n for n in before if not n.startswith("fc.")):
        return "layers other than fc were removed or added"
    changed = [n for n, v in old.items() if abs(v[2] - zoo.fingerprint(before[n])) > 1e-4]
    return f"{changed[0]} was re-created or changed: keep the pretrained layers" if changed else None


q2 = Exercise(
    id="other_networks.q2",
    title="partial fine-tuning on a ResNet",
    task=("ResNet has no `features` / `classifier` sections, so the section-based recipes do "
          "not apply. Write `resnet_partial(model, num_classes)` that does partial fine-tuning "
          "by hand: freeze everything, make `model.layer4` trainable, give the model a new "
          "trainable `fc` for `num_classes` classes, and return the model. It is checked on "
          "ResNets of other depths, with basic and bottleneck blocks."),
    answer="resnet_partial",
    parts=tuple(Part(name) for name in _Q2_ASPECTS.values()),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=("Three steps, in an order that matters: freeze all, unfreeze `layer4`, new "
               "`fc` (a new layer is trainable). `model.fc.in_features` is the width to keep."),
)


# --- q3: find the bug: BatchNorm in a frozen backbone ---------------------------------------

BUGGY_STEP = '''def train_step(model, images, labels, optimizer):
    model.train()
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()'''

_Q3_ASPECTS = {"frozen": "frozen BatchNorm statistics stay put",
               "learns": "trainable layers still learn", "loss": "the loss"}


def _q3_cases(rng) -> list[dict]:
    head_only = {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": 3,
                 "seed": rng.randrange(1000), "frozen": ["conv1", "bn1", "layer1", "layer2",
                                                         "layer3", "layer4"]}
    with_layer4 = dict(head_only, seed=rng.randrange(1000), frozen=head_only["frozen"][:-1])
    return [{"part": part, "aspect": aspect, "label": label, "model": spec,
             "batch": rng.randrange(10_000)}
            for spec, label in ((head_only, "a ResNet, only fc trains"),
                                (with_layer4, "a ResNet, layer4 and fc train"))
            for aspect, part in _Q3_ASPECTS.items()]


def case_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(6, 3, 32, 32, generator=gen), torch.randint(0, 3, (6,), generator=gen)


def _bn_fingerprints(model: nn.Module) -> dict[str, float]:
    return {n: zoo.fingerprint(m.running_mean) for n, m in model.named_modules()
            if isinstance(m, nn.BatchNorm2d)}


def _q3_observe(fn, case: dict):
    model = zoo.build(case["model"])
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    before, fc = _bn_fingerprints(model), zoo.fingerprint(model.fc.weight)
    loss = fn(model, *case_batch(case["batch"]), optimizer)
    after = _bn_fingerprints(model)
    return {"loss": plain(loss), "bn_moved": [n for n in before if after.get(n) != before[n]],
            "fc_moved": zoo.fingerprint(model.fc.weight) != fc}


def _frozen_bn(model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)
            and not any(p.requires_grad for p in m.parameters())]


def _q3_assess(case: dict, got) -> str | None:
    model = zoo.build(case["model"])
    frozen = _frozen_bn(model)
    moved = set(got["bn_moved"])
    if case["aspect"] == "frozen":
        return (f"{sum(n in moved for n in frozen)} frozen BatchNorm layers changed their "
                "running statistics" if any(n in moved for n in frozen) else None)
    if case["aspect"] == "learns":
        if not got["fc_moved"]:
            return "the new head did not change: no optimizer step happened"
        still = [n for n, m in model.named_modules()
                 if isinstance(m, nn.BatchNorm2d) and n not in frozen and n not in moved]
        return (f"{still[0]} trains, but stopped updating its statistics: only frozen "
                "BatchNorm layers go to eval mode" if still else None)
    loss = got["loss"]
    if isinstance(loss, bool) or not isinstance(loss, (int, float)):
        return f"expected the loss as a float, got {type_name(loss)}"
    model.train()
    for name in frozen:
        model.get_submodule(name).eval()
    images, labels = case_batch(case["batch"])
    with torch.no_grad():
        want = float(nn.functional.cross_entropy(model(images), labels))
    return None if abs(loss - want) < 1e-4 else (
        "not the loss of this batch with trainable layers in training mode and frozen "
        "BatchNorm layers in eval mode")


q3 = Exercise(
    id="other_networks.q3",
    title="find the bug: BatchNorm in a frozen backbone",
    task=("**Find the bug.** Transfer learning on a ResNet: the backbone is frozen, only `fc` "
          "(and sometimes `layer4`) trains. With this training step, the validation accuracy "
          "of the *frozen* backbone still drifts from epoch to epoch:\n\n"
          f"```python\n{BUGGY_STEP}\n```\n\n"
          "Write the fixed `train_step(model, images, labels, optimizer)`: frozen BatchNorm "
          "layers must keep their running statistics (put them in eval mode), while trainable "
          "layers, BatchNorm included, train as before. Return the loss as a float."),
    answer="train_step",
    parts=tuple(Part(name) for name in _Q3_ASPECTS.values()),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=("`requires_grad=False` stops gradients, not BatchNorm's running averages: those "
               "are updated in the forward pass of a module in training mode. Find the "
               "`nn.BatchNorm2d` modules whose parameters are all frozen."),
)


# --- q4: predict, then verify -------------------------------------------------------------

_Q4 = "other_networks.q4"

q4 = prediction_exercise(
    id=_Q4,
    title="predict the size of other heads",
    task=("**Predict first, run later.** Transfer learning for **5** classes replaces the head "
          "and trains only it. Predict the trainable parameters:\n\n"
          "- `squeezenet`: on SqueezeNet 1.1, whose head is `Conv2d(512, 1000, kernel_size=1)`;\n"
          "- `mobilenet`: on MobileNetV3-Small, whose head is `Linear(1024, 1000)`."),
    answer="predictions",
    predictions=(
        Prediction("squeezenet", "SqueezeNet 1.1", mistakes={
            digest(_Q4, "squeezenet", 23_045): "a 1x1 kernel has one weight per input channel",
            digest(_Q4, "squeezenet", 2_560): "the new conv has biases too",
        }),
        Prediction("mobilenet", "MobileNetV3-Small", mistakes={
            digest(_Q4, "mobilenet", 5_120): "the new layer has biases too",
        }),
    ),
    hint_text=("A 1×1 convolution with `c_in` inputs and `k` outputs has `k * c_in * 1 * 1 + k` "
               "parameters: exactly a Linear layer's count."),
    verify=("# Verify (after the check): shapes only, on the meta device\n"
            "with torch.device(\"meta\"):\n"
            "    squeezenet = torchvision.models.squeezenet1_1(weights=None)\n"
            "    mobilenet = torchvision.models.mobilenet_v3_small(weights=None)\n"
            "(vc.freezing.trainable_count(vc.recipes.apply(\"transfer_learning\", squeezenet, 5)),\n"
            " vc.freezing.trainable_count(vc.recipes.apply(\"transfer_learning\", mobilenet, 5)))"),
)

EXERCISES = (q1, q2, q3, q4)
