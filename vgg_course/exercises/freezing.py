"""Exercises for ``03_freezing.ipynb``: freezing by hand, counting, predicting gradients."""

from __future__ import annotations

from vgg_course.exercises import zoo
from vgg_course.exercises.answers import is_int, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, digest, prediction_exercise

# --- q1: freezing by hand ----------------------------------------------------------------


def _q1_cases(rng) -> list[dict]:
    a, b = zoo.random_tiny_vgg(rng), zoo.random_tiny_vgg(rng)
    return [
        {"part": "VGG-shaped models", "label": zoo.describe(a), "model": a},
        {"part": "VGG-shaped models", "label": zoo.describe(b), "model": b},
        {"part": "other networks with `features`", "label": "SqueezeNet 1.1",
         "model": {"arch": "squeezenet1_1", "num_classes": rng.randint(2, 9)}},
        {"part": "other networks with `features`", "label": "a tiny VGG with BatchNorm",
         "model": {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": 8,
                   "num_classes": 2}},
    ]


def _q1_observe(fn, case: dict):
    model = zoo.build(case["model"])
    fn(model)
    return {"names": zoo.param_names(model), "trainable": zoo.trainable_names(model),
            "shapes": zoo.shapes(model)}


def _q1_assess(case: dict, got) -> str | None:
    model = zoo.build(case["model"], meta=True)
    names = zoo.param_names(model)
    if got["names"] != names or got["shapes"] != zoo.shapes(model):
        return ("the model's parameters changed: freeze them in place, do not remove or "
                "replace layers")
    trainable = set(got["trainable"])
    still = [n for n in names if n.startswith("features.") and n in trainable]
    if still:
        return f"{len(still)} parameters of `features` still have requires_grad=True"
    frozen = [n for n in names if not n.startswith("features.") and n not in trainable]
    if frozen:
        return f"{frozen[0]} was frozen too; everything outside `features` must stay trainable"
    return None


q1 = Exercise(
    id="freezing.q1",
    title="freeze the features by hand",
    task=("Write `freeze_features(model)`: it sets `requires_grad = False` on every "
          "parameter of `model.features`, leaves every other parameter trainable, and keeps "
          "every layer where it is (the model must still work). Use a plain loop over "
          "parameters, no `vc.freezing`. It is checked on VGG-shaped models of other widths "
          "and on other networks that have a `features` section."),
    answer="freeze_features",
    parts=(Part("VGG-shaped models"), Part("other networks with `features`")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=("`model.features.parameters()` yields every weight and bias of the conv "
               "part; each is a tensor with a `requires_grad` attribute you can set. "
               "`model.eval()` is something else: it changes how layers behave, not what trains."),
)


# --- q2: counting trainable parameters -----------------------------------------------------

def _q2_cases(rng) -> list[dict]:
    plain_vgg = zoo.random_tiny_vgg(rng)
    head_only = zoo.random_tiny_vgg(rng, frozen=["features", "classifier.0", "classifier.3"])
    resnet = {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": rng.randint(2, 9),
              "frozen": rng.choice([["conv1", "bn1", "layer1", "layer2"],
                                    ["conv1", "bn1", "layer1", "layer2", "layer3"]])}
    return [
        {"part": "nothing frozen", "label": zoo.describe(plain_vgg), "model": plain_vgg},
        {"part": "frozen layers", "label": "all but the last layer frozen", "model": head_only},
        {"part": "frozen layers", "label": "a partly frozen ResNet", "model": resnet},
        {"part": "a network with BatchNorm", "label": "a tiny VGG with BatchNorm",
         "model": {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2, 3]), "hidden": 8,
                   "num_classes": 3, "frozen": ["features.0", "features.1"]}},
    ]


