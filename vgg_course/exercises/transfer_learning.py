"""Exercises for ``04_transfer_learning.ipynb``: head sizes, a buggy head, buggy preprocessing."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises import integrity, zoo
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.observed import class_name, param_table, same_table, values
from vgg_course.exercises.pictures import case_weights, run_transform
from vgg_course.exercises.predictions import Prediction, prediction_exercise
from vgg_course.i18n import N_, _

# --- q1: predict, then verify -----------------------------------------------------------

q1 = prediction_exercise(
    id="transfer_learning.q1",
    title=N_("predict the cost of a new head"),
    task=N_("**Predict first, run later.** Transfer learning freezes everything and puts a new "
            "output layer in place of the old one. Predict:\n\n"
            "- `resnet_trainable`: trainable parameters after transfer learning on ResNet-18 "
            "(its head is `fc = Linear(512, 1000)`) for **5** classes;\n"
            "- `vgg_total`: the total number of parameters (trainable or not) of VGG16 "
            "(138,357,544 with its 1000-class head `Linear(4096, 1000)`) after transfer "
            "learning for **10** classes."),
    answer="predictions",
    predictions=(Prediction("resnet_trainable", "ResNet-18, 5 classes"),
                 Prediction("vgg_total", "VGG16 total, 10 classes")),
    hint_text=N_("A `Linear(n_in, k)` has `n_in * k` weights and `k` biases. The total is the "
                 "old total, minus the old head, plus the new one."),
    verify=("# Verify (after the check): shapes only, on the meta device\n"
            "with torch.device(\"meta\"):\n"
            "    resnet = torchvision.models.resnet18(weights=None)\n"
            "    vgg = torchvision.models.vgg16(weights=None)\n"
            "resnet = vc.recipes.apply(\"transfer_learning\", resnet, 5)\n"
            "vgg = vc.recipes.apply(\"transfer_learning\", vgg, 10)\n"
            "ex.q1.reveal(resnet_trainable=vc.freezing.trainable_count(resnet),\n"
            "             vgg_total=sum(p.numel() for p in vgg.parameters()))"),
)


# --- q2: find the bug: the head ------------------------------------------------------------

BUGGY_HEAD = '''def transfer_model(model, num_classes):
    model.classifier[6] = nn.Linear(4096, num_classes)
    for param in model.parameters():
        param.requires_grad = False
    return model'''

_ASPECTS = {"trains": "only the new head trains", "fits": "the head fits the model",
            "kept": "the pretrained layers are kept"}


def _q2_cases(rng) -> list[dict]:
    specs = [zoo.random_tiny_vgg(rng, num_classes=rng.randint(11, 1000)) for _ in range(2)]
    return [{"part": _ASPECTS[aspect], "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "num_classes": rng.choice([2, 3, 7])}
            for spec in specs for aspect in _ASPECTS]


def head_observation(model: nn.Module, result: object, num_classes: int) -> dict:
    """What a head-replacing answer did, read through the classes: what it ``returned`` (the
    argument, another model, then the ``argument``'s table too, or a type), the model's
    ``params`` (``param_table``), ``modules``' classes, ``patched`` methods, whether it is
    ``finite``, and the shape ``out`` of a forward pass (or why it failed)."""
    is_model = isinstance(result, nn.Module)
    target = result if is_model else model
    obs = {"returned": ("the argument" if result is model else "another model" if is_model
                        else type(result).__name__),
           "params": param_table(target),
           "modules": [[n, class_name(m)] for n, m in nn.Module.named_modules(target)],
           "patched": integrity.patched(target),
           "finite": integrity.finite(values(p) for _, p in integrity.named_parameters(target))}
    if obs["returned"] == "another model":
        obs["argument"] = param_table(model)
    try:
        with torch.no_grad():
            nn.Module.train(target, False)
            out = list(nn.Module.__call__(target, torch.zeros(2, 3, 32, 32)).shape)
    except Exception as exc:  # a head that does not fit: the forward pass says so
        out = {"error": type(exc).__name__}
    obs["out"] = out
    return obs


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"])
    return head_observation(model, fn(model, case["num_classes"]), case["num_classes"])


def forged(got: dict) -> str | None:
    """What makes a :func:`head_observation` untrustworthy or wrong whatever the aspect."""
    if got["returned"] not in ("the argument", "another model"):
        return _("the function returned {type}, not the model: return the model").format(
            type=got["returned"])
    if got["patched"]:
        return _("{name} was replaced on the model itself: change layers, "
                 "not methods").format(name=got["patched"][0])
    if not got["finite"]:
        return _("some parameters are NaN or infinite")
    return None


def assess_head(case: dict, got: dict, head: str) -> str | None:
    """Judge a new head at path ``head`` for one aspect of the case, from ``case["expected"]``
    (the instructor's observation of the model before and after the reference answer)."""
    want = case["expected"]
    problem = forged(got)
    if problem:
        return problem
    if got["returned"] == "another model" and not same_table(got["argument"], want["before"]):
        return _("another model was returned, but the one passed in was changed too: "
                 "change the model and return it")
    params, k = got["params"], case["num_classes"]
    new = {n: v for n, v in params.items() if n.startswith(head + ".")}
    old = {n: v for n, v in params.items() if not n.startswith(head + ".")}
    classes = dict(got["modules"])
    aspect = case["aspect"]
    if aspect == "fits":
        if sorted(new) != [f"{head}.bias", f"{head}.weight"] or classes.get(head) != \
                "torch.nn.modules.linear.Linear":
            return _("the head must be one nn.Linear layer with a weight and a bias")
        if new[f"{head}.weight"][0][1:] != [want["in_features"]]:
            return _("the new layer's in_features does not match what the layer before it "
                     "gives (read it from the old head, do not hard-code 4096)")
        if new[f"{head}.weight"][0][0] != k or got["out"] != [2, k]:
            return _("the model should give {k} scores per image").format(k=k)
        return None
    if aspect == "trains":
        if not new or not all(v[1] for v in new.values()):
            return _("the new head is frozen: nothing would train")
        if any(v[1] for v in old.values()):
            name = next(n for n, v in old.items() if v[1])
            return _("{name} is trainable: only the new head should train").format(name=name)
        return None
    before = {n: v for n, v in want["before"].items() if not n.startswith(head + ".")}
    if sorted(old) != sorted(before):
        return _("layers other than the head were removed or added")
    changed = [n for n, v in old.items()
               if v[0] != before[n][0] or abs(v[2] - before[n][2]) > 1e-4]
    if changed:
        return _("{name} was re-created or changed: keep the pretrained layers").format(
            name=changed[0])
    others = [m for m in got["modules"] if m[0] != head and not m[0].startswith(head + ".")]
    return None if others == want["modules"] else _(
        "layers other than the head were replaced or added: keep the pretrained layers")


def _q2_assess(case: dict, got) -> str | None:
    return assess_head(case, got, "classifier.6")


q2 = Exercise(
    id="transfer_learning.q2",
    title=N_("find the bug: a new head"),
    task=N_("**Find the bug.** This function should do transfer learning on any VGG-shaped "
            "model: freeze everything, then a new output layer for `num_classes` that is the "
            "only thing to train. It runs without an error on VGG16, yet it is wrong twice:\n\n"
            "```python\n"
            "def transfer_model(model, num_classes):\n"
            "    model.classifier[6] = nn.Linear(4096, num_classes)\n"
            "    for param in model.parameters():\n"
            "        param.requires_grad = False\n"
            "    return model\n"
            "```\n\n"  # BUGGY_HEAD, written out: a task is one literal (translated whole)
            "Write the fixed `transfer_model(model, num_classes)` (return the model). It is "
            "checked on VGG-shaped models whose hidden layers are not 4096 wide."),
    answer="transfer_model",
    parts=tuple(Part(name) for name in _ASPECTS.values()),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=N_("Which parameters does the loop freeze, given *when* it runs? And where does "
                 "4096 come from: could the model tell you instead?"),
)


# --- q3: find the bug: normalisation -------------------------------------------------------

BUGGY_PREPROCESS = '''def eval_preprocess(weights, image_size):
    return transforms.Compose([
        transforms.Resize(image_size),
        transforms.CenterCrop(image_size),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]),
    ])'''

def _q3_cases(rng) -> list[dict]:
    cases = []
    for _ in range(2):
        mean = [round(rng.uniform(0.2, 0.7), 3) for _ in range(3)]
        std = [round(rng.uniform(0.1, 0.4), 3) for _ in range(3)]
        crop = rng.choice([160, 192, 224])
        cases.append({"kind": "case", "mean": mean, "std": std, "crop": crop, "resize": crop + 32})
    cases.append({"kind": "torchvision", "name": "VGG16_Weights.IMAGENET1K_V1"})
    out = []
    for i, weights in enumerate(cases):
        size = rng.choice([48, 64, 96, 112])
        long, short = rng.randint(2 * size, 3 * size), rng.randint(size + 24, 2 * size - 8)
        shape = [long, short] if i % 2 == 0 else [short, long]  # landscape and portrait
        for part in ("normalised as the weights say", "the requested size"):
            out.append({"part": part, "weights": weights, "image_size": size,
                        "image": [rng.randrange(10_000), *shape], "rng": rng.randrange(10_000),
                        "label": (N_("weights with other statistics") if weights["kind"] == "case"
                                  else weights["name"])})
    return out


def _q3_observe(fn, case: dict):
    return run_transform(fn(case_weights(case["weights"]), case["image_size"]), case)


def _close(got: list, want: list, tol: float) -> bool:
    return len(got) == len(want) and all(abs(a - b) <= tol for a, b in zip(got, want))


def _pattern(pooled: list[list[float]]) -> list[float]:
    """The pooled values with each channel's mean and spread taken out: the picture's layout."""
    flat = []
    for row in pooled:
        mean = sum(row) / len(row)
        sd = (sum((v - mean) ** 2 for v in row) / len(row)) ** 0.5 or 1.0
        flat += [(v - mean) / sd for v in row]
    return flat


def _q3_assess(case: dict, got) -> str | None:
    if "shape" not in got:
        return _("the transform returned a {type}, not a tensor").format(type=got.get("type"))
    size, want = case["image_size"], case["expected"]
    if got["shape"] != [3, size, size]:
        return _("expected a (3, {size}, {size}) tensor for image_size={size}, "
                 "got {shape}").format(size=size, shape=tuple(got["shape"]))
    if not got["finite"]:
        return _("the tensor holds NaN or infinite values")
    if got["spread"] > 1e-6:
        return _("the same picture gave a different tensor each time: random augmentation "
                 "(random crops, flips, colour changes) has no place in evaluation")
    if case["part"] == "the requested size":
        return None if _close(_pattern(got["pooled"]), _pattern(want["pooled"]), 0.1) else _(
            "the picture is not resized (shorter side to image_size) then centre-cropped "
            "as in the code above: parts of it moved, were cut off or were stretched")
    if not (isinstance(got.get("flat"), list) and _close(got["flat"], want["flat"], 0.02)):
        return _("the normalised values do not match these weights' mean and std "
                 "(they differ between weights: take them from the weights)")
    return None


q3 = Exercise(
    id="transfer_learning.q3",
    title=N_("find the bug: preprocessing"),
    task=N_("**Find the bug.** Quick mode feeds the network smaller images than the weights "
            "were trained on, so this function resizes to `image_size` itself. The images come "
            "out the right size, but the model's accuracy is poor:\n\n"
            "```python\n"
            "def eval_preprocess(weights, image_size):\n"
            "    return transforms.Compose([\n"
            "        transforms.Resize(image_size),\n"
            "        transforms.CenterCrop(image_size),\n"
            "        transforms.ToTensor(),\n"
            "        transforms.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5]),\n"
            "    ])\n"
            "```\n\n"  # BUGGY_PREPROCESS, written out: a task is one literal (translated whole)
            "Write the fixed `eval_preprocess(weights, image_size)`: as above, the shorter side "
            "resized to `image_size` and the centre cropped to `image_size` × `image_size`, "
            "normalised exactly as the weights expect. It is checked with VGG16's weights and "
            "with weights whose preprocessing uses other numbers, on pictures of any shape."),
    answer="eval_preprocess",
    parts=(Part("normalised as the weights say"), Part("the requested size")),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=N_("Where do the numbers in `Normalize` come from? `weights.transforms()` returns "
                 "the preprocessing the weights were trained with; print it."),
)

EXERCISES = (q1, q2, q3)
