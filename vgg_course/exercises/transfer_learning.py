"""Exercises for ``04_transfer_learning.ipynb``: head sizes, a buggy head, buggy preprocessing."""

from __future__ import annotations

import torch
from PIL import Image
from torch import nn
from torchvision.models import VGG16_Weights

from vgg_course.exercises import zoo
from vgg_course.exercises.answers import plain
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, digest, prediction_exercise

# --- q1: predict, then verify -----------------------------------------------------------

_Q1 = "transfer_learning.q1"

q1 = prediction_exercise(
    id=_Q1,
    title="predict the cost of a new head",
    task=("**Predict first, run later.** Transfer learning freezes everything and puts a new "
          "output layer in place of the old one. Predict:\n\n"
          "- `resnet_trainable`: trainable parameters after transfer learning on ResNet-18 "
          "(its head is `fc = Linear(512, 1000)`) for **5** classes;\n"
          "- `vgg_total`: the total number of parameters (trainable or not) of VGG16 "
          "(138,357,544 with its 1000-class head `Linear(4096, 1000)`) after transfer "
          "learning for **10** classes."),
    answer="predictions",
    predictions=(
        Prediction("resnet_trainable", "ResNet-18, 5 classes", mistakes={
                       digest(_Q1, "resnet_trainable", 2560): "the new layer has biases too",
                       digest(_Q1, "resnet_trainable", 20485):
                           "ResNet-18's head sees 512 features, not VGG's 4096",
                   }),
        Prediction("vgg_total", "VGG16 total, 10 classes", mistakes={
            digest(_Q1, "vgg_total", 138_357_544):
                "the old 1000-class head is gone: its parameters no longer count",
            digest(_Q1, "vgg_total", 134_268_738): "that is the total for 2 classes",
            digest(_Q1, "vgg_total", 40_970): "that is the trainable part; the question is the total",
        }),
    ),
    hint_text=("A `Linear(n_in, k)` has `n_in * k` weights and `k` biases. The total is the "
               "old total, minus the old head, plus the new one."),
    verify=("# Verify (after the check): shapes only, on the meta device\n"
            "with torch.device(\"meta\"):\n"
            "    resnet = torchvision.models.resnet18(weights=None)\n"
            "    vgg = torchvision.models.vgg16(weights=None)\n"
            "resnet = vc.recipes.apply(\"transfer_learning\", resnet, 5)\n"
            "vgg = vc.recipes.apply(\"transfer_learning\", vgg, 10)\n"
            "vc.freezing.trainable_count(resnet), sum(p.numel() for p in vgg.parameters())"),
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
    """What a head-replacing answer did: every parameter's shape, flag and fingerprint, and
    the output shape of a forward pass (or why it failed)."""
    model = result if isinstance(result, nn.Module) else model
    params = {n: [list(p.shape), p.requires_grad, zoo.fingerprint(p)]
              for n, p in model.named_parameters()}
    try:
        with torch.no_grad():
            out = list(model.eval()(torch.zeros(2, 3, 32, 32)).shape)
    except Exception as exc:  # a head that does not fit: the forward pass says so
        out = {"error": type(exc).__name__}
    return {"params": params, "out": out}


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"])
    return head_observation(model, fn(model, case["num_classes"]), case["num_classes"])


def assess_head(case: dict, got: dict, head: str) -> str | None:
    """Judge a new head at path ``head`` on ``case["model"]`` for one aspect of the case."""
    before = dict(zoo.reference(case["model"]).named_parameters())
    params, k = got["params"], case["num_classes"]
    new = {n: v for n, v in params.items() if n.startswith(head + ".")}
    old = {n: v for n, v in params.items() if not n.startswith(head + ".")}
    aspect = case["aspect"]
    if aspect == "fits":
        if sorted(new) != [f"{head}.bias", f"{head}.weight"]:
            return "the head must be one layer with a weight and a bias"
        in_features = list(before[f"{head}.weight"].shape[1:])
        if new[f"{head}.weight"][0][1:] != in_features:
            return ("the new layer's in_features does not match what the layer before it "
                    "gives (read it from the old head, do not hard-code 4096)")
        if new[f"{head}.weight"][0][0] != k or got["out"] != [2, k]:
            return f"the model should give {k} scores per image"
        return None
    if aspect == "trains":
        if not all(v[1] for v in new.values()) or not new:
            return "the new head is frozen: nothing would train"
        if any(v[1] for v in old.values()):
            name = next(n for n, v in old.items() if v[1])
            return f"{name} is trainable: only the new head should train"
        return None
    if sorted(old) != sorted(n for n in before if not n.startswith(head + ".")):
        return "layers other than the head were removed or added"
    changed = [n for n, v in old.items()
               if v[0] != list(before[n].shape) or abs(v[2] - zoo.fingerprint(before[n])) > 1e-4]
    return f"{changed[0]} was re-created or changed: keep the pretrained layers" if changed else None


def _q2_assess(case: dict, got) -> str | None:
    return assess_head(case, got, "classifier.6")


q2 = Exercise(
    id="transfer_learning.q2",
    title="find the bug: a new head",
    task=("**Find the bug.** This function should do transfer learning on any VGG-shaped "
          "model: freeze everything, then a new output layer for `num_classes` that is the "
          "only thing to train. It runs without an error on VGG16, yet it is wrong twice:\n\n"
          f"```python\n{BUGGY_HEAD}\n```\n\n"
          "Write the fixed `transfer_model(model, num_classes)` (return the model). It is "
          "checked on VGG-shaped models whose hidden layers are not 4096 wide."),
    answer="transfer_model",
    parts=tuple(Part(name) for name in _ASPECTS.values()),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=("Which parameters does the loop freeze, given *when* it runs? And where does "
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


class CaseWeights:
    """Stands in for a torchvision weights enum whose preprocessing has other numbers."""

    def __init__(self, mean: list[float], std: list[float], crop: int, resize: int) -> None:
        self._preset = dict(crop_size=crop, resize_size=resize, mean=tuple(mean), std=tuple(std))
        self.meta = {"categories": ["a", "b"], "num_params": 0}

    def transforms(self, *, crop_size: int | None = None,
                   resize_size: int | None = None) -> nn.Module:
        """Like an enum's ``transforms()`` (the same preset class, these numbers); the sizes may
        be overridden, as there."""
        sizes = {k: v for k, v in (("crop_size", crop_size), ("resize_size", resize_size)) if v}
        return VGG16_Weights.IMAGENET1K_V1.transforms(**{**self._preset, **sizes})

    def __repr__(self) -> str:
        return f"CaseWeights({self._preset})"


def _weights(spec: dict):
    if spec["kind"] == "case":
        return CaseWeights(spec["mean"], spec["std"], spec["crop"], spec["resize"])
    from torchvision import models as tv  # a real enum: its transforms need no download
    return tv.get_weight(spec["name"])


def case_image(seed: int, width: int, height: int) -> Image.Image:
    """A test picture of one random colour: any resize or crop keeps its channel means,
    so only the normalisation decides what comes out."""
    gen = torch.Generator().manual_seed(seed)
    colour = tuple(int(v) for v in torch.randint(20, 236, (3,), generator=gen))
    return Image.new("RGB", (width, height), colour)


def _q3_cases(rng) -> list[dict]:
    cases = []
    for _ in range(2):
        mean = [round(rng.uniform(0.2, 0.7), 3) for _ in range(3)]
        std = [round(rng.uniform(0.1, 0.4), 3) for _ in range(3)]
        crop = rng.choice([160, 192, 224])
        cases.append({"kind": "case", "mean": mean, "std": std, "crop": crop, "resize": crop + 32})
    cases.append({"kind": "torchvision", "name": "VGG16_Weights.IMAGENET1K_V1"})
    out = []
    for weights in cases:
        size = rng.choice([48, 64, 96, 112])
        for part in ("normalised as the weights say", "the requested size"):
            out.append({"part": part, "weights": weights, "image_size": size,
                        "image": [rng.randrange(10_000), rng.randint(60, 90), rng.randint(60, 90)],
                        "label": ("weights with other statistics" if weights["kind"] == "case"
                                  else weights["name"])})
    return out


def _q3_observe(fn, case: dict):
    tensor = fn(_weights(case["weights"]), case["image_size"])(case_image(*case["image"]))
    if not isinstance(tensor, torch.Tensor):
        return {"type": type(tensor).__name__}
    flat = tensor.detach().double().reshape(tensor.shape[0], -1) if tensor.dim() == 3 else None
    return {"shape": list(tensor.shape),
            "mean": plain([round(float(v), 4) for v in flat.mean(1)]) if flat is not None else None}


def _q3_assess(case: dict, got) -> str | None:
    if "shape" not in got:
        return f"the transform returned a {got.get('type')}, not a tensor"
    size = case["image_size"]
    if case["part"] == "the requested size":
        return None if got["shape"] == [3, size, size] else (
            f"expected a (3, {size}, {size}) tensor for image_size={size}, got {tuple(got['shape'])}")
    if got["mean"] is None or len(got["mean"]) != 3:
        return "expected one image as a (3, H, W) tensor"
    preset = _weights(case["weights"]).transforms()
    colour = case_image(*case["image"]).getpixel((0, 0))
    for c in range(3):  # normalising maps a channel's value v in [0, 1] to (v - mean) / std
        want = (colour[c] / 255 - preset.mean[c]) / preset.std[c]
        if abs(got["mean"][c] - want) > 0.02:
            return ("the normalised values do not match these weights' mean and std "
                    "(they differ between weights: take them from the weights)")
    return None


q3 = Exercise(
    id="transfer_learning.q3",
    title="find the bug: preprocessing",
    task=("**Find the bug.** Quick mode feeds the network smaller images than the weights "
          "were trained on, so this function resizes to `image_size` itself. The images come "
          "out the right size, but the model's accuracy is poor:\n\n"
          f"```python\n{BUGGY_PREPROCESS}\n```\n\n"
          "Write the fixed `eval_preprocess(weights, image_size)`: images of `image_size` × "
          "`image_size`, normalised exactly as the weights expect. It is checked with VGG16's "
          "weights and with weights whose preprocessing uses other numbers."),
    answer="eval_preprocess",
    parts=(Part("normalised as the weights say"), Part("the requested size")),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=("Where do the numbers in `Normalize` come from? `weights.transforms()` returns "
               "the preprocessing the weights were trained with; print it."),
)

EXERCISES = (q1, q2, q3)
