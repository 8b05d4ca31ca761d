"""Optimizers over trainable parameters only, with discriminative learning rates and checks.

``make_optimizer`` puts the head in one parameter group and the rest of the trainable
backbone in another, so the two can learn at different rates (a new head fast, pretrained
layers slowly). ``check_optimizer`` finds the ways a model and its optimizer drift apart:
a parameter unfrozen after the optimizer was built (it never trains) and a frozen one
still in the optimizer (weight decay and momentum move it whenever its ``.grad`` is not
``None``, e.g. after ``zero_grad(set_to_none=False)``). ``optimizer_memory`` says what
training costs in bytes.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from vgg_course import heads

__all__ = ["MemoryEstimate", "OptimizerCheck", "OptimizerMismatchWarning", "check_optimizer",
           "make_optimizer", "optimizer_memory"]

_STATE_TENSORS = {"sgd": 1, "adamw": 2}  # SGD momentum buffer; AdamW exp_avg + exp_avg_sq


class OptimizerMismatchWarning(UserWarning):
    """The optimizer does not cover exactly the model's trainable parameters."""


def _positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


def make_optimizer(
    model: nn.Module,
    *,
    lr: float,
    head_lr: float | None = None,
    backbone_lr: float | None = None,
    weight_decay: float = 0.0,
    momentum: float = 0.9,
    kind: str = "sgd",
    head: str | None = None,
) -> torch.optim.Optimizer:
    """An SGD-with-momentum or AdamW optimizer over the trainable parameters only.

    Args:
        model: the model, with ``requires_grad`` already set (e.g. by a recipe).
        lr: the learning rate of every group not given its own.
        head_lr: learning rate of the head group (default ``lr``).
        backbone_lr: learning rate of every other trainable parameter (default ``lr``).
        weight_decay: L2 penalty (SGD) or decoupled weight decay (AdamW), for all groups.
        momentum: SGD momentum (ignored by AdamW).
        kind: ``"sgd"`` or ``"adamw"``.
        head: module path whose parameters form the head group; default: the head found
            by ``vc.heads.find_head`` (``"classifier.6"`` on VGG16). ``"classifier"`` puts
            a whole re-initialised classifier in the fast group.

    Each group carries a ``"name"`` key (``"head"`` / ``"backbone"``); empty groups are left out.

    Raises:
        ValueError: nothing is trainable, a rate is not positive, or ``kind`` is unknown.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> from vgg_course.recipes import partial_finetune
        >>> opt = make_optimizer(partial_finetune(tiny_vgg(), 2), lr=1e-3, head_lr=1e-2)
        >>> [(g["name"], g["lr"]) for g in opt.param_groups]
        [('head', 0.01), ('backbone', 0.001)]
    """
    kind = kind.lower()
    if kind not in _STATE_TENSORS:
        raise ValueError(f"kind must be 'sgd' or 'adamw', got {kind!r}")
    for name, value in (("lr", lr), ("head_lr", head_lr), ("backbone_lr", backbone_lr)):
        _positive(name, value)
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    head = heads.find_head(model).path if head is None else head
    head_params, backbone_params = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            in_head = name == head or name.startswith(head + ".")
            (head_params if in_head else backbone_params).append(p)
    if not head_params and not backbone_params:
        raise ValueError("nothing to train: every parameter is frozen. Apply a recipe "
                         "(vc.recipes.apply) or vc.freezing.unfreeze first.")
    groups = [{"params": ps, "lr": rate, "name": name} for name, ps, rate in (
        ("head", head_params, head_lr or lr), ("backbone", backbone_params, backbone_lr or lr)) if ps]
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


