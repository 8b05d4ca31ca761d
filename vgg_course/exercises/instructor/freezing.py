"""Instructor-only: solution functions and hidden cases of ``03_freezing.ipynb``'s exercises."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.parts import Hidden, Part
from vgg_course.i18n import N_

# freezing.q1
def freeze_features(model: nn.Module) -> None:
    """Freeze every parameter of model.features; leave the rest alone."""
    ### BEGIN SOLUTION
    for conv_param in model.features.parameters():
        conv_param.requires_grad = False
    ### END SOLUTION


# freezing.q2
def count_trainable(model: nn.Module) -> int:
    """How many numbers the optimizer may change: parameters with requires_grad."""
    ### BEGIN SOLUTION
    return sum(param.numel() for param in model.parameters() if param.requires_grad)
    ### END SOLUTION


# freezing.q3
def predictions() -> dict[str, object]:
    """freezing.q3: the prediction cell (its body); the check grades `predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    conv5 = 3 * (16 * 16 * 9 + 16)          # three 16 -> 16 convs stay trainable
    fc = (16 * 7 * 7 * 16 + 16) + (16 * 16 + 16) + (16 * 5 + 5)
    trainable = conv5 + fc
    first_conv_grad = "None"             # frozen: autograd never computes it
    tensors_with_grad = 3 * 2 + 3 * 2      # weight and bias of 3 convs and 3 Linears
    ### END SOLUTION
    predictions = {"trainable": trainable, "first_conv_grad": first_conv_grad,
                   "tensors_with_grad": tensors_with_grad}
    return predictions


def _q1_hidden(rng) -> list[dict]:
    return [{"part": "hidden: MobileNet and EfficientNet", "label": label,
             "model": {"arch": arch, "num_classes": rng.randint(2, 9)}}
            for arch, label in (("mobilenet_v3_small", "MobileNetV3-Small"),
                                ("efficientnet_b0", "EfficientNet-B0"))]


def _q2_hidden(rng) -> list[dict]:
    width = rng.choice([1, 2, 3])
    return [{"part": "hidden: shared weights", "label": "a model whose two convs share a weight",
             "model": {"arch": "tiny_vgg", "width": width, "hidden": 8, "num_classes": 2,
                       "tie": ["features.26", "features.28"]}},
            {"part": "hidden: shared weights", "label": "MobileNetV3-Small, partly frozen",
             "model": {"arch": "mobilenet_v3_small", "num_classes": 3, "frozen": ["features"]}}]


HIDDEN = {
    "q1": Hidden((Part("hidden: MobileNet and EfficientNet", hidden=True),), _q1_hidden),
    "q2": Hidden((Part("hidden: shared weights", hidden=True),), _q2_hidden),
}


# --- what each case should give (reference code: instructor only) -------------------------

MISTAKES = {"q3": {
    "trainable": {12917: N_("conv5 is after conv4: it stays trainable"),
                  27467: N_("that counts the frozen blocks too"),
                  19792: N_("each conv and Linear layer also has a bias, one per output")},
    "first_conv_grad": {"zeros": N_("autograd does not fill gradients for tensors that do not "
                                 "require one")},
    "tensors_with_grad": {32: N_("a frozen parameter gets no gradient at all"),
                          6: N_("each layer has a weight AND a bias tensor")},
}}


def expect_q1(case: dict) -> dict:
    """freezing.q1: the parameters, their shapes, and which stay trainable after freezing
    ``features`` (everything else as it was)."""
    model = zoo.build(case["model"], meta=True)
    freeze_features(model)
    named = list(model.named_parameters())
    return {"names": [n for n, _ in named], "shapes": {n: list(p.shape) for n, p in named},
            "trainable": [n for n, p in named if p.requires_grad],
            "features": [f"features.{n}" for n, _ in model.features.named_parameters()]}


def expect_q2(case: dict) -> dict:
    """freezing.q2: the trainable count, and what typical mistakes give instead."""
    model = zoo.build(case["model"], meta=True)
    return {
        "count": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "all": sum(p.numel() for p in model.parameters()),
        "tensors": sum(1 for p in model.parameters() if p.requires_grad),
        "shared_twice": sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False)
                            if p.requires_grad),
        "state_dict": sum(t.numel() for t in model.state_dict().values()),
    }
