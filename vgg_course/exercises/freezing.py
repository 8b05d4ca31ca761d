"""Exercises for ``03_freezing.ipynb``: freezing by hand and counting trainable parameters."""

from __future__ import annotations

from torch import nn

from vgg_course.exercises.core import Exercise, Part, tiny_model


def _trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _frozen_names(module: nn.Module, prefix: str) -> list[str]:
    return [f"{prefix}.{n}" for n, p in module.named_parameters() if not p.requires_grad]


# --- q1: freezing by hand --------------------------------------------------------------

def _run_freeze(fn: object) -> nn.Module:
    if not callable(fn):
        raise TypeError(f"expected a function, got {type(fn).__name__}")
    model = tiny_model(num_classes=2)
    fn(model)
    return model


def _features_frozen(fn: object) -> str | None:
    model = _run_freeze(fn)
    still = [f"features.{n}" for n, p in model.features.named_parameters() if p.requires_grad]
    return f"{len(still)} feature parameters still have requires_grad=True" if still else None


def _classifier_trainable(fn: object) -> str | None:
    frozen = _frozen_names(_run_freeze(fn).classifier, "classifier")
    return (f"{frozen[0]} was frozen too; the classifier must stay trainable" if frozen else None)


q1 = Exercise(
    id="freezing.q1",
    title="freeze the features by hand",
    task=("Write `freeze_features(model)`: it sets `requires_grad = False` on every "
          "parameter of `model.features` and leaves `model.classifier` trainable. Use a "
          "plain loop over parameters (no `vc.freezing` here: this is the by-hand version)."),
    answer="freeze_features",
    cell=("def freeze_features(model: nn.Module) -> None:\n"
          '    """Freeze every parameter of model.features; leave the classifier alone."""\n'
          "    ### BEGIN SOLUTION\n"
          "    for param in model.features.parameters():\n"
          "        param.requires_grad = False\n"
          "    ### END SOLUTION"),
    parts=(Part("every `features` parameter frozen", _features_frozen),
           Part("the classifier left trainable", _classifier_trainable)),
    hint_text=("`model.features.parameters()` yields every weight and bias of the conv "
               "part; each is a tensor with a `requires_grad` attribute you can set."),
)


# --- q2: counting trainable parameters -------------------------------------------------

def _count_case(freeze: str):
    def test(fn: object) -> str | None:
        if not callable(fn):
            return f"expected a function, got {type(fn).__name__}"
        model = tiny_model(num_classes=5)
        if freeze in ("features", "all but the last layer"):
            model.features.requires_grad_(False)
        if freeze == "all but the last layer":
            model.classifier[:6].requires_grad_(False)
        got = fn(model)
        if isinstance(got, bool) or not isinstance(got, int):
            return f"expected an int, got {type(got).__name__} (hint: `int(...)` or `.numel()`)"
        expected = _trainable(model)
        if got == expected:
            return None
        if got == sum(p.numel() for p in model.parameters()):
            return "that counts frozen parameters too"
        if got == sum(1 for p in model.parameters() if p.requires_grad):
            return "that counts tensors, not the numbers inside them"
        return f"wrong count with {freeze} frozen"
    return test


q2 = Exercise(
    id="freezing.q2",
    title="count trainable parameters",
    task=("Write `count_trainable(model)` that returns the number of **trainable** "
          "parameters (numbers, not tensors) of any model, as an `int`. It is checked on "
          "a tiny VGG with nothing frozen, with `features` frozen, and with everything "
          "but the last layer frozen."),
    answer="count_trainable",
    cell=("def count_trainable(model: nn.Module) -> int:\n"
          '    """How many numbers the optimizer may change: parameters with requires_grad."""\n'
          "    ### BEGIN SOLUTION\n"
          "    return sum(p.numel() for p in model.parameters() if p.requires_grad)\n"
          "    ### END SOLUTION"),
    parts=(Part("nothing frozen", _count_case("nothing")),
           Part("features frozen", _count_case("features")),
           Part("all but the last layer frozen", _count_case("all but the last layer"))),
    hint_text="`p.numel()` counts the numbers in a tensor; skip those with `requires_grad=False`.",
)

EXERCISES = (q1, q2)
