"""Exercises for ``07_other_networks.ipynb``: heads of any network, ResNet recipes, BatchNorm.

What a right answer gives on a case comes from the instructor's side (``case["expected"]``);
the observations here are read through the classes (``integrity``), never the instance.
"""

from __future__ import annotations

import json

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.answers import plain, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.observed import same_table
from vgg_course.exercises.predictions import Prediction, prediction_exercise
from vgg_course.exercises.steps import STEPS, run_steps
from vgg_course.exercises.transfer_learning import forged, head_observation
from vgg_course.i18n import N_, _


def _layers(model: nn.Module) -> list[list]:
    return [[n, type(m).__qualname__, list(vars(m).get("_parameters", {}))]
            for n, m in nn.Module.named_modules(model)]


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
    model = zoo.build(case["model"], meta=True)
    before = _layers(model)
    value = fn(model)
    found = None
    if isinstance(value, str):
        try:
            found = type(nn.Module.get_submodule(model, value)).__name__
        except (AttributeError, TypeError):
            found = None
    return {"value": plain(value), "module": found, "changed": _layers(model) != before}


def _q1_assess(case: dict, got) -> str | None:
    if got["changed"]:
        return _("the network was changed: find its head, leave the network as it is")
    value = got["value"]
    if not isinstance(value, str):
        return _("expected a module path (a str like 'a.b'), got {type}: return "
                 "the layer's name, not the layer").format(type=type_name(value))
    if got["module"] is None:
        return _("{value!r} is not a module path of this network").format(value=value)
    if value == case["expected"]["value"]:
        return None
    return _("{value!r} is a {module}, but not the layer that makes the class scores").format(
        value=value, module=got["module"])