def _q2_assess(case: dict, got) -> str | None:
    if not is_int(got):
        return f"expected an int, got {type_name(got)} (hint: `int(...)` or `.numel()`)"
    model = zoo.build(case["model"], meta=True)
    expected = sum(t.numel() for _, t in model.named_parameters() if t.requires_grad)
    if got == expected:
        return None
    if got == sum(t.numel() for t in model.parameters()):
        return "that counts frozen parameters too"
    if got == sum(1 for t in model.parameters() if t.requires_grad):
        return "that counts tensors, not the numbers inside them"
    if got == sum(t.numel() for _, t in model.named_parameters(remove_duplicate=False)
                  if t.requires_grad):
        return "a tensor that two layers share is counted twice"
    if got == sum(t.numel() for t in model.state_dict().values()):
        return "that counts every state_dict entry, buffers and frozen ones included"
    if got > expected:
        return "too many: some numbers are counted that the optimizer may not change"
    return "too few"


q2 = Exercise(
    id="freezing.q2",
    title="count trainable parameters",
    task=("Write `count_trainable(model)` that returns the number of **trainable** "
          "parameters (numbers, not tensors) of any model, as an `int`. It is checked on "
          "VGG-shaped models of other widths, with nothing frozen and with most layers frozen, "
          "on a partly frozen ResNet and on a network with BatchNorm."),
    answer="count_trainable",
    parts=(Part("nothing frozen"), Part("frozen layers"), Part("a network with BatchNorm")),
    make_cases=_q2_cases, assess=_q2_assess,
    hint_text="`p.numel()` counts the numbers in a tensor; skip those with `requires_grad=False`.",
)


# --- q3: predict, then verify ----------------------------------------------------------------

_Q3 = "freezing.q3"

q3 = prediction_exercise(
    id=_Q3,
    title="predict what trains and what gets a gradient",
    task=("**Predict first, run later.** Take `model = vc.models.tiny_vgg(num_classes=5, "
          "width=2, hidden=16)`: its five conv blocks have 2, 4, 8, 16 and 16 channels (3×3 "
          "kernels, one bias per channel), `classifier` is `Linear(16*7*7, 16)`, "
          "`Linear(16, 16)`, `Linear(16, 5)`. Then `vc.freezing.freeze_up_to(model, \"conv4\")` "
          "and one `model(x).sum().backward()`. Predict:\n\n"
          "- `trainable`: how many parameters are trainable;\n"
          "- `first_conv_grad`: what `model.features[0].weight.grad` is: `\"None\"`, "
          "`\"zeros\"` or `\"values\"`;\n"
          "- `tensors_with_grad`: how many parameter tensors have a `.grad` that is not None."),
    answer="predictions",
    predictions=(
        Prediction("trainable", "trainable parameters", mistakes={
                       digest(_Q3, "trainable", 12917):
                           "conv5 is after conv4: it stays trainable",
                       digest(_Q3, "trainable", 27467):
                           "that counts the frozen blocks too",
                   }),
        Prediction("first_conv_grad", "the frozen conv's gradient",
                   kind="name", choices=("None", "zeros", "values"), mistakes={
                       digest(_Q3, "first_conv_grad", "zeros"):
                           "autograd does not fill gradients for tensors that do not require one",
                   }),
        Prediction("tensors_with_grad", "tensors with a gradient", mistakes={
                       digest(_Q3, "tensors_with_grad", 32):
                           "a frozen parameter gets no gradient at all",
                       digest(_Q3, "tensors_with_grad", 6):
                           "each layer has a weight AND a bias tensor",
                   }),
    ),
    hint_text=("A conv with `c_in` inputs and `c_out` outputs has `c_out * c_in * 9 + c_out` "
               "parameters; a Linear `out * in + out`. `freeze_up_to` freezes conv1 … conv4 "
               "and leaves everything after them trainable."),
    verify=("# Verify (after the check)\n"
            "model = vc.models.tiny_vgg(num_classes=5, width=2, hidden=16)\n"
            "vc.freezing.freeze_up_to(model, \"conv4\")\n"
            "model(torch.randn(2, 3, 32, 32)).sum().backward()\n"
            "(vc.freezing.trainable_count(model), model.features[0].weight.grad,\n"
            " sum(p.grad is not None for p in model.parameters()))"),
)

EXERCISES = (q1, q2, q3)
