"""The training and evaluation loop: train_one_epoch, evaluate, and fit with a history.

The loop is the one every PyTorch course writes by hand -- ``model.train()`` (with frozen
BatchNorm layers kept in eval mode: ``vc.batchnorm``), forward,
loss, ``zero_grad``, ``backward``, ``step``; ``model.eval()`` and ``torch.inference_mode()``
to validate -- plus what makes it fast and trustworthy: the device and precision from
``vc.devices``, a progress bar, a per-epoch ``History``, best/last checkpoints, resume
after an interruption, per-epoch seeds, and feature caching (``vc.features``).
"""

from __future__ import annotations

import html
import os
import random
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from vgg_course import batchnorm, checkpoints, config, data, devices, features, memory, tables


@dataclass(frozen=True)
class EvalResult:
    """Mean loss and accuracy over ``n`` examples."""

    loss: float
    accuracy: float
    n: int

    def __repr__(self) -> str:
        return f"EvalResult(loss={self.loss:.4f}, accuracy={self.accuracy:.2%}, n={self.n})"


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch did: losses, accuracies, time, throughput and peak memory."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float
    images_per_s: float
    peak_memory_mb: float | None
    lr: float


_COLUMNS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
            "seconds", "images_per_s", "peak_memory_mb")


def _cell(name: str, value: object) -> str:
    if value is None:
        return "-"
    if name.endswith("accuracy"):
        return f"{value:.1%}"
    if name.endswith("loss"):
        return f"{value:.4f}"
    if isinstance(value, float):
        return f"{value:,.1f}" if name != "seconds" else f"{value:.2f}"
    return str(value)


@dataclass
class History:
    """Per-epoch records of a ``fit`` run, plus how it ran. Displays as a table in a cell."""

    records: list[EpochRecord] = field(default_factory=list)
    device: str = "cpu"
    precision: str = "fp32"
    setup_seconds: float = 0.0  # before epoch 1: feature caching, for instance
    notes: list[str] = field(default_factory=list)

    @property
    def best_epoch(self) -> int | None:
        """The first epoch with the highest validation accuracy (``None`` before any epoch)."""
        if not self.records:
            return None
        return max(self.records, key=lambda r: (r.val_accuracy, -r.epoch)).epoch

    @property
    def best_accuracy(self) -> float | None:
        return None if not self.records else max(r.val_accuracy for r in self.records)

    @property
    def total_seconds(self) -> float:
        """End-to-end training time: set-up plus every epoch."""
        return self.setup_seconds + sum(r.seconds for r in self.records)

    def to_dict(self) -> dict:
        """Plain JSON-ready data."""
        return {"device": self.device, "precision": self.precision,
                "setup_seconds": self.setup_seconds, "total_seconds": self.total_seconds,
                "best_epoch": self.best_epoch, "best_accuracy": self.best_accuracy,
                "notes": list(self.notes), "records": [asdict(r) for r in self.records]}

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(records=[EpochRecord(**r) for r in data["records"]], device=data["device"],
                   precision=data["precision"], setup_seconds=data["setup_seconds"],
                   notes=list(data["notes"]))

    def _summary(self) -> str:
        best = self.best_epoch
        head = f"History: {len(self.records)} epochs on {self.device} ({self.precision})"
        if best is not None:
            head += f", best val accuracy {self.best_accuracy:.1%} at epoch {best}"
        return head + f", {self.total_seconds:.1f} s in all"

    def _table(self) -> tables.Table:
        rows = [[_cell(c, getattr(r, c)) for c in _COLUMNS] for r in self.records]
        best = [i for i, r in enumerate(self.records) if r.epoch == self.best_epoch]
        return tables.Table(_COLUMNS, rows, right=range(len(_COLUMNS)), bold=best)

    def __repr__(self) -> str:
        return "\n".join([self._summary(), *(f"note: {n}" for n in self.notes), self._table().text()])

    def _repr_html_(self) -> str:
        notes = "".join(f"<br><i>note: {html.escape(n)}</i>" for n in self.notes)
        return f"<p>{html.escape(self._summary())}{notes}</p>{self._table().html()}"


def _batch_size(x: torch.Tensor) -> int:
    return int(x.shape[0])


