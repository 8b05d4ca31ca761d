"""Exercises for ``05_fine_tuning.ipynb``: the last block, learning rates, optimizer order, memory."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, digest, prediction_exercise


def last_block_start(features: nn.Sequential) -> int:
    """Index of the first layer after the last MaxPool2d that is not at the very end."""
    pools = [i for i, m in enumerate(features)
             if isinstance(m, nn.MaxPool2d) and i < len(features) - 1]
    return pools[-1] + 1 if pools else 0


# --- q1: unfreezing the last conv block ------------------------------------------------------

def _q1_cases(rng) -> list[dict]:
    frozen = {"frozen": [""]}  # everything frozen to start with
    a = zoo.random_tiny_vgg(rng, **frozen)
    return [
        {"part": "a VGG-shaped model", "label": zoo.describe(a), "model": a},
        {"part": "other layouts of `features`", "label": "a tiny VGG with BatchNorm",
         "model": {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": 8,
                   "num_classes": 2, **frozen}},
        {"part": "other layouts of `features`", "label": "SqueezeNet 1.1",
         "model": {"arch": "squeezenet1_1", "num_classes": rng.randint(2, 9), **frozen}},
    ]


def _q1_observe(fn, case: dict):
    model = zoo.build(case["model"], meta=True)  # shapes and flags are all that matter here
    fn(model)
    return {"names": zoo.param_names(model), "trainable": zoo.trainable_names(model),
            "shapes": zoo.shapes(model)}


def _q1_assess(case: dict, got) -> str | None:
    model = zoo.build(case["model"], meta=True)
    if got["names"] != zoo.param_names(model) or got["shapes"] != zoo.shapes(model):
        return "the model's parameters changed: only flip requires_grad"
    start = last_block_start(model.features)
    block = {f"features.{i}" for i in range(start, len(model.features))}
    in_block = [n for n in got["names"] if ".".join(n.split(".")[:2]) in block]
    trainable = set(got["trainable"])
    still = [n for n in in_block if n not in trainable]
    if still:
        return f"{still[0]} is in the last block but still frozen"
    extra = [n for n in trainable if n not in in_block]
    if extra:
        where = "the classifier" if extra[0].startswith("classifier") else "an earlier block"
        return f"{extra[0]} was unfrozen, but it is in {where}: unfreeze only the last block"
    return None


q1 = Exercise(
    id="fine_tuning.q1",
    title="unfreeze the last conv block",
    task=("Partial fine-tuning also trains the last conv block. On VGG16 that is "
          "`features[24:]`, but the index depends on the network. Write "
          "`unfreeze_last_block(model)`: make trainable every parameter of the last block of "
          "`model.features`, that is, of the layers after the last `MaxPool2d` that is not the "
          "very last layer of `features`; change nothing else. The check starts from models "
          "that are frozen everywhere: VGG-shaped ones, a VGG with BatchNorm (other indices) "
          "and SqueezeNet."),
    answer="unfreeze_last_block",
    parts=(Part("a VGG-shaped model"), Part("other layouts of `features`")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=("`enumerate(model.features)` with `isinstance(layer, nn.MaxPool2d)` finds the "
               "pools; slicing an `nn.Sequential` (`model.features[i:]`) gives a module you "
               "can loop over."),
)


# --- q2: discriminative learning rates ------------------------------------------------------

_Q2_ASPECTS = {"head": "classifier at base_lr", "features": "trainable features at base_lr / 10",
               "clean": "no frozen or repeated parameters"}


def _q2_cases(rng) -> list[dict]:
    tiny = zoo.random_tiny_vgg(rng, frozen=["features." + str(i) for i in range(24)])
    squeeze = {"arch": "squeezenet1_1", "num_classes": 3,
               "frozen": ["features." + str(i) for i in range(rng.choice([6, 9]))]}
    head_only = zoo.random_tiny_vgg(rng, frozen=["features", "classifier.0"])
    return [{"part": _Q2_ASPECTS[aspect], "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "base_lr": rng.choice([0.1, 0.01, 0.003])}
            for spec in (tiny, squeeze, head_only) for aspect in _Q2_ASPECTS]


def _named(model: nn.Module) -> dict[int, str]:
    return {id(p): n for n, p in model.named_parameters()}


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"], meta=True)
    groups = list(fn(model, case["base_lr"]))
    torch.optim.SGD(groups, lr=case["base_lr"])  # an optimizer must accept the groups
    names = _named(model)
    return [{"names": [names.get(id(p), "?") for p in g["params"]],
             "lr": float(g.get("lr", case["base_lr"]))} for g in groups]


def _q2_assess(case: dict, groups) -> str | None:
    model = zoo.build(case["model"], meta=True)
    trainable = set(zoo.trainable_names(model))
    lr = {n: g["lr"] for g in groups for n in g["names"]}
    listed = [n for g in groups for n in g["names"]]
    base = case["base_lr"]
    if case["aspect"] == "clean":
        if any(n not in trainable for n in listed):
            return "frozen parameters are included"
        return "a parameter is in more than one group" if len(listed) != len(set(listed)) else None
    section = "classifier." if case["aspect"] == "head" else "features."
    want = base if case["aspect"] == "head" else base / 10
    wrong = [n for n in trainable if n.startswith(section) and abs(lr.get(n, -1) - want) > 1e-12]
    if not wrong:
        return None
    if case["aspect"] == "head":
        return f"{len(wrong)} trainable classifier tensors do not get base_lr"
    return f"{len(wrong)} trainable feature tensors do not get base_lr / 10"


q2 = Exercise(
    id="fine_tuning.q2",
    title="discriminative learning rates",
    task=("Write `param_groups(model, base_lr)` that returns optimizer parameter groups: the "
          "trainable parameters of `model.classifier` with `lr=base_lr`, the trainable "
          "parameters of `model.features` with `lr=base_lr / 10`, and no frozen parameter. "
          "`torch.optim.SGD(param_groups(model, 0.01), lr=0.01)` must accept it. It is checked "
          "with other learning rates, on VGG-shaped models and SqueezeNet frozen in different "
          "places."),
    answer="param_groups",
    parts=tuple(Part(name) for name in _Q2_ASPECTS.values()),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=("An optimizer accepts a list of dicts, each with its own `params` and `lr`. "
               "Filter each section's parameters on `requires_grad`."),
)


# --- q3: find the bug: the optimizer and unfreezing ------------------------------------------

BUGGY_SETUP = '''def setup_partial_finetune(model, lr):
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                lr=lr, momentum=0.9)
    for param in model.features[24:].parameters():  # also train the last conv block
        param.requires_grad = True
    return optimizer'''

_Q3_ASPECTS = {"block": "the last block is optimised", "head": "the head is optimised",
               "settings": "the settings are kept, nothing frozen is in it"}


def _q3_cases(rng) -> list[dict]:
    specs = [zoo.random_tiny_vgg(rng, frozen=["features"]),
             zoo.random_tiny_vgg(rng, frozen=["features", "classifier.0", "classifier.3"])]
    return [{"part": _Q3_ASPECTS[aspect], "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "lr": rng.choice([0.05, 0.01, 0.002])}
            for spec in specs for aspect in _Q3_ASPECTS]


def _q3_observe(fn, case: dict):
    model = zoo.build(case["model"])
    optimizer = fn(model, case["lr"])
    if not isinstance(optimizer, torch.optim.Optimizer):
        return {"type": type(optimizer).__name__}
    names = _named(model)
    return {"trainable": zoo.trainable_names(model),
            "groups": [{"names": [names.get(id(p), "?") for p in g["params"]],
                        "lr": float(g["lr"]), "momentum": float(g.get("momentum", 0.0))}
                       for g in optimizer.param_groups]}


def _q3_assess(case: dict, got) -> str | None:
    if "groups" not in got:
        return f"expected the optimizer back, got a {got.get('type')}"
    model = zoo.build(case["model"], meta=True)
    block = [n for n in zoo.param_names(model)
             if n.startswith("features.") and int(n.split(".")[1]) >= 24]
    head = [n for n in zoo.trainable_names(model)]  # trainable before the call: the head
    optimised = {n for g in got["groups"] for n in g["names"]}
    trainable = set(got["trainable"])
    if case["aspect"] == "block":
        if not set(block) <= trainable:
            return "the last block is not trainable"
        missing = [n for n in block if n not in optimised]
        return (f"{missing[0]} is trainable but the optimizer does not hold it: it will never "
                "change" if missing else None)
    if case["aspect"] == "head":
        missing = [n for n in head if n not in optimised]
        return f"{missing[0]} is not in the optimizer" if missing else None
    if any(abs(g["lr"] - case["lr"]) > 1e-12 or g["momentum"] != 0.9 for g in got["groups"]):
        return "keep lr and momentum=0.9 for every parameter"
    frozen = [n for n in optimised if n not in trainable]
    if frozen:
        return f"{frozen[0]} is frozen but in the optimizer"
    if set(trainable) - set(block) - set(head):
        return "more than the last block and the head became trainable"
    return None


q3 = Exercise(
    id="fine_tuning.q3",
    title="find the bug: unfreezing and the optimizer",
    task=("**Find the bug.** After transfer learning (features frozen, the head trains), "
          "this function should set up partial fine-tuning: also train the last conv block, "
          "with SGD at `lr` and momentum 0.9. It runs, the loss goes down, but the last "
          "block never changes:\n\n"
          f"```python\n{BUGGY_SETUP}\n```\n\n"
          "Write the fixed `setup_partial_finetune(model, lr)` (return the optimizer). It is "
          "checked on VGG-shaped models of other widths, with more or less of the head trainable."),
    answer="setup_partial_finetune",
    parts=tuple(Part(name) for name in _Q3_ASPECTS.values()),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=("An optimizer takes the list of tensors it is given *when it is built*. Which "
               "tensors were in that list?"),
)


# --- q4: predict, then verify ------------------------------------------------------------------

_Q4 = "fine_tuning.q4"

q4 = prediction_exercise(
    id=_Q4,
    title="predict the memory of training",
    task=("**Predict first, run later.** In fp32 every number takes 4 bytes. Counting the "
          "weights, their gradients and the optimizer's state, how many bytes does training "
          "hold **per parameter**:\n\n"
          "- `sgd_momentum`: a trainable parameter with `SGD(momentum=0.9)`;\n"
          "- `adamw`: a trainable parameter with `AdamW`;\n"
          "- `frozen`: a frozen parameter (any optimizer)."),
    answer="predictions",
    predictions=(
        Prediction("sgd_momentum", "SGD with momentum", mistakes={
            digest(_Q4, "sgd_momentum", 8): "momentum keeps one more number per parameter",
            digest(_Q4, "sgd_momentum", 4): "training also stores a gradient per parameter",
        }),
        Prediction("adamw", "AdamW", mistakes={
            digest(_Q4, "adamw", 12): "AdamW keeps two running averages per parameter",
            digest(_Q4, "adamw", 8): "and the gradient, and the optimizer's state?",
        }),
        Prediction("frozen", "a frozen parameter", mistakes={
            digest(_Q4, "frozen", 0): "a frozen weight is still used in the forward pass",
            digest(_Q4, "frozen", 8): "a frozen parameter gets no gradient",
        }),
    ),
    hint_text=("SGD with momentum keeps a `momentum_buffer` per parameter; AdamW keeps "
               "`exp_avg` and `exp_avg_sq`. A frozen parameter has no `.grad` and the optimizer "
               "never sees it."),
    verify=("# Verify (after the check): measure it on one small layer\n"
            "def bytes_per_parameter(make_optimizer, *, frozen=False):\n"
            "    layer = nn.Linear(100, 10).requires_grad_(not frozen)\n"
            "    tensors = list(layer.parameters())\n"
            "    if not frozen:\n"
            "        optimizer = make_optimizer(layer.parameters())\n"
            "        layer(torch.randn(4, 100)).sum().backward()\n"
            "        optimizer.step()\n"
            "        tensors += [p.grad for p in layer.parameters()]\n"
            "        tensors += [t for state in optimizer.state.values() for t in state.values()\n"
            "                    if torch.is_tensor(t) and t.numel() > 1]  # not AdamW's step count\n"
            "    used = sum(t.numel() * t.element_size() for t in tensors)\n"
            "    return used / sum(p.numel() for p in layer.parameters())\n\n\n"
            "(bytes_per_parameter(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),\n"
            " bytes_per_parameter(lambda ps: torch.optim.AdamW(ps)),\n"
            " bytes_per_parameter(None, frozen=True))"),
)

EXERCISES = (q1, q2, q3, q4)
