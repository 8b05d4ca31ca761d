"""Exercises for ``05_fine_tuning.ipynb``: unfreezing the last block, discriminative LRs."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises.core import Exercise, Part, tiny_model

LAST_BLOCK = 24  # VGG16's fifth conv block: features[24:31] (convs at 24, 26, 28)


def _frozen_model() -> nn.Module:
    model = tiny_model(num_classes=2)
    model.requires_grad_(False)
    return model


# --- q1: unfreezing the last conv block ------------------------------------------------

def _after_unfreeze(fn: object) -> nn.Module:
    if not callable(fn):
        raise TypeError(f"expected a function, got {type(fn).__name__}")
    model = _frozen_model()
    fn(model)
    return model


def _last_block_trainable(fn: object) -> str | None:
    model = _after_unfreeze(fn)
    frozen = [i for i in range(LAST_BLOCK, len(model.features))
              for p in model.features[i].parameters() if not p.requires_grad]
    return f"features[{frozen[0]}] is still frozen" if frozen else None


def _rest_frozen(fn: object) -> str | None:
    model = _after_unfreeze(fn)
    early = [i for i in range(LAST_BLOCK)
             for p in model.features[i].parameters() if p.requires_grad]
    if early:
        return f"features[{early[0]}] was unfrozen, but it is not in the last block"
    if any(p.requires_grad for p in model.classifier.parameters()):
        return "the classifier was changed: unfreeze only the last conv block"
    return None


q1 = Exercise(
    id="fine_tuning.q1",
    title="unfreeze the last conv block",
    task=("Fine-tuning often trains the last conv block too. Write "
          "`unfreeze_last_block(model)`: make every parameter of `model.features[24:]` "
          "(VGG16's fifth block) trainable, and change nothing else. The check starts "
          "from a tiny VGG that is frozen everywhere."),
    answer="unfreeze_last_block",
    cell=("def unfreeze_last_block(model: nn.Module) -> None:\n"
          '    """requires_grad=True for features[24:], the last conv block."""\n'
          "    ### BEGIN SOLUTION\n"
          "    for param in model.features[24:].parameters():\n"
          "        param.requires_grad = True\n"
          "    ### END SOLUTION"),
    parts=(Part("the last block trainable", _last_block_trainable),
           Part("everything else unchanged", _rest_frozen)),
    hint_text="Slicing an `nn.Sequential` (`model.features[24:]`) gives a module you can loop over.",
)


# --- q2: discriminative learning rates -------------------------------------------------

def _groups(fn: object, base_lr: float) -> tuple[nn.Module, list[dict]]:
    if not callable(fn):
        raise TypeError(f"expected a function, got {type(fn).__name__}")
    model = _frozen_model()
    model.features[LAST_BLOCK:].requires_grad_(True)
    model.classifier.requires_grad_(True)
    groups = list(fn(model, base_lr))
    if not all(isinstance(g, dict) and "params" in g for g in groups):
        raise TypeError("return a list of dicts like {'params': [...], 'lr': ...}")
    torch.optim.SGD(groups, lr=base_lr)  # the groups must be accepted by an optimizer
    return model, groups


def _lr_of(groups: list[dict], base_lr: float) -> dict[int, float]:
    return {id(p): g.get("lr", base_lr) for g in groups for p in g["params"]}


def _head_lr(fn: object) -> str | None:
    model, groups = _groups(fn, 0.01)
    lrs = _lr_of(groups, 0.01)
    wrong = [p for p in model.classifier.parameters() if lrs.get(id(p)) != 0.01]
    return f"{len(wrong)} classifier tensors do not get base_lr" if wrong else None


def _features_lr(fn: object) -> str | None:
    model, groups = _groups(fn, 0.01)
    lrs = _lr_of(groups, 0.01)
    wrong = [p for p in model.features.parameters()
             if p.requires_grad and abs(lrs.get(id(p), -1.0) - 0.001) > 1e-12]
    return f"{len(wrong)} trainable feature tensors do not get base_lr / 10" if wrong else None


def _only_trainable_once(fn: object) -> str | None:
    model, groups = _groups(fn, 0.01)
    got = [id(p) for g in groups for p in g["params"]]
    frozen = {id(p) for p in model.parameters() if not p.requires_grad}
    if any(i in frozen for i in got):
        return "frozen parameters are included"
    if len(got) != len(set(got)):
        return "a parameter is in more than one group"
    return None


q2 = Exercise(
    id="fine_tuning.q2",
    title="discriminative learning rates",
    task=("Write `param_groups(model, base_lr)` that returns optimizer parameter groups: "
          "the trainable parameters of `model.classifier` with `lr=base_lr`, the trainable "
          "parameters of `model.features` with `lr=base_lr / 10`, and no frozen parameter. "
          "`torch.optim.SGD(param_groups(model, 0.01), lr=0.01)` must accept it."),
    answer="param_groups",
    cell=("def param_groups(model: nn.Module, base_lr: float) -> list[dict]:\n"
          '    """Pretrained features learn 10x slower than the new classifier."""\n'
          "    ### BEGIN SOLUTION\n"
          "    def trainable(module):\n"
          "        return [p for p in module.parameters() if p.requires_grad]\n"
          "    return [\n"
          '        {"params": trainable(model.features), "lr": base_lr / 10},\n'
          '        {"params": trainable(model.classifier), "lr": base_lr},\n'
          "    ]\n"
          "    ### END SOLUTION"),
    parts=(Part("classifier at base_lr", _head_lr),
           Part("trainable features at base_lr / 10", _features_lr),
           Part("no frozen or repeated parameters", _only_trainable_once)),
    hint_text=("An optimizer accepts a list of dicts, each with its own `params` and `lr`. "
               "Filter each section's parameters on `requires_grad`."),
)

EXERCISES = (q1, q2)
