"""Exercises for ``04_transfer_learning.ipynb``: a new head and the parameters to train."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises.core import Exercise, Part, tiny_model


# --- q1: replacing the head for n classes ----------------------------------------------

def _head_case(num_classes: int):
    def test(fn: object) -> str | None:
        if not callable(fn):
            return f"expected a function, got {type(fn).__name__}"
        model = tiny_model(num_classes=1000)
        before = [model.classifier[i] for i in range(6)]
        result = fn(model, num_classes)
        model = result if isinstance(result, nn.Module) else model
        head = model.classifier[6]
        if not isinstance(head, nn.Linear):
            return f"classifier[6] is a {type(head).__name__}, expected an nn.Linear"
        if head.in_features != model.classifier[3].out_features:
            return ("the new layer's in_features does not match the layer before it "
                    "(read it from the old head, do not hard-code 4096)")
        if head.out_features != num_classes:
            return f"the new head has {head.out_features} outputs for {num_classes} classes"
        if any(model.classifier[i] is not m for i, m in enumerate(before)):
            return "classifier[0] to classifier[5] must stay the same (pretrained) layers"
        model.eval()
        with torch.no_grad():
            out = model(torch.zeros(2, 3, 32, 32))
        return None if out.shape == (2, num_classes) else f"the output shape is {tuple(out.shape)}"
    return test


q1 = Exercise(
    id="transfer_learning.q1",
    title="a new head for n classes",
    task=("Write `replace_head(model, num_classes)`: replace the last layer of "
          "`model.classifier` with a new `nn.Linear` that maps the same inputs to "
          "`num_classes` outputs, and return the model. Read the input size from the old "
          "layer (the check uses a tiny VGG, whose hidden layers are not 4096 wide)."),
    answer="replace_head",
    cell=("def replace_head(model: nn.Module, num_classes: int) -> nn.Module:\n"
          '    """Swap classifier[6] for a fresh Linear(in_features, num_classes)."""\n'
          "    ### BEGIN SOLUTION\n"
          "    in_features = model.classifier[6].in_features\n"
          "    model.classifier[6] = nn.Linear(in_features, num_classes)\n"
          "    return model\n"
          "    ### END SOLUTION"),
    parts=(Part("2 classes", _head_case(2)), Part("7 classes", _head_case(7))),
    hint_text=("`model.classifier[6]` is an `nn.Linear`; its `in_features` attribute is the "
               "width you need. Assigning to `model.classifier[6]` replaces the layer."),
)


# --- q2: the parameters to give the optimizer ------------------------------------------

def _frozen_with_new_head() -> nn.Module:
    model = tiny_model(num_classes=2)
    model.requires_grad_(False)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, 4)  # trainable
    return model


def _as_ids(fn: object, model: nn.Module) -> list[int]:
    if not callable(fn):
        raise TypeError(f"expected a function, got {type(fn).__name__}")
    params = list(fn(model))
    if not all(isinstance(p, nn.Parameter) for p in params):
        raise TypeError("return parameters (tensors), not names or modules")
    return [id(p) for p in params]


def _no_frozen(fn: object) -> str | None:
    model = _frozen_with_new_head()
    frozen = {id(p) for p in model.parameters() if not p.requires_grad}
    n = sum(1 for i in _as_ids(fn, model) if i in frozen)
    return f"{n} frozen parameter tensors are included" if n else None


def _all_trainable(fn: object) -> str | None:
    model = _frozen_with_new_head()
    model.classifier[3].requires_grad_(True)  # a second trainable layer, not only the head
    got = _as_ids(fn, model)
    trainable = [id(p) for p in model.parameters() if p.requires_grad]
    if len(got) != len(set(got)):
        return "a parameter appears twice"
    missing = len(set(trainable) - set(got))
    return f"{missing} trainable parameter tensors are missing" if missing else None


q2 = Exercise(
    id="transfer_learning.q2",
    title="the parameters to give the optimizer",
    task=("Write `params_to_train(model)` that returns a list of exactly the parameters "
          "the optimizer should update: the trainable ones, each once. It is checked on "
          "a tiny VGG whose backbone is frozen and whose head (and sometimes more) is new."),
    answer="params_to_train",
    cell=("def params_to_train(model: nn.Module) -> list[nn.Parameter]:\n"
          '    """The parameters with requires_grad=True, for torch.optim.SGD(...)."""\n'
          "    ### BEGIN SOLUTION\n"
          "    return [p for p in model.parameters() if p.requires_grad]\n"
          "    ### END SOLUTION"),
    parts=(Part("no frozen parameters", _no_frozen),
           Part("every trainable parameter, once", _all_trainable)),
    hint_text="Filter `model.parameters()` on `requires_grad`.",
)

EXERCISES = (q1, q2)
