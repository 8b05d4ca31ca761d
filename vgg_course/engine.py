"""The training and evaluation loop: train_one_epoch, evaluate, predict, and fit with a history.

The loop is the one every PyTorch course writes by hand -- ``model.train()`` (with frozen
BatchNorm layers kept in eval mode: ``vc.batchnorm``), forward, loss, ``zero_grad``,
``backward``, ``step``; ``model.eval()`` and ``torch.inference_mode()`` to validate -- plus
what makes it fast and trustworthy: the device and precision from ``vc.devices`` (one
``Plan``, resolved once a call and handed down), a progress bar, a per-epoch
``vc.history.History`` with peak memory, best/last checkpoints, resume after an interruption
and per-epoch seeds. A frozen backbone's features are cached first (``vc.features.cache``);
``fit`` then trains the head.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from vgg_course import batchnorm, checkpoints, config, data, devices, memory
from vgg_course.history import EpochRecord, History


@dataclass(frozen=True)
class EvalResult:
    """Mean loss and accuracy over ``n`` examples."""

    loss: float
    accuracy: float
    n: int

    def __repr__(self) -> str:
        return f"EvalResult(loss={self.loss:.4f}, accuracy={self.accuracy:.2%}, n={self.n})"


def _batch_size(x: torch.Tensor) -> int:
    return int(x.shape[0])


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device | str | None = None,
    precision: str = "auto",
    plan: devices.Plan | None = None,
    loss_fn: nn.Module | None = None,
    progress: bool = False,
) -> EvalResult:
    """One pass over ``loader`` in train mode; returns the mean training loss and accuracy.

    ``device``, ``precision`` and ``plan`` are as in ``fit``.

    Example:
        >>> import vgg_course as vc
        >>> model = vc.models.tiny_vgg(2)
        >>> data = [(torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 0, 1]))]
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.01)
        >>> train_one_epoch(model, data, opt, device="cpu").n
        4
    """
    chosen = devices.resolve(device, precision, plan)
    with devices.applied(chosen):
        return _train_epoch(model, loader, optimizer, chosen, loss_fn or nn.CrossEntropyLoss(),
                            progress)


def _train_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                 chosen: devices.Plan, loss_fn: nn.Module, progress: bool) -> EvalResult:
    batchnorm.train_mode(model)  # model.train(), but frozen BatchNorm keeps its statistics
    # Sums stay on the device: calling .item() every step would wait for the GPU each time.
    total_loss = torch.zeros((), device=chosen.device)
    correct = torch.zeros((), dtype=torch.long, device=chosen.device)
    n = 0
    for x, y in data.batches(loader, desc="train", progress=progress):
        x, y = devices.to_device(x, chosen), y.to(chosen.device, non_blocking=True)
        with chosen.autocast():
            logits = model(x)
            loss = loss_fn(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach().float() * _batch_size(x)
        correct += (logits.argmax(dim=1) == y).sum()
        n += _batch_size(x)
    if n == 0:
        raise ValueError("The training loader yielded no batches (an empty dataset, or "
                         "drop_last=True with fewer examples than one batch).")
    return EvalResult(loss=total_loss.item() / n, accuracy=correct.item() / n, n=n)


def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    device: torch.device | str | None = None,
    precision: str = "auto",
    plan: devices.Plan | None = None,
    loss_fn: nn.Module | None = None,
    progress: bool = False,
) -> EvalResult:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode, without gradients.

    ``device``, ``precision`` and ``plan`` are as in ``fit``.

    Example:
        >>> import vgg_course as vc
        >>> data = [(torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 0, 1]))]
        >>> evaluate(vc.models.tiny_vgg(2), data, device="cpu").n
        4
    """
    chosen = devices.resolve(device, precision, plan)
    with devices.applied(chosen):
        return _evaluate(model, loader, chosen, loss_fn or nn.CrossEntropyLoss(), progress)


