"""Exercises for ``02_state_dict.ipynb``: state_dict entries, parameters, buffers, modules."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.answers import is_int, plain, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, prediction_exercise
from vgg_course.i18n import N_, _

# --- q1: predict, then verify -----------------------------------------------------------

q1 = prediction_exercise(
    id="state_dict.q1",
    title=N_("predict a state_dict's size"),
    task=N_("**Predict first, run later.** torchvision's `vgg11_bn` has 8 convolutions, each "
            "followed by a `BatchNorm2d`, and 3 `Linear` layers. A conv or `Linear` layer "
            "stores two tensors, `weight` and `bias`. A `BatchNorm2d` stores five: a learnable "
            "scale and shift (`weight`, `bias`) and three **buffers** it updates while "
            "training but never learns by gradient (`running_mean`, `running_var`, "
            "`num_batches_tracked`). `state_dict()` holds every parameter **and** every "
            "buffer; `model.parameters()` yields the parameters only (what an optimizer "
            "trains). Without building it, predict:\n\n"
            "- `state_dict_entries`: how many entries its `state_dict()` has;\n"
            "- `parameters`: how many parameter tensors `model.parameters()` yields.\n\n"
            "Write the numbers (or the arithmetic that gives them) and run the check: it "
            "records your prediction. Then run the verify cell below it, which builds the "
            "model and shows your prediction beside what really happens."),
    answer="predictions",
    predictions=(Prediction("state_dict_entries", "state_dict entries"),
                 Prediction("parameters", "parameter tensors")),
    hint_text=N_("`state_dict()` saves everything the model needs to be rebuilt: parameters "
                 "AND buffers. `parameters()` yields only the tensors an optimizer trains."),
    verify=("# Verify (after the check): build it on the meta device, no memory needed\n"
            "with torch.device(\"meta\"):\n"
            "    vgg11_bn = torchvision.models.vgg11_bn(weights=None)\n"
            "ex.q1.reveal(state_dict_entries=len(vgg11_bn.state_dict()),\n"
            "             parameters=len(list(vgg11_bn.parameters())))"),
)


# --- q2: from a key to its module --------------------------------------------------------

_TIED = ("features.26", "features.28")


def _pick(rng, spec: dict, keep) -> str:
    return rng.choice([k for k in zoo.build(spec, meta=True).state_dict() if keep(k)])


def _q2_cases(rng) -> list[dict]:
    """Every seed has each kind of key: a conv's, a BatchNorm buffer's, a weight that two
    layers share, a classifier's, and deeper paths (ResNet, SqueezeNet)."""
    tiny, tied = zoo.random_tiny_vgg(rng), zoo.random_tiny_vgg(rng, tie=list(_TIED))
    bn = {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": 8, "num_classes": 3}
    resnet = {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": 3}
    squeeze = {"arch": "squeezenet1_1", "num_classes": 4}
    buffer = rng.choice(["running_mean", "running_var", "num_batches_tracked"])
    picks = [
        ("keys of VGG-shaped models", tiny, _pick(rng, tiny, lambda k: k.startswith("features."))),
        ("keys of VGG-shaped models", bn, _pick(rng, bn, lambda k: k.endswith(buffer))),
        ("keys of VGG-shaped models", tied, f"{_TIED[1]}.weight"),
        ("keys of VGG-shaped models", tiny, _pick(rng, tiny, lambda k: k.startswith("classifier."))),
        ("keys of other networks", resnet, _pick(rng, resnet, lambda k: "downsample" in k)),
        ("keys of other networks", resnet, _pick(rng, resnet, lambda k: k.count(".") == 3
                                                 and k.endswith(buffer))),
        ("keys of other networks", squeeze, _pick(rng, squeeze, lambda k: k.count(".") == 3)),
    ]
    return [{"part": part, "model": spec, "key": key,
             "label": f"{key!r} of {zoo.describe(spec)}" + (
                 f" whose {_TIED[0]} and {_TIED[1]} share one weight" if "tie" in spec else "")}
            for part, spec, key in picks]


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"])
    before = zoo.snapshot(model)
    got = fn(model, case["key"])
    seen = {"changed": zoo.changes(before, model)}
    if isinstance(got, nn.Module):
        path = zoo.path_of(model, got)
        return {**seen, **({"path": path} if path is not None
                           else {"type": N_("a module that is not part of this model")})}
    return {**seen, "type": type(got).__name__}


def _q2_assess(case: dict, got) -> str | None:
    if got.get("changed"):
        return _("the model changed ({change}): `module_of` must only look").format(
            change=got["changed"][0])
    if "path" not in got:
        return _("returned a {type}, not the nn.Module of this model that holds the entry").format(
            type=_(str(got.get("type"))))
    expected = case["expected"]
    if got["path"] == expected["path"]:
        return None
    if got["path"] in expected["shared"]:
        return _("that module uses the same (shared) tensor, but the key names another module: "
                 "read the module's path from the key, not from the tensor")
    if got["path"] in expected["ancestors"]:
        return _("that module contains the entry, but deeper down: return the innermost one")
    return _("returned another module of the model, not the one holding this entry")


q2 = Exercise(
    id="state_dict.q2",
    title=N_("from a state_dict key to its module"),
    task=N_("Every `state_dict` key is a module path plus a tensor name: `features.14.weight` "
            "is the `weight` of `model.features[14]`. Write `module_of(model, key)` that "
            "returns the module (the `nn.Module` object of `model` itself, not a copy) that "
            "holds the entry `key`, parameter or buffer, and changes nothing in `model`. It "
            "is checked on keys of VGG-shaped models of other widths (a conv's, a "
            "`BatchNorm2d` buffer's such as `features.1.running_var`, a classifier's, and a "
            "weight that two layers share, whose key names one of them) and of networks "
            "with deeper paths (ResNet's `layer2.0.downsample.1.weight`)."),
    answer="module_of",
    parts=(Part("keys of VGG-shaped models"), Part("keys of other networks")),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=N_("Split the key at its **last** dot: what comes before is a dotted module path. "
                 "`model.get_submodule('features.14')` walks such a path for you."),
)


# --- q3: parameters per section ---------------------------------------------------------

def _q3_cases(rng) -> list[dict]:
    tiny, tied = zoo.random_tiny_vgg(rng), zoo.random_tiny_vgg(rng, tie=list(_TIED))
    frozen = zoo.random_tiny_vgg(rng, frozen=["features", "classifier.0"])
    return [
        {"part": "a VGG-shaped model", "label": zoo.describe(tiny), "model": tiny},
        {"part": "a VGG-shaped model", "model": tied, "label": (
            f"{zoo.describe(tied)} whose {_TIED[0]} and {_TIED[1]} share one weight")},
        {"part": "with frozen layers", "label": "a partly frozen " + zoo.describe(frozen)[2:],
         "model": frozen},
        {"part": "networks with BatchNorm", "label": N_("a ResNet"),
         "model": {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": rng.randint(2, 9)}},
        {"part": "networks with BatchNorm", "label": N_("a tiny VGG with BatchNorm"),
         "model": {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2, 3]), "hidden": 8,
                   "num_classes": 2}},
    ]


def _q3_observe(fn, case: dict):
    model = zoo.build(case["model"])
    before = zoo.snapshot(model)
    got = plain(fn(model))
    return {"value": got, "changed": zoo.changes(before, model)}


_Q3_MISTAKES = (("shared_twice", N_("a tensor that two layers share is counted twice")),
                ("with_buffers", N_("that counts buffers (BatchNorm's running statistics) too")),
                ("trainable", N_("a frozen parameter is still a parameter")),
                ("tensors", N_("that counts tensors, not the numbers inside them")))


def _q3_assess(case: dict, observed) -> str | None:
    if observed.get("changed"):
        return _("the model changed ({change}): `section_sizes` must only count").format(
            change=observed["changed"][0])
    got, expected = observed["value"], case["expected"]
    if not isinstance(got, dict):
        return _("expected a dict from section name to count, got {type}").format(
            type=type_name(got))
    sizes = expected["sizes"]
    if set(got) != set(sizes):
        missing = [k for k in sizes if k not in got]
        if missing:
            return _("the keys should be the names of the model's direct children (missing "
                     "{name}; a child without parameters counts 0)").format(name=repr(missing[0]))
        return _("the keys should be the names of the model's direct children; found names "
                 "that are not children")
    bad = [k for k in sizes if not is_int(got[k]) or got[k] != sizes[k]]
    if not bad:
        return None
    if not is_int(got[bad[0]]):
        return _("{name}: expected an int, got {type}").format(
            name=repr(bad[0]), type=type_name(got[bad[0]]))
    for kind, says in _Q3_MISTAKES:
        if got[bad[0]] == expected[kind][bad[0]]:
            return f"{bad[0]!r}: {_(says)}"
    return _("{name} has another number of parameters").format(name=repr(bad[0]))


q3 = Exercise(
    id="state_dict.q3",
    title=N_("parameters per section"),
    task=N_("Write `section_sizes(model)` that returns a dict from the name of each **direct "
            "child** of `model` (`features`, `avgpool`, `classifier` for VGG16) to the number "
            "of parameters (numbers, frozen or not) it holds, as an `int`, 0 for a child "
            "without any, and changes nothing in `model`. Buffers are not parameters, and a "
            "tensor that two layers of a child share counts once. It is checked on "
            "VGG-shaped models of other widths (one with two convs sharing a weight), on "
            "partly frozen ones and on networks with BatchNorm."),
    answer="section_sizes",
    parts=(Part("a VGG-shaped model"), Part("with frozen layers"), Part("networks with BatchNorm")),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=N_("`model.named_children()` gives each direct child with its name; "
                 "`child.parameters()` yields each tensor once, shared or not; "
                 "`p.numel()` counts the numbers in a tensor."),
)

EXERCISES = (q1, q2, q3)