def train_one_epoch(
    model: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device | str | None = None,
    precision: str = "auto",
    loss_fn: nn.Module | None = None,
    progress: bool = False,
) -> EvalResult:
    """One pass over ``loader`` in train mode; returns the mean training loss and accuracy.

    Example:
        >>> import vgg_course as vc
        >>> model = vc.models.tiny_vgg(2)
        >>> data = [(torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 0, 1]))]
        >>> opt = torch.optim.SGD(model.parameters(), lr=0.01)
        >>> train_one_epoch(model, data, opt, device="cpu").n
        4
    """
    chosen = devices.plan(device, precision)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    batchnorm.train_mode(model)  # model.train(), but frozen BatchNorm keeps its statistics
    # Sums stay on the device: calling .item() every step would wait for the GPU each time.
    total_loss = torch.zeros((), device=chosen.device)
    correct = torch.zeros((), dtype=torch.long, device=chosen.device)
    n = 0
    for x, y in data.batches(loader, desc="train", progress=progress):
        x, y = devices.to_device(x, chosen), y.to(chosen.device, non_blocking=True)
        with devices.autocast(chosen.device, chosen.dtype):
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
    loss_fn: nn.Module | None = None,
    progress: bool = False,
) -> EvalResult:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode, without gradients.

    Example:
        >>> import vgg_course as vc
        >>> data = [(torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 0, 1]))]
        >>> evaluate(vc.models.tiny_vgg(2), data, device="cpu").n
        4
    """
    chosen = devices.plan(device, precision)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    model.eval()  # dropout off, batch norm uses its running statistics
    total_loss = torch.zeros((), device=chosen.device)
    correct = torch.zeros((), dtype=torch.long, device=chosen.device)
    n = 0
    with torch.inference_mode():
        for x, y in data.batches(loader, desc="val", progress=progress):
            x, y = devices.to_device(x, chosen), y.to(chosen.device, non_blocking=True)
            with devices.autocast(chosen.device, chosen.dtype):
                logits = model(x)
                loss = loss_fn(logits, y)
            total_loss += loss.float() * _batch_size(x)
            correct += (logits.argmax(dim=1) == y).sum()
            n += _batch_size(x)
    if n == 0:
        raise ValueError("The validation loader yielded no batches: is the dataset empty?")
    return EvalResult(loss=total_loss.item() / n, accuracy=correct.item() / n, n=n)


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
    loss_fn: nn.Module | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
    cache_features: bool = False,
    cache_precision: str | None = None,
) -> History:
    """Train for ``epochs`` epochs, validating after each; return the ``History``.

    Args:
        model: any classifier; its ``requires_grad`` flags say what trains.
        train_loader, val_loader: iterables of ``(images, labels)`` batches (``DataLoader``).
        optimizer: built over the parameters to train (see ``vc.optim``).
        epochs: the total number of epochs, counting those a resumed run already did.
        device: ``None`` picks CUDA, MPS or CPU (``vc.devices.pick_device``).
        precision: ``"auto"`` (bf16 where the hardware has it), ``"fp32"`` or ``"bf16"``.
        loss_fn: defaults to ``nn.CrossEntropyLoss()``.
        scheduler: stepped once per epoch, after validation.
        checkpoint: a folder; ``last.pt`` is written after every epoch and ``best.pt``
            whenever validation accuracy improves (see ``vc.checkpoints.load``).
        resume: continue from ``checkpoint/last.pt`` when it exists; finished epochs are
            kept and the result matches an uninterrupted run.
        seed: the same seed gives the same numbers on the same machine.
        progress: show a progress bar (terminal or Jupyter).
        cache_features: compute the frozen part's output once and train only the rest
            on it (``vc.features``). When that is not possible the run goes on uncached
            and the reason is warned and kept in ``History.notes``.
        cache_precision: the precision of that one caching pass; ``None`` uses
            ``precision``. ``"int8"`` (CPU only) runs an int8 copy of the frozen part,
            several times faster; the features are close to fp32's, not equal
            (``vc.features.cache``).

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
    chosen = devices.plan(device, precision)
    devices.prepare(model, chosen)
    history = History(device=str(chosen.device), precision=chosen.precision)
    folder = Path(checkpoint) if checkpoint is not None else None
    trained = {name for name, p in model.named_parameters() if p.requires_grad}
    if not trained:
        raise ValueError("No parameter of the model has requires_grad=True: nothing would "
                         "train. Unfreeze a part first (vc.freezing).")
    if resume and folder is not None and (folder / "last.pt").is_file():
        history = History.from_dict(
            checkpoints.restore(folder / "last.pt", model, optimizer, scheduler, trained))
        history.notes.append(f"resumed after epoch {len(history.records)} from {folder / 'last.pt'}")

    train_model, train_data, val_data = model, train_loader, val_loader
    start = time.perf_counter()
    if cache_features and len(history.records) < epochs:
        check = features.check(model, train_loader, val_loader)
        if check.ok:
            cached = features.cache(model, train_loader, val_loader, check,
                                    device=chosen.device, precision=cache_precision or precision,
                                    progress=progress)
            train_model, train_data, val_data = cached.head, cached.train, cached.val
            history.notes.append(str(cached))
        else:
            note = f"feature caching not used: {check.reason}"
            warnings.warn(note, stacklevel=2)
            history.notes.append(note)
    history.setup_seconds += time.perf_counter() - start

    generator = data.shuffle_generator(train_loader)
    loader_seed = generator.initial_seed() if generator is not None else 0
    saved_state = generator.get_state() if generator is not None else None
    bar = tqdm(range(len(history.records) + 1, epochs + 1), desc="epochs", unit="epoch",
               **_bar(progress))
    try:
        for epoch in bar:
            seed_epoch(seed, epoch, generator, loader_seed)
            peak = memory.PeakMemory(chosen.device)
            start = time.perf_counter()
            train = train_one_epoch(train_model, train_data, optimizer, device=chosen.device,
                                    precision=precision, loss_fn=loss_fn, progress=progress)
            val = evaluate(train_model, val_data, device=chosen.device, precision=precision,
                           loss_fn=loss_fn, progress=progress)
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
            improved = history.best_accuracy is None or val.accuracy > history.best_accuracy
            history.records.append(record)
            if folder is not None:
                checkpoints.save(folder, model, optimizer, scheduler, history.to_dict(), trained,
                                 best=improved)
            bar.set_postfix(loss=f"{train.loss:.3f}", val_acc=f"{val.accuracy:.1%}")
    finally:  # the loader leaves as it came, so a re-run (or a resume) starts the same way
        bar.close()
        if generator is not None:
            generator.set_state(saved_state)
    return history