@dataclass(frozen=True)
class OptimizerCheck:
    """Where an optimizer and a model disagree, by parameter name."""

    missing: tuple[str, ...]
    frozen_in_optimizer: tuple[str, ...]
    frozen_with_decay: tuple[str, ...]
    frozen_with_grad: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not (self.missing or self.frozen_in_optimizer)

    def problems(self) -> list[str]:
        out = []
        if self.missing:
            out.append(f"{len(self.missing)} trainable tensors are not in the optimizer and will "
                       f"never change (e.g. {self.missing[0]}): unfrozen after the optimizer was "
                       "built? Build the optimizer again.")
        if self.frozen_with_grad:
            out.append(f"{len(self.frozen_with_grad)} frozen tensors are in the optimizer and have "
                       f"a .grad (e.g. {self.frozen_with_grad[0]}): momentum or weight decay will "
                       "still move them. Build the optimizer again.")
        elif self.frozen_with_decay:
            out.append(f"{len(self.frozen_with_decay)} frozen tensors are in the optimizer with "
                       f"weight decay (e.g. {self.frozen_with_decay[0]}): they move as soon as "
                       "they get a .grad. Build the optimizer again.")
        elif self.frozen_in_optimizer:
            out.append(f"{len(self.frozen_in_optimizer)} frozen tensors are still in the optimizer "
                       f"(e.g. {self.frozen_in_optimizer[0]}); harmless while their .grad is None, "
                       "but build the optimizer again.")
        return out

    def __repr__(self) -> str:
        if self.ok:
            return "OptimizerCheck: ok (the optimizer holds exactly the trainable parameters)"
        return "OptimizerCheck: " + " ".join(self.problems())

    def _repr_html_(self) -> str:
        if self.ok:
            return "<b>ok</b>: the optimizer holds exactly the trainable parameters"
        return "<ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in self.problems()) + "</ul>"


def check_optimizer(model: nn.Module, optimizer: torch.optim.Optimizer, *,
                    warn: bool = True) -> OptimizerCheck:
    """Compare the optimizer's parameters with the model's trainable ones.

    Warns with ``OptimizerMismatchWarning`` (unless ``warn=False``) when they differ.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> from vgg_course.recipes import transfer_learning
        >>> model = transfer_learning(tiny_vgg(), 2)
        >>> check_optimizer(model, make_optimizer(model, lr=0.01)).ok
        True
    """
    decay = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            decay[id(p)] = group.get("weight_decay", 0) > 0
    missing, frozen, frozen_decay, frozen_grad = [], [], [], []
    for name, p in model.named_parameters():
        if p.requires_grad and id(p) not in decay:
            missing.append(name)
        elif not p.requires_grad and id(p) in decay:
            frozen.append(name)
            if decay[id(p)]:
                frozen_decay.append(name)
            if p.grad is not None:
                frozen_grad.append(name)
    result = OptimizerCheck(tuple(missing), tuple(frozen), tuple(frozen_decay), tuple(frozen_grad))
    if warn and not result.ok:
        warnings.warn(" ".join(result.problems()), OptimizerMismatchWarning, stacklevel=2)
    return result


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes held for training: weights, gradients of trainable ones, optimizer state."""

    kind: str
    parameters: int
    gradients: int
    optimizer_state: int

    @property
    def total(self) -> int:
        return self.parameters + self.gradients + self.optimizer_state

    def __repr__(self) -> str:
        mib = 2 ** 20
        return (f"{self.kind}: parameters {self.parameters / mib:,.1f} MiB + gradients "
                f"{self.gradients / mib:,.1f} MiB + optimizer state {self.optimizer_state / mib:,.1f} "
                f"MiB = {self.total / mib:,.1f} MiB (activations not included)")


def optimizer_memory(model: nn.Module, kind: str = "sgd") -> MemoryEstimate:
    """Bytes for parameters, gradients and optimizer state when training ``model`` as frozen now.

    Frozen parameters need no gradient and no optimizer state; SGD with momentum keeps one
    buffer per trainable parameter, AdamW two. Activations (which depend on batch size
    and on how deep the first trainable layer is) are not counted.

    Example:
        >>> from vgg_course.models import tiny_vgg
        >>> optimizer_memory(tiny_vgg(2), "adamw").optimizer_state == 2 * 4 * 109158
        True
    """
    kind = kind.lower()
    if kind not in _STATE_TENSORS:
        raise ValueError(f"kind must be 'sgd' or 'adamw', got {kind!r}")
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    grads = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    return MemoryEstimate(kind, params, grads, _STATE_TENSORS[kind] * grads)
