"""Exercises for ``03_freezing.ipynb``: freezing by hand, counting, predicting gradients."""

from __future__ import annotations

from vgg_course.exercises import zoo
from vgg_course.exercises.answers import is_int, plain, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, prediction_exercise
from vgg_course.i18n import N_, _

# --- q1: freezing by hand ----------------------------------------------------------------

_CONVS = (0, 2, 5, 7, 10)  # conv indices of a tiny VGG's first blocks


def _q1_cases(rng) -> list[dict]:
    """Every seed has a fresh model, one frozen in odd places before the call (a conv of
    `features` and a layer outside it), and a network with BatchNorm (buffers, modes)."""
    a = zoo.random_tiny_vgg(rng)
    b = zoo.random_tiny_vgg(rng, frozen=[f"features.{rng.choice(_CONVS)}",
                                         f"classifier.{rng.choice([0, 3, 6])}"])
    return [
        {"part": "VGG-shaped models", "label": zoo.describe(a), "model": a},
        {"part": "VGG-shaped models", "model": b, "label": (
            f"{zoo.describe(b)} with {b['frozen'][0]} and {b['frozen'][1]} frozen already")},
        {"part": "other networks with `features`", "label": "SqueezeNet 1.1",
         "model": {"arch": "squeezenet1_1", "num_classes": rng.randint(2, 9)}},
        {"part": "other networks with `features`", "label": N_("a tiny VGG with BatchNorm"),
         "model": {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": 8,
                   "num_classes": 2}},
    ]


def _q1_observe(fn, case: dict):
    model = zoo.build(case["model"])
    before = zoo.snapshot(model)
    got = fn(model)
    return {"returned": "nothing" if got is None else "the model" if got is model
            else type(got).__name__,
            "changed": zoo.changes(before, model, requires_grad=False),
            "names": zoo.param_names(model), "trainable": zoo.trainable_names(model),
            "shapes": zoo.shapes(model)}


def _q1_assess(case: dict, got) -> str | None:
    expected = case["expected"]
    if got["names"] != expected["names"] or got["shapes"] != expected["shapes"]:
        return _("the model's parameters changed: freeze them in place, do not remove or "
                 "replace layers")
    if got["changed"]:
        return _("the model changed ({change}): only `requires_grad` may change").format(
            change=got["changed"][0])
    if got["returned"] not in ("nothing", "the model"):
        return _("returned a {type}: freeze the model you are given, in place "
                 "(return nothing)").format(type=got["returned"])
    trainable, right = set(got["trainable"]), set(expected["trainable"])
    still = [n for n in expected["features"] if n in trainable]
    if still:
        return _("{n} parameters of `features` still have requires_grad=True").format(
            n=len(still))
    frozen = [n for n in expected["names"] if n in right and n not in trainable]
    if frozen:
        return _("{name} was frozen too; everything outside `features` must stay as it "
                 "was").format(name=frozen[0])
    thawed = [n for n in expected["names"] if n in trainable and n not in right]
    if thawed:
        return _("{name} was frozen before the call and is trainable after it: leave "
                 "everything outside `features` as it was").format(name=thawed[0])
    return None


q1 = Exercise(
    id="freezing.q1",
    title=N_("freeze the features by hand"),
    task=N_("Write `freeze_features(model)`: it sets `requires_grad = False` on every "
            "parameter of `model.features`, in place, and changes nothing else: every other "
            "parameter stays as it was (trainable, or frozen if it already was), and no layer "
            "is replaced, no value or BatchNorm buffer changes, no layer is switched between "
            "train and eval mode (the model must still work as before). It returns nothing. "
            "Use a plain loop over parameters, no `vc.freezing`. It is checked on VGG-shaped "
            "models of other widths, some with layers frozen already, and on other networks "
            "that have a `features` section, one with BatchNorm."),
    answer="freeze_features",
    parts=(Part("VGG-shaped models"), Part("other networks with `features`")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=N_("`model.features.parameters()` yields every weight and bias of the conv "
                 "part; each is a tensor with a `requires_grad` attribute you can set. "
                 "`model.eval()` is something else: it changes how layers behave, not what "
                 "trains."),
)


# --- q2: counting trainable parameters -----------------------------------------------------

_TIED = ["features.26", "features.28"]


def _q2_cases(rng) -> list[dict]:
    plain_vgg = zoo.random_tiny_vgg(rng)
    head_only = zoo.random_tiny_vgg(rng, frozen=["features", "classifier.0", "classifier.3"])
    tied = zoo.random_tiny_vgg(rng, tie=_TIED, frozen=["features.0", "features.2"])
    resnet = {"arch": "resnet", "layers": [1, 1, 1, 1], "num_classes": rng.randint(2, 9),
              "frozen": rng.choice([["conv1", "bn1", "layer1", "layer2"],
                                    ["conv1", "bn1", "layer1", "layer2", "layer3"]])}
    return [
        {"part": "nothing frozen", "label": zoo.describe(plain_vgg), "model": plain_vgg},
        {"part": "frozen layers", "label": N_("all but the last layer frozen"),
         "model": head_only},
        {"part": "frozen layers", "label": N_("a partly frozen ResNet"), "model": resnet},
        {"part": "frozen layers", "model": tied, "label": (
            f"{zoo.describe(tied)}, first block frozen, whose {_TIED[0]} and {_TIED[1]} share "
            "one (trainable) weight")},
        {"part": "a network with BatchNorm", "label": N_("a tiny VGG with BatchNorm"),
         "model": {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2, 3]), "hidden": 8,
                   "num_classes": 3, "frozen": ["features.0", "features.1"]}},
    ]


