"""Exercises for ``05_fine_tuning.ipynb``: the last block, learning rates, memory, one step."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises import integrity, zoo
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.observed import (OPTIMIZER_STEPS, class_name, group_settings,
                                           model_state, names_by_id, optimizer_patched,
                                           returned, run_steps, settings_problem, snapshot,
                                           state_problem)
from vgg_course.exercises.predictions import Prediction, prediction_exercise
from vgg_course.exercises.step_predictions import q5, q6
from vgg_course.i18n import N_, _

# --- q1: unfreezing the last conv block ------------------------------------------------------

_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)  # tiny VGG's convs in `features`


def _q1_cases(rng) -> list[dict]:
    frozen = {"frozen": [""]}  # everything frozen to start with
    vgg = "a VGG-shaped model"
    # after transfer learning: the head trains; and a start where the last block half trains
    mixed = [f"features.{i}" for i in _CONVS if i != 28] + ["features.28.weight",
                                                            "classifier.0", "classifier.3"]
    specs = [(vgg, zoo.random_tiny_vgg(rng, **frozen)),
             (vgg, zoo.random_tiny_vgg(rng, frozen=["features"])),
             (vgg, zoo.random_tiny_vgg(rng, frozen=mixed)),
             ("other layouts of `features`",
              {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": 8,
               "num_classes": 2, **frozen}),
             ("other layouts of `features`",
              {"arch": "squeezenet1_1", "num_classes": rng.randint(2, 9), **frozen})]
    return [{"part": part, "label": zoo.describe(spec) + (
                "" if spec["frozen"] == [""] else ", partly trainable"), "model": spec}
            for part, spec in specs]


def _q1_observe(fn, case: dict):
    model = zoo.build(case["model"], meta=case.get("meta", False))
    before = snapshot(model)
    return {"returned": returned(fn(model), model), **model_state(model, before)}


def _q1_assess(case: dict, got) -> str | None:
    want = case["expected"]
    if got["returned"] not in ("None", "the argument"):
        return _("the function returned a {type}: change the model passed in").format(
            type=got["returned"])
    problem = state_problem(got, want)
    if problem:
        return problem
    trainable, block = set(got["trainable"]), want["block"]
    still = [n for n in block if n not in trainable]
    if still:
        return _("{name} is in the last block but still frozen").format(name=still[0])
    was = set(want["trainable_before"])
    extra = [n for n in got["trainable"] if n not in block and n not in was]
    if extra:
        if extra[0].startswith("classifier"):
            return _("{name} was unfrozen, but it is in the classifier: unfreeze only the last "
                     "block").format(name=extra[0])
        return _("{name} was unfrozen, but it is in an earlier block: unfreeze only the last "
                 "block").format(name=extra[0])
    lost = [n for n in want["trainable_before"] if n not in trainable]
    return _("{name} was trainable and is now frozen: change nothing else").format(
        name=lost[0]) if lost else None


q1 = Exercise(
    id="fine_tuning.q1",
    title=N_("unfreeze the last conv block"),
    task=N_("Partial fine-tuning also trains the last conv block. On VGG16 that is "
            "`features[24:]`, but the index depends on the network. Write "
            "`unfreeze_last_block(model)`: make trainable every parameter of the last block of "
            "`model.features`, that is, of the layers after the last `MaxPool2d` that is not the "
            "very last layer of `features`; change nothing else. The check starts from models "
            "frozen everywhere or in part (after transfer learning): VGG-shaped ones, a VGG "
            "with BatchNorm (other indices) and SqueezeNet."),
    answer="unfreeze_last_block",
    parts=(Part("a VGG-shaped model"), Part("other layouts of `features`")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=N_("`enumerate(model.features)` with `isinstance(layer, nn.MaxPool2d)` finds the "
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


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"], meta=True)
    before = snapshot(model)
    groups = fn(model, case["base_lr"])
    optimizer = torch.optim.SGD(list(groups), lr=case["base_lr"])  # it must accept the groups
    names = names_by_id(model)
    return {"groups": [{"names": [names.get(id(p), "?") for p in g["params"]], **group_settings(g)}
                       for g in optimizer.param_groups], **model_state(model, before)}


def _q2_assess(case: dict, got) -> str | None:
    want = case["expected"]
    if not isinstance(got, dict) or "groups" not in got:
        return _("expected a list of parameter groups")
    listed = [n for g in got["groups"] for n in g["names"]]
    if case["aspect"] == "clean":
        problem = state_problem(got, want["state"])
        if problem:
            return problem
        if got["trainable"] != want["state"]["trainable"]:
            return _("requires_grad flags of the model were changed: only read them")
        if any(n not in want["state"]["trainable"] for n in listed):
            return _("frozen parameters are included")
        return (_("a parameter is in more than one group") if len(listed) != len(set(listed))
                else None)
    section = want[case["aspect"]]
    what = (_("a trainable classifier tensor") if case["aspect"] == "head"
            else _("a trainable feature tensor"))
    problem = settings_problem(got["groups"], section, what)
    if problem is None:
        return None
    if case["aspect"] == "head":
        return _("{problem}: the classifier trains at base_lr, with SGD's defaults "
                 "otherwise").format(problem=problem)
    return _("{problem}: the features train at base_lr / 10, with SGD's defaults "
             "otherwise").format(problem=problem)


q2 = Exercise(
    id="fine_tuning.q2",
    title=N_("discriminative learning rates"),
    task=N_("Write `param_groups(model, base_lr)` that returns optimizer parameter groups: the "
            "trainable parameters of `model.classifier` with `lr=base_lr`, the trainable "
            "parameters of `model.features` with `lr=base_lr / 10`, and no frozen parameter. "
            "`torch.optim.SGD(param_groups(model, 0.01), lr=0.01)` must accept it. It is checked "
            "with other learning rates, on VGG-shaped models and SqueezeNet frozen in different "
            "places."),
    answer="param_groups",
    parts=tuple(Part(name) for name in _Q2_ASPECTS.values()),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=N_("An optimizer accepts a list of dicts, each with its own `params` and `lr`. "
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
             "model": spec, "lr": rng.choice([0.05, 0.01, 0.002]), "data": rng.randrange(10_000)}
            for spec in specs for aspect in _Q3_ASPECTS]


def _q3_observe(fn, case: dict):
    model = zoo.build(case["model"])
    before = snapshot(model)
    optimizer = fn(model, case["lr"])
    if not isinstance(optimizer, torch.optim.Optimizer):
        return {"type": type(optimizer).__name__, **model_state(model, before)}
    names = names_by_id(model)
    got = {"class": class_name(optimizer), "patched": optimizer_patched(optimizer),
           "groups": [{"names": [names.get(id(p), "?") for p in g["params"]], **group_settings(g)}
                      for g in optimizer.param_groups], **model_state(model, before)}
    if case["aspect"] == "block" and got["class"] == "torch.optim.sgd.SGD" and not got["patched"]:
        got["steps"] = run_steps(model, optimizer, case)
    return got


def _q3_assess(case: dict, got) -> str | None:
    want = case["expected"]
    if "groups" not in got:
        return _("expected the optimizer back, got a {type}").format(type=got.get("type"))
    problem = state_problem(got, want["state"])
    if problem:
        return problem
    if got["patched"]:
        return _("optimizer.{name} was replaced on the optimizer itself").format(
            name=got["patched"][0])
    optimised = [n for g in got["groups"] for n in g["names"]]
    trainable = set(got["trainable"])
    if case["aspect"] == "block":
        if not set(want["block"]) <= trainable:
            return _("the last block is not trainable")
        missing = [n for n in want["block"] if n not in optimised]
        if missing:
            return _("{name} is trainable but the optimizer does not hold it: it will "
                     "never change").format(name=missing[0])
        if got["class"] != want["class"] or "steps" not in got:
            return _("the optimizer is {cls}, not torch.optim.SGD").format(cls=got["class"])
        moved = [n for n, v in want["steps"].items() if abs(got["steps"].get(n, 1e9) - v) > 1e-3]
        return (_("after {steps} steps {name} is not where SGD with these "
                  "settings takes it").format(steps=OPTIMIZER_STEPS, name=moved[0])
                if moved else None)
    if case["aspect"] == "head":
        missing = [n for n in want["head"] if n not in optimised]
        return _("{name} is not in the optimizer").format(name=missing[0]) if missing else None
    if got["class"] != want["class"]:
        return _("the optimizer is {cls}: keep torch.optim.SGD").format(cls=got["class"])
    problem = settings_problem(got["groups"], want["settings"], _("a parameter"),
                               listed_only=True)
    if problem:
        return _("{problem}: keep lr, momentum=0.9 and SGD's other defaults").format(
            problem=problem)
    frozen = [n for n in optimised if n not in trainable]
    if frozen:
        return _("{name} is frozen but in the optimizer").format(name=frozen[0])
    if len(optimised) != len(set(optimised)):
        return _("a parameter is in the optimizer twice")
    if set(trainable) != set(want["state"]["trainable"]):
        extra = sorted(trainable - set(want["state"]["trainable"]))
        return (_("more than the last block and the head became trainable") if extra
                else _("a parameter that trained before is frozen now"))
    return None


q3 = Exercise(
    id="fine_tuning.q3",
    title=N_("find the bug: unfreezing and the optimizer"),
    task=N_("**Find the bug.** After transfer learning (features frozen, the head trains), "
            "this function should set up partial fine-tuning: also train the last conv block, "
            "with SGD at `lr` and momentum 0.9. It runs, the loss goes down, but the last "
            "block never changes:\n\n"
            "```python\n"
            "def setup_partial_finetune(model, lr):\n"
            "    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],\n"
            "                                lr=lr, momentum=0.9)\n"
            "    for param in model.features[24:].parameters():  # also train the last conv block\n"
            "        param.requires_grad = True\n"
            "    return optimizer\n"
            "```\n\n"  # BUGGY_SETUP, written out: a task is one literal (translated whole)
            "Write the fixed `setup_partial_finetune(model, lr)` (return the optimizer). It is "
            "checked on VGG-shaped models of other widths, with more or less of the head "
            "trainable."),
    answer="setup_partial_finetune",
    parts=tuple(Part(name) for name in _Q3_ASPECTS.values()),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=N_("An optimizer takes the list of tensors it is given *when it is built*. Which "
                 "tensors were in that list?"),
)


# --- q4: predict, then verify ------------------------------------------------------------------

q4 = prediction_exercise(
    id="fine_tuning.q4",
    title=N_("predict the memory of training"),
    task=N_("**Predict first, run later.** In fp32 every number takes 4 bytes. Counting the "
            "weights, their gradients and the optimizer's state, how many bytes does training "
            "hold **per parameter**:\n\n"
            "- `sgd_momentum`: a trainable parameter with `SGD(momentum=0.9)`;\n"
            "- `adamw`: a trainable parameter with `AdamW`;\n"
            "- `frozen`: a frozen parameter (any optimizer)."),
    answer="predictions",
    predictions=(Prediction("sgd_momentum", "SGD with momentum"), Prediction("adamw", "AdamW"),
                 Prediction("frozen", "a frozen parameter")),
    hint_text=N_("SGD with momentum keeps a `momentum_buffer` per parameter; AdamW keeps "
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
            "    return used // sum(p.numel() for p in layer.parameters())\n\n\n"
            "ex.q4.reveal(\n"
            "    sgd_momentum=bytes_per_parameter(\n"
            "        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),\n"
            "    adamw=bytes_per_parameter(lambda ps: torch.optim.AdamW(ps)),\n"
            "    frozen=bytes_per_parameter(None, frozen=True))"),
)


EXERCISES = (q1, q2, q3, q4, q5, q6)
