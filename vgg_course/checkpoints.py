"""Checkpoints of a training run: ``best.pt`` and ``last.pt``, holding only what training changes.

``vc.engine.fit(..., checkpoint=folder)`` writes them after every epoch, atomically (a crash
mid-save never leaves a half-written file). Frozen weights are left out -- for a frozen
VGG16 backbone that is 500 MB per save -- and a fingerprint of them is stored instead, so
loading into a model built differently fails with a clear message.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn


def _changing_state(model: nn.Module, trained: set[str]) -> dict[str, torch.Tensor]:
    """The state_dict entries training can change: trained parameters and all buffers."""
    params = dict(model.named_parameters())
    return {k: v.detach().cpu() for k, v in model.state_dict().items()
            if k in trained or k not in params}


def _fingerprint(model: nn.Module, trained: set[str]) -> dict[str, float]:
    return {name: float(p.detach().double().abs().sum()) for name, p in model.named_parameters()
            if name not in trained}


def _atomic_save(obj: dict, path: Path) -> None:
    part = path.with_name(path.name + ".part")
    torch.save(obj, part)
    os.replace(part, path)


def save(folder: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler,
         history: dict, trained: set[str], *, best: bool) -> None:
    """Write ``last.pt`` (weights, optimizer, scheduler, history) and, if ``best``, ``best.pt``.

    ``history`` is ``History.to_dict()``; its last record names the epoch and accuracy.
    """
    folder.mkdir(parents=True, exist_ok=True)
    last = history["records"][-1]
    state = {"model": _changing_state(model, trained), "trained": sorted(trained),
             "frozen": _fingerprint(model, trained), "epoch": last["epoch"]}
    if best:
        _atomic_save({**state, "accuracy": last["val_accuracy"]}, folder / "best.pt")
    _atomic_save({**state, "optimizer": optimizer.state_dict(),
                  "scheduler": None if scheduler is None else scheduler.state_dict(),
                  "history": history}, folder / "last.pt")


def load(model: nn.Module, path: str | os.PathLike) -> dict:
    """Load the weights saved by ``fit`` (``best.pt`` or ``last.pt``) into ``model``.

    ``model`` must be built the same way as the one trained (same frozen weights, same
    head). Returns the checkpoint's contents (``epoch``, ``accuracy`` for ``best.pt``...).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the checkpoint does not fit this model; the message says how.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    trained = set(state["trained"])
    names = {name for name, _ in model.named_parameters()}
    if not trained <= names:
        raise ValueError(f"{path} holds weights this model does not have: "
                         f"{sorted(trained - names)[:5]}. Build the same model first.")
    for name, value in _fingerprint(model, trained).items():
        saved = state["frozen"].get(name)
        if saved is None or abs(saved - value) > 1e-6 * max(1.0, abs(saved)):
            raise ValueError(f"{path} was trained on top of different frozen weights "
                             f"({name} differs). Build the model the same way (same weights, "
                             "same practice/pretrained mode) before loading.")
    model.load_state_dict(state["model"], strict=False)
    return state


def restore(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler,
            trained: set[str]) -> dict:
    """Put a run back as ``last.pt`` left it (weights, optimizer, scheduler); return its history dict."""
    state = load(model, path)
    if set(state["trained"]) != trained:
        raise ValueError(f"{path} was saved while training {len(state['trained'])} tensors, "
                         f"but {len(trained)} are trainable now: freeze the model the same way "
                         "to resume, or start a new checkpoint folder.")
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(state["scheduler"])
    return state["history"]
