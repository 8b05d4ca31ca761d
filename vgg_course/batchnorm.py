"""BatchNorm in frozen parts: find it, keep it in eval mode while the rest of the model trains.

``requires_grad=False`` stops gradients, not BatchNorm: in train mode a BatchNorm layer
normalises with each batch's statistics and overwrites its ``running_mean`` /
``running_var`` every step, frozen or not. A "frozen" ResNet backbone therefore drifts.
``train_mode(model)`` is ``model.train()`` with every frozen BatchNorm layer put back into
eval mode, so frozen means frozen; ``vc.engine`` trains with it. ``running_stats`` and
``changed`` show the effect before and after a training run.
"""

from __future__ import annotations

from torch import nn

__all__ = ["changed", "frozen_batchnorms", "running_stats", "train_mode"]

_NORM = nn.modules.batchnorm._BatchNorm  # BatchNorm1d/2d/3d, SyncBatchNorm, LazyBatchNorm


def _frozen(module: nn.Module, owner_frozen: bool) -> bool:
    params = list(module.parameters(recurse=False))
    if not params:  # affine=False: no parameters of its own, so it follows the layer it sits in
        return owner_frozen
    return not any(p.requires_grad for p in params)


def frozen_batchnorms(model: nn.Module) -> list[str]:
    """Names of the BatchNorm layers whose parameters are all frozen.

    A BatchNorm without parameters (``affine=False``) counts as frozen when the module that
    contains it has parameters and all of them are frozen.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1),
        ...                     nn.BatchNorm2d(2))
        >>> net[:2].requires_grad_(False)  # doctest: +ELLIPSIS
        Sequential(...)
        >>> frozen_batchnorms(net)
        ['1']
    """
    found: list[str] = []

    def visit(module: nn.Module, prefix: str, owner_frozen: bool) -> None:
        params = list(module.parameters())
        frozen_here = bool(params) and not any(p.requires_grad for p in params)
        for name, child in module.named_children():
            path = f"{prefix}.{name}" if prefix else name
            if isinstance(child, _NORM):
                if _frozen(child, frozen_here or owner_frozen):
                    found.append(path)
            else:
                visit(child, path, frozen_here or owner_frozen)

    visit(model, "", False)
    return found


def train_mode(model: nn.Module) -> list[str]:
    """``model.train()``, then every frozen BatchNorm back to eval mode; returns their names.

    Trainable BatchNorm layers train as usual (batch statistics, running averages updated);
    frozen ones normalise with their stored statistics and never change them.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(2, 2))
        >>> net[:2].requires_grad_(False)  # doctest: +ELLIPSIS
        Sequential(...)
        >>> train_mode(net), net.training, net[1].training
        (['1'], True, False)
    """
    model.train()
    names = frozen_batchnorms(model)
    modules = dict(model.named_modules())
    for name in names:
        modules[name].eval()
    return names


def running_stats(model: nn.Module) -> dict[str, dict[str, object]]:
    """A copy of every BatchNorm layer's running statistics, by layer name."""
    return {name: {"running_mean": m.running_mean.detach().clone(),
                   "running_var": m.running_var.detach().clone(),
                   "num_batches_tracked": int(m.num_batches_tracked)}
            for name, m in model.named_modules()
            if isinstance(m, _NORM) and m.running_mean is not None}


def changed(before: dict[str, dict[str, object]], after: dict[str, dict[str, object]]) -> list[str]:
    """Names of the layers whose running statistics differ between two ``running_stats``.

    Example:
        >>> import torch
        >>> net = nn.Sequential(nn.BatchNorm1d(3))
        >>> before = running_stats(net)
        >>> _ = net(torch.randn(8, 3))  # train mode: the running statistics move
        >>> changed(before, running_stats(net))
        ['0']
    """
    out = []
    for name, old in before.items():
        new = after.get(name)
        if new is None or any(
                not (old[k] == new[k]) if k == "num_batches_tracked" else not old[k].equal(new[k])
                for k in old):
            out.append(name)
    return out