def _evaluate(model: nn.Module, loader: Iterable, chosen: devices.Plan, loss_fn: nn.Module,
              progress: bool) -> EvalResult:
    model.eval()  # dropout off, batch norm uses its running statistics
    total_loss = torch.zeros((), device=chosen.device)
    correct = torch.zeros((), dtype=torch.long, device=chosen.device)
    n = 0
    with torch.inference_mode():
        for x, y in data.batches(loader, desc="val", progress=progress):
            x, y = devices.to_device(x, chosen), y.to(chosen.device, non_blocking=True)
            with chosen.autocast():
                logits = model(x)
                loss = loss_fn(logits, y)
            total_loss += loss.float() * _batch_size(x)
            correct += (logits.argmax(dim=1) == y).sum()
            n += _batch_size(x)
    if n == 0:
        raise ValueError("The validation loader yielded no batches: is the dataset empty?")
    return EvalResult(loss=total_loss.item() / n, accuracy=correct.item() / n, n=n)


def predict(model: nn.Module, loader: Iterable, *, device: torch.device | str | None = None,
            precision: str = "auto", plan: devices.Plan | None = None
            ) -> tuple[list[int], list[int], list[float]]:
    """Labels, predicted classes and their softmax probabilities over ``loader`` (eval mode).

    ``device``, ``precision`` (``"auto"``, as everywhere) and ``plan`` are as in ``fit``.

    Example:
        >>> import vgg_course as vc
        >>> data = [(torch.randn(3, 3, 32, 32), torch.tensor([0, 1, 1]))]
        >>> labels, preds, probs = predict(vc.models.tiny_vgg(2), data, device="cpu")
        >>> labels, len(preds), all(0.5 <= p <= 1 for p in probs)
        ([0, 1, 1], 3, True)
    """
    chosen = devices.resolve(device, precision, plan)
    model.eval()
    labels, preds, probs = [], [], []
    with devices.applied(chosen), torch.inference_mode():
        for x, y in loader:
            with chosen.autocast():
                logits = model(devices.to_device(x, chosen))
            confidence, guess = logits.float().softmax(1).max(1)
            labels += torch.as_tensor(y).tolist()
            preds += guess.cpu().tolist()
            probs += confidence.cpu().tolist()
    return labels, preds, probs


def _bar(progress: bool) -> dict:
    # TQDM_DISABLE=1 (CI, stored notebooks) turns off the notebook bars too
    return {} if config.progress_bars(progress) else {"disable": True}