q1 = Exercise(
    id="other_networks.q1",
    title=N_("find the head of any network"),
    task=N_("Write `head_path(model)` that returns the dotted module path of the layer that "
            "produces the class scores, e.g. `'classifier.6'` for VGG16 and `'fc'` for ResNet. "
            "It is checked on VGG- and ResNet-shaped models, on SqueezeNet (whose head is a 1×1 "
            "convolution) and on networks this notebook never shows, with heads of any name: "
            "find it from the structure, not from a table of names."),
    answer="head_path",
    parts=(Part("VGG and ResNet"), Part("SqueezeNet (a conv head)"),
           Part("networks the task does not name")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=N_("`model.named_modules()` walks every layer in order, with its dotted path; "
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
             "model": spec, "num_classes": k}
            for spec in specs for k in [rng.choice([2, 3, 5])] for aspect in _Q2_ASPECTS]


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"])
    return head_observation(model, fn(model, case["num_classes"]), case["num_classes"])


def _q2_assess(case: dict, got) -> str | None:
    want, k = case["expected"], case["num_classes"]
    problem = forged(got)
    if problem:
        return problem
    if got["returned"] == "another model" and not same_table(got["argument"], want["before"]):
        return _("another model was returned, but the one passed in was changed too: "
                 "change the model and return it")
    params, classes = got["params"], dict(got["modules"])
    new = {n: v for n, v in params.items() if n.startswith("fc.")}
    old = {n: v for n, v in params.items() if not n.startswith("fc.")}
    if case["aspect"] == "fits":
        if sorted(new) != ["fc.bias", "fc.weight"] or classes.get("fc") != \
                "torch.nn.modules.linear.Linear":
            return _("fc must be one nn.Linear layer with a weight and a bias")
        if new["fc.weight"][0] != [k, want["in_features"]] or got["out"] != [2, k]:
            return _("the new fc must map the features the network gives to {k} scores (read "
                     "the width from the old fc: not every ResNet has 512)").format(k=k)
        return None
    if sorted(params) != sorted(want["after"]):
        return _("layers other than fc were removed or added")
    if case["aspect"] == "trains":
        wrong = [n for n, v in params.items() if v[1] != want["after"][n][1]]
        if not wrong:
            return None
        return (_("{name} is trainable") if params[wrong[0]][1] else
                _("{name} is frozen")).format(name=wrong[0])
    changed = [n for n, v in old.items() if not (v[0] == want["before"][n][0] and
                                                 abs(v[2] - want["before"][n][2]) <= 1e-4)]
    if changed:
        return _("{name} was re-created or changed: keep the pretrained layers").format(
            name=changed[0])
    others = [m for m in got["modules"] if m[0] != "fc" and not m[0].startswith("fc.")]
    return None if others == want["modules"] else _(
        "layers other than fc were replaced or added: keep the pretrained layers")


q2 = Exercise(
    id="other_networks.q2",
    title=N_("partial fine-tuning on a ResNet"),
    task=N_("ResNet has no `features` / `classifier` sections, so the section-based recipes do "
            "not apply. Write `resnet_partial(model, num_classes)` that does partial fine-tuning "
            "by hand: freeze everything, make `model.layer4` trainable, give the model a new "
            "trainable `fc` for `num_classes` classes, and return the model. It is checked on "
            "ResNets of other depths, with basic and bottleneck blocks."),
    answer="resnet_partial",
    parts=tuple(Part(name) for name in _Q2_ASPECTS.values()),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=N_("Three steps, in an order that matters: freeze all, unfreeze `layer4`, new "
                 "`fc` (a new layer is trainable). `model.fc.in_features` is the width to "
                 "keep."),
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
    return [{"part": part, "aspect": aspect, "label": label, "model": spec, "batches": batches}
            for spec, label in ((head_only, N_("a ResNet, only fc trains")),
                                (with_layer4, N_("a ResNet, layer4 and fc train")))
            for batches in [[rng.randrange(10_000) for _ in range(STEPS)]]
            for aspect, part in _Q3_ASPECTS.items()]


_RUNS: dict[str, tuple] = {}  # the last runs: each public model is checked for three parts


def _q3_observe(fn, case: dict) -> dict:
    """:func:`run_steps`, run once per answer and model (the three parts' cases share it)."""
    key = json.dumps([case["model"], case["batches"]], sort_keys=True)
    if key not in _RUNS or _RUNS[key][0] is not fn:
        if len(_RUNS) >= 4:
            _RUNS.pop(next(iter(_RUNS)))
        _RUNS[key] = (fn, json.dumps(run_steps(fn, case)))
    return json.loads(_RUNS[key][1])


def _close(a, b) -> bool:
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
        abs(a - b) <= 1e-4 + 1e-5 * abs(b)


def _q3_assess(case: dict, got) -> str | None:
    want = case["expected"]
    if got["patched"]:
        return _("{name} was replaced on the model: change modes, not methods").format(
            name=got["patched"][0])
    if not all(s["finite"] for s in got["states"]):
        return _("some parameters or statistics are NaN or infinite")
    if len(got["states"]) != want["steps"] + 1 or any(
            sorted(g["params"]) != want["params"] or sorted(g["bn"]) != want["bn"]
            for g in got["states"]):
        return _("layers were added to or removed from the model")
    if case["aspect"] == "loss":
        for step, (loss, right) in enumerate(zip(got["losses"], want["losses"]), 1):
            if isinstance(loss, bool) or not isinstance(loss, (int, float)):
                return _("expected the loss as a float, got {type}").format(type=type_name(loss))
            if not _close(loss, right):
                return _("step {step}: not the loss of this batch with trainable layers in "
                         "training mode and frozen BatchNorm layers in eval mode").format(
                             step=step)
        return None
    frozen = set(want["frozen_bn"])
    if case["aspect"] == "frozen":
        for step, g in enumerate(got["states"][1:], 1):
            moved = [n for n in sorted(frozen) if g["bn"][n] != got["states"][0]["bn"][n]]
            if moved:
                return _("step {step}: {n} frozen BatchNorm layers changed their "
                         "running statistics").format(step=step, n=len(moved))
        return None
    for step, (g, w) in enumerate(zip(got["states"][1:], want["states"][1:]), 1):
        start = got["states"][step - 1]
        if g["params"] == start["params"]:
            return _("step {step}: no parameter changed: no optimizer step happened").format(
                step=step)
        still = [n for n in sorted(set(g["bn"]) - frozen) if g["bn"][n] == start["bn"][n]]
        if still:
            return (_("step {step}: {name} trains, but did not update its statistics: only "
                      "frozen BatchNorm layers go to eval mode") if step == 1 else
                    _("step {step}: {name} trains, but did not update its statistics: the "
                      "model was in eval mode after validation, and stayed so (model.train())")
                    ).format(step=step, name=still[0])
        off = [n for n in g["params"] if not _close(g["params"][n], w["params"][n])] + [
            n for n in g["bn"] if not all(_close(x, y) for x, y in zip(g["bn"][n], w["bn"][n]))]
        if off:
            return (_("step {step}: {name} is not what one SGD step on this batch gives")
                    if step == 1 else
                    _("step {step}: {name} is not what one SGD step on this batch gives (were "
                      "the gradients of the step before cleared?)")).format(step=step, name=off[0])
    return None


q3 = Exercise(
    id="other_networks.q3",
    title=N_("find the bug: BatchNorm in a frozen backbone"),
    task=N_("**Find the bug.** Transfer learning on a ResNet: the backbone is frozen, only `fc` "
            "(and sometimes `layer4`) trains. With this training step, the validation accuracy "
            "of the *frozen* backbone still drifts from epoch to epoch:\n\n"
            "```python\n"
            "def train_step(model, images, labels, optimizer):\n"
            "    model.train()\n"
            "    loss = nn.functional.cross_entropy(model(images), labels)\n"
            "    optimizer.zero_grad()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "    return loss.item()\n"
            "```\n\n"  # BUGGY_STEP, written out: a task is one literal (translated whole)
            "Write the fixed `train_step(model, images, labels, optimizer)`: frozen BatchNorm "
            "layers must keep their running statistics (put them in eval mode), while trainable "
            "layers, BatchNorm included, train as before. Return the loss as a float. It is "
            "checked as the lab calls it: several steps on one model and one optimizer (SGD "
            "with momentum), with a validation pass in between that leaves the model in eval "
            "mode."),
    answer="train_step",
    parts=tuple(Part(name) for name in _Q3_ASPECTS.values()),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=N_("`requires_grad=False` stops gradients, not BatchNorm's running averages: "
                 "those are updated in the forward pass of a module in training mode. Find the "
                 "`nn.BatchNorm2d` modules whose parameters are all frozen."),
)


# --- q4: predict, then verify -------------------------------------------------------------

q4 = prediction_exercise(
    id="other_networks.q4",
    title=N_("predict the size of other heads"),
    task=N_("**Predict first, run later.** Transfer learning for **5** classes replaces the head "
            "and trains only it. Predict the trainable parameters:\n\n"
            "- `squeezenet`: on SqueezeNet 1.1, whose head is `Conv2d(512, 1000, kernel_size=1)`;\n"
            "- `mobilenet`: on MobileNetV3-Small, whose head is `Linear(1024, 1000)`.\n\n"
            "Run the check: it records your prediction. Then run the verify cell below it, "
            "which shows your prediction beside what really happens."),
    answer="predictions",
    predictions=(Prediction("squeezenet", "SqueezeNet 1.1"),
                 Prediction("mobilenet", "MobileNetV3-Small")),
    hint_text=N_("A 1×1 convolution with `c_in` inputs and `k` outputs has "
                 "`k * c_in * 1 * 1 + k` parameters: exactly a Linear layer's count."),
    verify=("# Verify (after the check): shapes only, on the meta device\n"
            "with torch.device(\"meta\"):\n"
            "    squeezenet = torchvision.models.squeezenet1_1(weights=None)\n"
            "    mobilenet = torchvision.models.mobilenet_v3_small(weights=None)\n"
            "squeezenet = vc.recipes.apply(\"transfer_learning\", squeezenet, 5)\n"
            "mobilenet = vc.recipes.apply(\"transfer_learning\", mobilenet, 5)\n"
            "ex.q4.reveal(squeezenet=vc.freezing.trainable_count(squeezenet),\n"
            "             mobilenet=vc.freezing.trainable_count(mobilenet))"),
)

EXERCISES = (q1, q2, q3, q4)
