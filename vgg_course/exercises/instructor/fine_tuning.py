"""Instructor-only: solution functions and hidden cases of ``05_fine_tuning.ipynb``'s exercises."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises import zoo
from vgg_course.exercises.observed import model_state, run_steps, snapshot
from vgg_course.exercises.parts import Hidden, Part
from vgg_course.i18n import N_

MISTAKES = {
    "q4": {
        "sgd_momentum": {8: N_("momentum keeps one more number per parameter"),
                         4: N_("training also stores a gradient per parameter")},
        "adamw": {12: N_("AdamW keeps two running averages per parameter"),
                  8: N_("and the gradient, and the optimizer's state?")},
        "frozen": {0: N_("a frozen weight is still used in the forward pass"),
                   8: N_("a frozen parameter gets no gradient")},
    },
    "q5": {
        "running_mean": {"stays": N_("requires_grad freezes what the optimizer moves; in train "
                                  "mode BatchNorm still updates its running statistics")},
        "bn_weight": {"changes": N_("a parameter with requires_grad=False gets no gradient")},
        "after_eval": {"changes": N_("in eval mode BatchNorm uses its running statistics and "
                                  "leaves them as they are")},
    },
    "q6": {
        "loss_after": {"higher": N_("a small step against the gradient lowers the loss on that batch"),
                       "same": N_("the step moved the weights: the loss moved too")},
        "frozen_in_optimizer": {"changes": N_("a frozen tensor gets no .grad, and SGD skips a "
                                           "parameter without one, weight decay and momentum too")},
        "grad_after_zero_grad": {"zeros": N_("zero_grad() sets the gradients to None by default "
                                          "(set_to_none=True)")},
    },
}

# fine_tuning.q1
def unfreeze_last_block(model: nn.Module) -> None:
    """requires_grad=True for the layers after the last inner MaxPool2d of features."""
    ### BEGIN SOLUTION
    inner_pools = [i for i, layer in enumerate(model.features[:-1])
                   if isinstance(layer, nn.MaxPool2d)]
    model.features[inner_pools[-1] + 1:].requires_grad_(True)
    ### END SOLUTION


# fine_tuning.q2
def param_groups(model: nn.Module, base_lr: float) -> list[dict]:
    """Pretrained features learn 10x slower than the classifier."""
    ### BEGIN SOLUTION
    def trainable_in(section):
        return [t for t in section.parameters() if t.requires_grad]
    return [
        {"params": trainable_in(model.features), "lr": base_lr / 10},
        {"params": trainable_in(model.classifier), "lr": base_lr},
    ]
    ### END SOLUTION


# fine_tuning.q3
def setup_partial_finetune(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Unfreeze the last conv block, THEN build the optimizer over what trains."""
    ### BEGIN SOLUTION
    model.features[24:].requires_grad_(True)  # first unfreeze ...
    to_train = [t for t in model.parameters() if t.requires_grad]
    return torch.optim.SGD(to_train, lr=lr, momentum=0.9)  # ... then build it
    ### END SOLUTION


# fine_tuning.q4
def predictions() -> dict[str, object]:
    """fine_tuning.q4: the prediction cell (its body); the check grades `predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    sgd_momentum = 4 * 3   # weight, gradient, momentum buffer
    adamw = 4 * 4          # weight, gradient, exp_avg, exp_avg_sq
    frozen = 4 * 1         # the weight only: no gradient, no optimizer state
    ### END SOLUTION
    predictions = {"sgd_momentum": sgd_momentum, "adamw": adamw, "frozen": frozen}
    return predictions


# fine_tuning.q5
def bn_predictions() -> dict[str, object]:
    """fine_tuning.q5: the prediction cell (its body); the grader judges `bn_predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    running_mean = "changes"  # train mode: BatchNorm updates its statistics, frozen or not
    bn_weight = "stays"       # requires_grad=False: no gradient, and not in the optimizer
    after_eval = "stays"      # eval mode: BatchNorm uses its statistics, never updates them
    ### END SOLUTION
    bn_predictions = {"running_mean": running_mean, "bn_weight": bn_weight,
                      "after_eval": after_eval}
    return bn_predictions


# fine_tuning.q6
def step_predictions() -> dict[str, object]:
    """fine_tuning.q6: the prediction cell (its body); the grader judges `step_predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    loss_after = "lower"           # a small step against the gradient
    frozen_in_optimizer = "stays"  # no .grad: SGD skips it (weight decay and momentum too)
    grad_after_zero_grad = "None"  # zero_grad(set_to_none=True) is the default
    ### END SOLUTION
    step_predictions = {"loss_after": loss_after, "frozen_in_optimizer": frozen_in_optimizer,
                        "grad_after_zero_grad": grad_after_zero_grad}
    return step_predictions