def seed_epoch(seed: int, epoch: int, loader_generator: torch.Generator | None = None,
               loader_seed: int = 0) -> None:
    """Seed Python's and PyTorch's generators (and the loader's own) for one epoch of one run.

    Seeding every epoch (not once per run) makes a resumed run repeat exactly what the
    uninterrupted run would have done: epoch 3 starts from the same state either way.
    A loader built with its own shuffling generator (``vc.data.make_loaders``) keeps its
    seed's say: it is re-seeded from that seed, this seed and the epoch.
    """
    value = (seed * 1_000_003 + epoch) % (2**63)
    random.seed(value)
    torch.manual_seed(value)
    if loader_generator is not None:
        loader_generator.manual_seed((loader_seed * 998_244_353 + value) % (2**63))


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    device: torch.device | str | None = None,
    precision: str = "auto",
    plan: devices.Plan | None = None,
    loss_fn: nn.Module | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train for ``epochs`` epochs, validating after each; return the ``History``.

    To train only the layers after a frozen backbone, cache first and train the head on the
    cached features: ``cached = vc.features.cache(model, train_loader, val_loader)``, then
    ``fit(cached.head, cached.train, cached.val, optimizer, epochs=...)`` (same batches,
    same result as training ``model`` itself; the head is ``model``'s own layers).

    Args:
        model: any classifier; its ``requires_grad`` flags say what trains.
        train_loader, val_loader: iterables of ``(images, labels)`` batches (``DataLoader``).
        optimizer: built over the parameters to train (see ``vc.optim``).
        epochs: the total number of epochs, counting those a resumed run already did.
        device: ``None`` picks CUDA, MPS or CPU (``vc.devices.pick_device``).
        precision: one of ``vc.devices.PRECISIONS``: ``"auto"`` (bf16 where the hardware
            has it), ``"fp32"``, ``"bf16"``, or ``"int8"`` (trains as ``"auto"``; only
            ``vc.features.cache`` runs a pass in int8).
        plan: a ready ``vc.devices.plan(...)`` instead of ``device`` and ``precision``.
        loss_fn: defaults to ``nn.CrossEntropyLoss()``.
        scheduler: stepped once per epoch, after validation.
        checkpoint: a folder; ``last.pt`` is written after every epoch and ``best.pt``
            whenever validation accuracy improves (see ``vc.checkpoints.load``).
        resume: continue from ``checkpoint/last.pt`` when it exists; finished epochs are
            kept and the result matches an uninterrupted run.
        seed: the same seed gives the same numbers on the same machine.
        progress: show a progress bar (terminal or Jupyter).

    Example:
        >>> import vgg_course as vc
        >>> model = vc.models.tiny_vgg(2)
        >>> data = [(torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 0, 1]))]
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.01)
        >>> fit(model, data, data, opt, epochs=2, device="cpu", progress=False).records[-1].epoch
        2
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, not {epochs}.")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<folder> to resume from.")
    chosen = devices.resolve(device, precision, plan)
    devices.prepare(model, chosen)
    folder = Path(checkpoint) if checkpoint is not None else None
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    if not trained:
        raise ValueError("No parameter of the model has requires_grad=True: nothing would "
                         "train. Unfreeze a part first (vc.freezing).")
    history = History(device=str(chosen.device), precision=chosen.precision)
    if resume and folder is not None and (folder / "last.pt").is_file():
        history = History.from_dict(
            checkpoints.restore(folder / "last.pt", model, optimizer, scheduler, trained))
        history.notes.append(f"resumed after epoch {len(history.records)} from {folder / 'last.pt'}")

    generator = data.shuffle_generator(train_loader)
    loader_seed = generator.initial_seed() if generator is not None else 0
    saved_state = generator.get_state() if generator is not None else None
    with devices.applied(chosen):  # cudnn.benchmark for this run only, then as it was
        bar = tqdm(range(len(history.records) + 1, epochs + 1), desc="epochs", unit="epoch",
                   **_bar(progress))
        try:
            for epoch in bar:
                seed_epoch(seed, epoch, generator, loader_seed)
                peak = memory.PeakMemory(chosen.device)
                start = time.perf_counter()
                train = train_one_epoch(model, train_loader, optimizer, plan=chosen, loss_fn=loss_fn,
                                        progress=progress)
                val = evaluate(model, val_loader, plan=chosen, loss_fn=loss_fn, progress=progress)
                if chosen.device.type == "cuda":
                    torch.cuda.synchronize(chosen.device)
                seconds = time.perf_counter() - start
                lr = float(optimizer.param_groups[0]["lr"])
                if scheduler is not None:
                    scheduler.step()
                used = peak.read()
                if used is None and f"peak memory {peak.source}" not in history.notes:
                    history.notes.append(f"peak memory {peak.source}")  # "... not measured: why"
                record = EpochRecord(
                    epoch=epoch, train_loss=train.loss, train_accuracy=train.accuracy,
                    val_loss=val.loss, val_accuracy=val.accuracy, seconds=seconds,
                    images_per_s=(train.n + val.n) / seconds,
                    peak_memory_mb=None if used is None else used / 2**20, lr=lr)
                improved = history.best_accuracy is None or record.val_accuracy > history.best_accuracy
                history.records.append(record)
                if folder is not None:
                    checkpoints.save(folder, model, optimizer, scheduler, history.to_dict(), trained,
                                     best=improved)
                bar.set_postfix(loss=f"{record.train_loss:.3f}", val_acc=f"{record.val_accuracy:.1%}")
        finally:  # the loader leaves as it came, so a re-run (or a resume) starts the same way
            bar.close()
            if generator is not None:
                generator.set_state(saved_state)
        return history