def _q2_observe(fn, case: dict):
    model = zoo.build(case["model"])
    before = zoo.snapshot(model)
    got = plain(fn(model))
    return {"value": got, "changed": zoo.changes(before, model)}


_Q2_MISTAKES = (("all", N_("that counts frozen parameters too")),
                ("tensors", N_("that counts tensors, not the numbers inside them")),
                ("shared_twice", N_("a tensor that two layers share is counted twice")),
                ("state_dict", N_("that counts every state_dict entry, buffers and frozen ones "
                                  "included")))


def _q2_assess(case: dict, observed) -> str | None:
    if observed.get("changed"):
        return _("the model changed ({change}): `count_trainable` must only count").format(
            change=observed["changed"][0])
    got, expected = observed["value"], case["expected"]
    if not is_int(got):
        return _("expected an int, got {type} (hint: `int(...)` or `.numel()`)").format(
            type=type_name(got))
    if got == expected["count"]:
        return None
    for kind, says in _Q2_MISTAKES:
        if got == expected[kind]:
            return _(says)
    if got > expected["count"]:
        return _("too many: some numbers are counted that the optimizer may not change")
    return _("too few")


q2 = Exercise(
    id="freezing.q2",
    title=N_("count trainable parameters"),
    task=N_("Write `count_trainable(model)` that returns the number of **trainable** "
            "parameters (numbers, not tensors) of any model, as an `int`, and changes nothing "
            "in `model` (no forward or backward pass: that would change BatchNorm's statistics "
            "and leave gradients). A tensor that two layers share counts once. It is checked "
            "on VGG-shaped models of other widths, with nothing frozen, with most layers "
            "frozen and with two convs sharing one weight, on a partly frozen ResNet and on a "
            "network with BatchNorm."),
    answer="count_trainable",
    parts=(Part("nothing frozen"), Part("frozen layers"), Part("a network with BatchNorm")),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=N_("`p.numel()` counts the numbers in a tensor; skip those with "
                 "`requires_grad=False`. "
                 "`model.parameters()` yields a shared tensor once."),
)


# --- q3: predict, then verify ----------------------------------------------------------------

q3 = prediction_exercise(
    id="freezing.q3",
    title=N_("predict what trains and what gets a gradient"),
    task=N_("**Predict first, run later.** Take `model = vc.models.tiny_vgg(num_classes=5, "
            "width=2, hidden=16)`: as in VGG16, its five conv blocks have 2, 2, 3, 3 and 3 "
            "convolutions (13 in all), each followed by a ReLU, and a max-pool ends each block; "
            "every convolution of a block has that block's width, 2, 4, 8, 16 and 16 channels "
            "(3×3 kernels, one bias per channel; a block's first convolution takes the previous "
            "block's channels, the very first one the image's 3), "
            "`classifier` is `Linear(16*7*7, 16)`, "
            "`Linear(16, 16)`, `Linear(16, 5)`. Then `vc.freezing.freeze_up_to(model, \"conv4\")` "
            "(it freezes conv1 … conv4, the first four blocks) and one "
            "`model(x).sum().backward()`. Predict:\n\n"
            "- `trainable`: how many parameters (numbers) are trainable;\n"
            "- `first_conv_grad`: what `model.features[0].weight.grad` is: `\"None\"`, "
            "`\"zeros\"` or `\"values\"`;\n"
            "- `tensors_with_grad`: how many parameter tensors have a `.grad` that is not None.\n\n"
            "Run the check: it records your prediction. Then run the verify cell below it, "
            "which shows your prediction beside what really happens."),
    answer="predictions",
    predictions=(
        Prediction("trainable", "trainable parameters"),
        Prediction("first_conv_grad", "the frozen conv's gradient",
                   kind="name", choices=("None", "zeros", "values")),
        Prediction("tensors_with_grad", "tensors with a gradient"),
    ),
    hint_text=N_("A conv with `c_in` inputs and `c_out` outputs has `c_out * c_in * 9 + c_out` "
                 "parameters; a Linear `out * in + out`. `freeze_up_to` freezes conv1 … conv4 "
                 "and leaves everything after them trainable."),
    verify=("# Verify (after the check)\n"
            "model = vc.models.tiny_vgg(num_classes=5, width=2, hidden=16)\n"
            "vc.freezing.freeze_up_to(model, \"conv4\")\n"
            "model(torch.randn(2, 3, 32, 32)).sum().backward()\n"
            "grad = model.features[0].weight.grad\n"
            "ex.q3.reveal(trainable=vc.freezing.trainable_count(model),\n"
            "             first_conv_grad=(\"None\" if grad is None\n"
            "                              else \"zeros\" if not grad.any() else \"values\"),\n"
            "             tensors_with_grad=sum(p.grad is not None for p in model.parameters()))"),
)

EXERCISES = (q1, q2, q3)
