"""Exercises for ``02_state_dict.ipynb``: state_dict entries, parameters, buffers, modules."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.answers import is_int, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, digest, prediction_exercise

# --- q1: predict, then verify -----------------------------------------------------------

q1 = prediction_exercise(
    id="state_dict.q1",
    title="predict a state_dict's size",
    task=("**Predict first, run later.** torchvision's `vgg11_bn` has 8 convolutions, each "
          "followed by a `BatchNorm2d`, and 3 `Linear` layers. Without building it, predict:\n\n"
          "- `n_entries`: how many entries its `state_dict()` has;\n"
          "- `n_params`: how many parameter tensors `model.parameters()` yields.\n\n"
          "Write the numbers (or the arithmetic that gives them), run the check, and only "
          "then run the verify cell below it."),
    answer="predictions",
    predictions=(
        Prediction("state_dict_entries", "state_dict entries", mistakes={
                       digest("state_dict.q1", "state_dict_entries", 38):
                           "that counts parameters only: what else does a BatchNorm layer save?",
                       digest("state_dict.q1", "state_dict_entries", 22):
                           "a BatchNorm layer saves tensors too",
                       digest("state_dict.q1", "state_dict_entries", 54):
                           "close: BatchNorm saves one more (small) buffer per layer",
                   }),
        Prediction("parameters", "parameter tensors", mistakes={
                       digest("state_dict.q1", "parameters", 62):
                           "running statistics are buffers, not parameters",
                       digest("state_dict.q1", "parameters", 22):
                           "a BatchNorm layer has learnable parameters too (a scale and a shift)",
                   }),
    ),
    hint_text=("A conv or Linear layer saves `weight` and `bias`. A `BatchNorm2d` has a learnable "
               "`weight` and `bias` and also saves buffers it does not learn by gradient: "
               "`running_mean`, `running_var` and `num_batches_tracked`."),
    verify=("# Verify (after the check): build it on the meta device, no memory needed\n"
            "with torch.device(\"meta\"):\n"
            "    vgg11_bn = torchvision.models.vgg11_bn(weights=None)\n"
            "len(vgg11_bn.state_dict()), len(list(vgg11_bn.parameters()))"),
)


# --- q2: from a key to its module --------------------------------------------------------

def _q2_cases(rng) -> list[dict]:
    return zoo.key_cases(rng, [
        ("keys of VGG-shaped models", zoo.random_tiny_vgg(rng)),
        ("keys of VGG-shaped models", {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]),
                                       "hidden": 8, "num_classes": 3}),
        ("keys of other networks", {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": 3}),
        ("keys of other networks", {"arch": "squeezenet1_1", "num_classes": 4}),
    ])


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"])
    got = fn(model, case["key"])
    if isinstance(got, nn.Module):
        path = zoo.path_of(model, got)
        return {"path": path} if path is not None else {"type": "a module not in this model"}
    return {"type": type(got).__name__}


def _q2_assess(case: dict, got) -> str | None:
    if "path" not in got:
        return f"returned a {got.get('type')}, not the nn.Module that holds the entry"
    if got["path"] == case["key"].rpartition(".")[0]:
        return None
    if case["key"].startswith(got["path"] + ".") or got["path"] == "":
        return "that module contains the entry, but deeper down: return the innermost one"
    return "returned another module of the model, not the one holding this entry"


q2 = Exercise(
    id="state_dict.q2",
    title="from a state_dict key to its module",
    task=("Every `state_dict` key is a module path plus a tensor name: `features.14.weight` "
          "is the `weight` of `model.features[14]`. Write `module_of(model, key)` that "
          "returns the module (the `nn.Module` object itself) that holds the entry `key`, "
          "parameter or buffer. It is checked on random keys of VGG-shaped models of other "
          "widths and of networks with deeper paths (ResNet's `layer1.0.bn1.running_mean`)."),
    answer="module_of",
    parts=(Part("keys of VGG-shaped models"), Part("keys of other networks")),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=("Split the key at its **last** dot: what comes before is a dotted module path. "
               "`model.get_submodule('features.14')` walks such a path for you."),
)


# --- q3: parameters per section ---------------------------------------------------------

def _q3_cases(rng) -> list[dict]:
    tiny = zoo.random_tiny_vgg(rng)
    frozen = zoo.random_tiny_vgg(rng, frozen=["features", "classifier.0"])
    return [
        {"part": "a VGG-shaped model", "label": zoo.describe(tiny), "model": tiny},
        {"part": "with frozen layers", "label": "a partly frozen " + zoo.describe(frozen)[2:],
         "model": frozen},
        {"part": "networks with BatchNorm", "label": "a ResNet",
         "model": {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": rng.randint(2, 9)}},
        {"part": "networks with BatchNorm", "label": "a tiny VGG with BatchNorm",
         "model": {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2, 3]), "hidden": 8,
                   "num_classes": 2}},
    ]


def _section_sizes(spec: dict) -> dict[str, int]:
    model = zoo.build(spec, meta=True)
    sizes = {name: 0 for name, _ in model.named_children()}
    for name, tensor in model.named_parameters():
        sizes[name.split(".", 1)[0]] += tensor.numel()
    return sizes


def _q3_assess(case: dict, got) -> str | None:
    if not isinstance(got, dict):
        return f"expected a dict from section name to count, got {type_name(got)}"
    expected = _section_sizes(case["model"])
    if set(got) != set(expected):
        missing = [k for k in expected if k not in got]
        return (f"the keys should be the names of the model's direct children"
                + (f" (missing {missing[0]!r}; a child without parameters counts 0)" if missing
                   else "; found names that are not children"))
    bad = [k for k in expected if not is_int(got[k]) or got[k] != expected[k]]
    if not bad:
        return None
    model = zoo.build(case["model"], meta=True)
    section = model.get_submodule(bad[0])
    if got[bad[0]] == sum(t.numel() for t in section.state_dict().values()):
        return f"{bad[0]!r}: that counts buffers (BatchNorm's running statistics) too"
    if got[bad[0]] == sum(p.numel() for p in section.parameters() if p.requires_grad):
        return f"{bad[0]!r}: a frozen parameter is still a parameter"
    if got[bad[0]] == len(list(section.parameters())):
        return f"{bad[0]!r}: that counts tensors, not the numbers inside them"
    return f"{bad[0]!r} has another number of parameters"


q3 = Exercise(
    id="state_dict.q3",
    title="parameters per section",
    task=("Write `section_sizes(model)` that returns a dict from the name of each **direct "
          "child** of `model` (`features`, `avgpool`, `classifier` for VGG16) to the number "
          "of parameters (numbers, frozen or not) it holds, 0 for a child without any. Buffers "
          "are not parameters. It is checked on VGG-shaped models of other widths, on partly "
          "frozen ones and on networks with BatchNorm."),
    answer="section_sizes",
    parts=(Part("a VGG-shaped model"), Part("with frozen layers"), Part("networks with BatchNorm")),
    make_cases=_q3_cases, assess=_q3_assess,
    hint_text=("`model.named_children()` gives each direct child with its name; "
               "`p.numel()` counts the numbers in a tensor."),
)

EXERCISES = (q1, q2, q3)
