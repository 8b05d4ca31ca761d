"""What a training run did: per-epoch losses, accuracies, time, throughput and peak memory.

``vc.engine.fit`` returns a ``History``: a table in a notebook cell (the best epoch in
bold), plain JSON-ready data for a checkpoint (``to_dict`` / ``from_dict``), and per-epoch
curves for ``vc.figures``. A peak the platform cannot measure shows as ``-`` (``vc.memory``).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field

from vgg_course import tables


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


COLUMNS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
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
        """Training and validation time, every epoch (feature caching, done before, not included)."""
        return sum(r.seconds for r in self.records)

    def curves(self) -> dict[str, list[float]]:
        """Per-epoch ``val_acc``, ``val_loss``, ``train_loss``, ``train_acc`` (for ``vc.figures``)."""
        return {"val_acc": [r.val_accuracy for r in self.records],
                "val_loss": [r.val_loss for r in self.records],
                "train_loss": [r.train_loss for r in self.records],
                "train_acc": [r.train_accuracy for r in self.records]}

    def to_dict(self) -> dict:
        """Plain JSON-ready data."""
        return {"device": self.device, "precision": self.precision,
                "total_seconds": self.total_seconds, "best_epoch": self.best_epoch,
                "best_accuracy": self.best_accuracy, "notes": list(self.notes),
                "records": [asdict(r) for r in self.records]}

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(records=[EpochRecord(**r) for r in data["records"]], device=data["device"],
                   precision=data["precision"], notes=list(data["notes"]))

    def _summary(self) -> str:
        best = self.best_epoch
        head = f"History: {len(self.records)} epochs on {self.device} ({self.precision})"
        if best is not None:
            head += f", best val accuracy {self.best_accuracy:.1%} at epoch {best}"
        return head + f", {self.total_seconds:.1f} s in all"

    def _table(self) -> tables.Table:
        rows = [[_cell(c, getattr(r, c)) for c in COLUMNS] for r in self.records]
        best = [i for i, r in enumerate(self.records) if r.epoch == self.best_epoch]
        return tables.Table(COLUMNS, rows, right=range(len(COLUMNS)), bold=best)

    def __repr__(self) -> str:
        return "\n".join([self._summary(), *(f"note: {n}" for n in self.notes), self._table().text()])

    def _repr_html_(self) -> str:
        notes = "".join(f"<br><i>note: {html.escape(n)}</i>" for n in self.notes)
        return f"<p>{html.escape(self._summary())}{notes}</p>{self._table().html()}"
