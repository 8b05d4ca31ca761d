"""The comparison lab's results: one row per recipe, a table in a cell, files on disk.

``vc.compare.run`` returns a ``Comparison``: its ``rows`` and ``curves`` feed
``vc.figures``, it displays as a Markdown table in a notebook cell, and ``save(out)``
writes ``comparison.json``, ``comparison.csv``, ``summary.md`` and the PNG figures.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vgg_course import figures

if TYPE_CHECKING:  # compare builds results; results only shows a Budget
    from vgg_course.compare import Budget

ROW_KEYS = ("recipe", "trainable_params", "epochs", "best_val_acc", "best_epoch", "final_val_acc",
            "best_val_loss", "final_val_loss", "s_per_epoch", "setup_s", "total_s", "images_per_s",
            "peak_gpu_mb", "peak_cpu_mb", "device", "precision", "cached_features")


@dataclass
class RecipeResult:
    """One recipe's numbers (``row()``), its per-epoch curves and, if kept, val predictions."""

    recipe: str
    trainable_params: int
    epochs: int
    best_val_acc: float
    best_epoch: int
    final_val_acc: float
    best_val_loss: float
    final_val_loss: float
    s_per_epoch: float  # training + validation, per epoch
    setup_s: float  # before epoch 1: feature caching
    total_s: float  # wall clock of the whole recipe
    images_per_s: float  # (train + val images) x epochs / total_s
    peak_gpu_mb: float | None
    peak_cpu_mb: float | None
    device: str
    precision: str
    cached_features: bool
    notes: list[str] = field(default_factory=list)
    curves: dict[str, list[float]] = field(default_factory=dict)

    def row(self) -> dict:
        return {k: getattr(self, k) for k in ROW_KEYS}


@dataclass
class Predictions:
    """Validation predictions of one trained recipe, for the confusion matrix and image grid."""

    recipe: str
    paths: list[str]
    labels: list[int]
    preds: list[int]
    probs: list[float]


@dataclass
class Comparison:
    """Every recipe's results under one budget; displays as a table in a notebook cell."""

    model: str
    model_note: str
    data: str
    classes: list[str]
    n_train: int
    n_val: int
    budget: Budget
    results: list[RecipeResult]
    predictions: Predictions | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # recipe -> why it does not apply

    @property
    def rows(self) -> list[dict]:
        return [r.row() for r in self.results]

    @property
    def curves(self) -> dict[str, dict[str, list[float]]]:
        return {r.recipe: r.curves for r in self.results}

    def best(self) -> RecipeResult:
        return max(self.results, key=lambda r: (r.best_val_acc, -r.total_s))

    def result(self, recipe: str) -> RecipeResult:
        for r in self.results:
            if r.recipe == recipe:
                return r
        raise KeyError(f"no result for {recipe!r}; ran {[r.recipe for r in self.results]}")

    def to_markdown(self) -> str:
        head = ["recipe", "trainable", "best val acc", "final val acc", "final val loss",
                "s/epoch", "total s", "images/s", "peak CPU MB", "peak GPU MB"]
        lines = [f"**{self.model}** on `{self.data}` ({self.n_train} train / {self.n_val} val "
                 f"images, classes {', '.join(self.classes)}); {self.budget.epochs} epoch(s), "
                 f"batch {self.budget.batch_size}, lr {self.budget.lr:g} (head) / "
                 f"{self.budget.backbone_lr:g} (backbone), seed {self.budget.seed}, on "
                 f"{self.results[0].device if self.results else '-'} "
                 f"({self.results[0].precision if self.results else '-'}).", "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.results:
            gpu = f"{r.peak_gpu_mb:,.0f}" if r.peak_gpu_mb is not None else "-"
            cpu = f"{r.peak_cpu_mb:,.0f}" if r.peak_cpu_mb is not None else "-"
            lines.append(f"| {r.recipe}{' (cached features)' if r.cached_features else ''} | "
                         f"{r.trainable_params:,} | {r.best_val_acc:.1%} (epoch {r.best_epoch}) | "
                         f"{r.final_val_acc:.1%} | {r.final_val_loss:.3f} | {r.s_per_epoch:.1f} | "
                         f"{r.total_s:.1f} | {r.images_per_s:.0f} | {cpu} | {gpu} |")
        notes = [f"- {r.recipe}: {n}" for r in self.results for n in r.notes]
        notes += [f"- {name} was not run: {why}" for name, why in self.skipped.items()]
        if notes:
            lines += ["", "Notes:", *notes]
        if self.results:
            best, cheap = self.best(), min(self.results, key=lambda r: r.total_s)
            lines += ["", f"Best validation accuracy: **{best.recipe}** ({best.best_val_acc:.1%}). "
                      f"Cheapest: **{cheap.recipe}** ({cheap.total_s:.1f} s, "
                      f"{cheap.best_val_acc:.1%})."]
        if self.model_note:
            lines += ["", f"_{self.model_note}_"]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        cols = [("recipe", 31, "{}"), ("trainable", 12, "{:,}"), ("best acc", 9, "{:.1%}"),
                ("final acc", 9, "{:.1%}"), ("s/epoch", 8, "{:.1f}"), ("total s", 8, "{:.1f}")]
        keys = ("recipe", "trainable_params", "best_val_acc", "final_val_acc", "s_per_epoch", "total_s")
        lines = [f"Comparison of {len(self.results)} recipe(s) on {self.model}, {self.budget.epochs} epoch(s)",
                 "  ".join(name.rjust(w) if i else name.ljust(w) for i, (name, w, _) in enumerate(cols))]
        for row in self.rows:
            lines.append("  ".join(fmt.format(row[k]).rjust(w) if i else fmt.format(row[k]).ljust(w)
                                   for i, ((_, w, fmt), k) in enumerate(zip(cols, keys))))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"model": self.model, "model_note": self.model_note, "data": self.data,
                "classes": self.classes, "n_train": self.n_train, "n_val": self.n_val,
                "budget": asdict(self.budget), "skipped": self.skipped,
                "results": [asdict(r) for r in self.results],
                "predictions": asdict(self.predictions) if self.predictions else None}

    def save(self, out: str | os.PathLike) -> dict[str, Path]:
        """Write comparison.json, comparison.csv, summary.md and the PNG figures to ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = {"json": out / "comparison.json", "csv": out / "comparison.csv",
                   "markdown": out / "summary.md"}
        written["json"].write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        with open(written["csv"], "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=ROW_KEYS)
            writer.writeheader()
            writer.writerows(self.rows)
        written["markdown"].write_text(f"# Comparison: {self.model}\n\n{self.to_markdown()}\n")
        figs = {"curves": figures.curves(self.curves),
                "accuracy_vs_cost": figures.accuracy_vs_cost(self.rows)}
        if self.predictions:
            p = self.predictions
            figs["confusion"] = figures.confusion_matrix(
                p.labels, p.preds, self.classes, title=f"Confusion matrix: {p.recipe}")
            figs["predictions"] = figures.prediction_grid(
                p.paths, p.labels, p.preds, self.classes, probs=p.probs,
                title=f"{p.recipe} on validation images")
        for name, fig in figs.items():
            written[name] = out / f"{name}.png"
            fig.savefig(written[name], dpi=100)
        return written