def last_block_start(features: nn.Sequential) -> int:
    """Index of the first layer after the last MaxPool2d that is not at the very end."""
    pools = [i for i, m in enumerate(features)
             if isinstance(m, nn.MaxPool2d) and i < len(features) - 1]
    return pools[-1] + 1 if pools else 0


def _state(model: nn.Module) -> dict:
    return model_state(model, snapshot(model))


def _defaults(names: list[str], lr: float, momentum: float = 0.0) -> dict[str, dict]:
    settings = dict(lr=lr, momentum=momentum, dampening=0.0, weight_decay=0.0,
                    nesterov=False, maximize=False)
    return {n: settings for n in names}


def expect_q1(case: dict) -> dict:
    """The model's state and flags before, and the parameters of its last block."""
    model = zoo.build(case["model"], meta=True)
    start = last_block_start(model.features)
    block = {f"features.{i}" for i in range(start, len(model.features))}
    return {**_state(model), "trainable_before": zoo.trainable_names(model),
            "block": [n for n in zoo.param_names(model) if ".".join(n.split(".")[:2]) in block]}


def expect_q2(case: dict) -> dict:
    """The model as it is (the answer must not change it) and each section's settings."""
    model = zoo.build(case["model"], meta=True)
    trainable = zoo.trainable_names(model)
    base = case["base_lr"]
    return {"state": _state(model),
            "head": _defaults([n for n in trainable if n.startswith("classifier.")], base),
            "features": _defaults([n for n in trainable if n.startswith("features.")], base / 10)}


def expect_q3(case: dict) -> dict:
    """The model after the reference set-up, its optimizer's settings, and where a few
    steps of it take every parameter."""
    model = zoo.build(case["model"])
    head = zoo.trainable_names(model)
    before = snapshot(model)
    optimizer = setup_partial_finetune(model, case["lr"])
    trainable = zoo.trainable_names(model)
    return {"state": model_state(model, before), "head": head,
            "block": [n for n in zoo.param_names(model)
                      if n.startswith("features.") and int(n.split(".")[1]) >= 24],
            "class": "torch.optim.sgd.SGD", "settings": _defaults(trainable, case["lr"], 0.9),
            "steps": (run_steps(model, optimizer, case) if case["aspect"] == "block"
                      else {})}


def _q1_hidden(rng) -> list[dict]:
    return [{"part": "hidden: VGG11-BN and VGG16", "label": zoo.describe({"arch": arch}),
             "model": {"arch": arch, "num_classes": rng.randint(2, 9), "frozen": [""]},
             "meta": True}
            for arch in ("vgg11_bn", "vgg16")]


def _q2_hidden(rng) -> list[dict]:
    spec = {"arch": "tiny_vgg_bn", "width": 2, "hidden": 8, "num_classes": 2,
            "frozen": ["features." + str(i) for i in range(rng.choice([20, 34]))]}
    return [{"part": "hidden: a VGG with BatchNorm", "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "base_lr": rng.choice([0.2, 0.05])}
            for aspect in ("head", "features", "clean")]


def _q3_hidden(rng) -> list[dict]:
    spec = zoo.random_tiny_vgg(rng, frozen=["features", "classifier.0", "classifier.3",
                                            "classifier.6.bias"])
    return [{"part": "hidden: a partly frozen head", "aspect": aspect, "label": zoo.describe(spec),
             "model": spec, "lr": 0.03, "data": rng.randrange(10_000)}
            for aspect in ("block", "head", "settings")]


HIDDEN = {
    "q1": Hidden((Part("hidden: VGG11-BN and VGG16", hidden=True),), _q1_hidden),
    "q2": Hidden((Part("hidden: a VGG with BatchNorm", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: a partly frozen head", hidden=True),), _q3_hidden),
}
