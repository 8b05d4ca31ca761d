"""One recipe's result over its seeds: accuracy with its seed spread and 95% interval, costs, curves.

A ``RecipeResult`` holds every seed's ``Run``: the mean of the final accuracies with their
standard deviation over seeds (what another seed would move), the Wilson 95% interval of that
mean on the validation images (``vc.compare.stats``: what another set of images would move),
the accuracy before any training (epoch 0), and what the runs cost.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from vgg_course.compare import stats

ROW_KEYS = ("recipe", "same_as", "trainable_params", "epochs", "seeds", "final_val_acc",
            "val_acc_sd", "ci_low", "ci_high", "untrained_val_acc", "val_acc_runs", "best_val_acc", "final_val_loss", "s_per_epoch",
            "setup_s", "total_s", "images_per_s", "peak_gpu_mb", "peak_cpu_mb", "device",
            "precision", "cached_features", "failure")


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value).

    Example:
        >>> [round(x, 4) for x in mean_sd([0.9, 0.92, 0.94])]
        [0.92, 0.02]
    """
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


@dataclass
class Run:
    """One training run of a recipe with one seed: its per-epoch curves and cost."""

    seed: int
    curves: dict[str, list[float]]
    seconds: float  # training and validation, every epoch (feature caching not included)
    diverged: bool = False
    untrained_val_acc: float | None = None  # validation accuracy before the first epoch

    @property
    def final_val_acc(self) -> float:
        return self.curves["val_acc"][-1]


@dataclass
class RecipeResult:
    """One recipe over its seeds: mean ± sd of the final accuracy, costs, curves and notes.

    ``failure`` is set (and the accuracies are not to be read) when a run diverged.
    ``same_as`` lists other recipes that train exactly the same parameters from the same
    values on this network: they were not run again. ``n_val``: the validation images each
    accuracy was measured on (``None``: unknown, and no interval).
    """

    recipe: str
    trainable_params: int
    epochs: int
    runs: list[Run]
    setup_s: float  # one-off work before the epochs: feature caching
    peak_gpu_mb: float | None
    peak_cpu_mb: float | None
    device: str
    precision: str
    cached_features: bool
    n_images: int  # train + val images of one epoch
    same_as: list[str] = field(default_factory=list)
    settings: str = ""  # a recipe with its own settings says which (from_scratch)
    failure: str | None = None
    notes: list[str] = field(default_factory=list)
    n_val: int | None = None

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.runs]

    @property
    def val_acc_runs(self) -> list[float]:
        return [r.final_val_acc for r in self.runs]

    @property
    def final_val_acc(self) -> float:
        return mean_sd(self.val_acc_runs)[0]

    @property
    def val_acc_sd(self) -> float:
        return mean_sd(self.val_acc_runs)[1]

    @property
    def untrained_val_acc(self) -> float | None:
        """Validation accuracy before any training (epoch 0), mean over seeds."""
        before = [r.untrained_val_acc for r in self.runs]
        return None if not before or None in before else statistics.fmean(before)

    def _interval(self) -> tuple[float, float] | None:
        acc = self.final_val_acc
        if not self.n_val or not math.isfinite(acc):
            return None
        return stats.wilson(min(max(acc, 0.0), 1.0) * self.n_val, self.n_val)

    @property
    def ci_low(self) -> float | None:
        """Low end of the Wilson 95% interval of ``final_val_acc`` on the ``n_val`` images."""
        interval = self._interval()
        return None if interval is None else interval[0]

    @property
    def ci_high(self) -> float | None:
        """High end of the Wilson 95% interval of ``final_val_acc`` on the ``n_val`` images."""
        interval = self._interval()
        return None if interval is None else interval[1]

    @property
    def best_val_acc(self) -> float:
        """Mean over seeds of each run's best epoch (optimistic: the epoch is picked on val)."""
        return statistics.fmean(max(r.curves["val_acc"]) for r in self.runs)

    @property
    def final_val_loss(self) -> float:
        return statistics.fmean(r.curves["val_loss"][-1] for r in self.runs)

    @property
    def s_per_epoch(self) -> float:
        return statistics.fmean(r.seconds for r in self.runs) / self.epochs

    @property
    def total_s(self) -> float:
        """What one run costs: the one-off caching plus one seed's epochs (mean over seeds)."""
        return self.setup_s + statistics.fmean(r.seconds for r in self.runs)

    @property
    def images_per_s(self) -> float:
        return self.n_images * self.epochs / self.total_s

    @property
    def curves(self) -> dict[str, list[float]]:
        """Per-epoch curves, averaged over seeds."""
        keys = self.runs[0].curves
        return {k: [statistics.fmean(r.curves[k][i] for r in self.runs)
                    for i in range(len(self.runs[0].curves[k]))] for k in keys}

    @property
    def name(self) -> str:
        return self.recipe + (f" (= {', '.join(self.same_as)})" if self.same_as else "")

    def row(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ROW_KEYS}

    def accuracy_text(self) -> str:
        if self.failure:
            return "failed"
        return f"{self.final_val_acc:.1%} ± {self.val_acc_sd:.1%}"

    def interval_text(self) -> str:
        """The 95% interval as ``"86.8% - 95.5%"`` (``"-"`` without one, or for a failure)."""
        if self.failure or self.ci_low is None:
            return "-"
        return f"{self.ci_low:.1%} - {self.ci_high:.1%}"
