"""The comparison lab's results: one row per recipe over several seeds, a table, files on disk.

``vc.compare.run`` returns a ``Comparison``: its ``rows`` and ``curves`` feed
``vc.figures``, it displays as a Markdown table in a notebook cell, and ``save(out)``
writes ``comparison.json``, ``comparison.csv``, ``summary.md`` and the PNG figures.
Each recipe ran once per seed; accuracies are the mean of the final epochs with their
standard deviation over seeds, and ``Comparison.differs`` says whether two recipes are
further apart than that noise (and than one validation image).
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vgg_course import figures, tables
from vgg_course.compare.budget import Budget

ROW_KEYS = ("recipe", "same_as", "trainable_params", "epochs", "seeds", "final_val_acc",
            "val_acc_sd", "val_acc_runs", "best_val_acc", "final_val_loss", "s_per_epoch",
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

    @property
    def final_val_acc(self) -> float:
        return self.curves["val_acc"][-1]


@dataclass
class RecipeResult:
    """One recipe over its seeds: mean ± sd of the final accuracy, costs, curves and notes.

    ``failure`` is set (and the accuracies are not to be read) when a run diverged.
    ``same_as`` lists other recipes that train exactly the same parameters from the same
    values on this network: they were not run again.
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
    skipped_files: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}
    data_check: str = ""  # which files were checked, and how

    @property
    def rows(self) -> list[dict]:
        return [r.row() for r in self.results]

    @property
    def curves(self) -> dict[str, dict[str, list[float]]]:
        return {r.name: r.curves for r in self.results}

    @property
    def one_image(self) -> float:
        """What one validation image is worth in accuracy: ``1 / n_val``."""
        return 1 / self.n_val

    def trained(self) -> list[RecipeResult]:
        return [r for r in self.results if not r.failure]

    def best(self) -> RecipeResult:
        """The recipe with the highest mean final accuracy (ties: the cheaper one)."""
        ok = self.trained()
        if not ok:
            raise ValueError("every recipe failed: there is no best one")
        return max(ok, key=lambda r: (r.final_val_acc, -r.total_s))

    def result(self, recipe: str) -> RecipeResult:
        for r in self.results:
            if recipe == r.recipe or recipe in r.same_as:
                return r
        raise KeyError(f"no result for {recipe!r}; ran {[r.recipe for r in self.results]}")

    def differs(self, a: str, b: str) -> bool:
        """Whether two recipes' mean accuracies are further apart than the noise.

        The noise is the two seed spreads added (``sd_a + sd_b``), and never less than one
        validation image: a difference inside it is not a win for either.
        """
        ra, rb = self.result(a), self.result(b)
        noise = max(ra.val_acc_sd + rb.val_acc_sd, self.one_image)
        return abs(ra.final_val_acc - rb.final_val_acc) > noise

    def tied_with_best(self) -> list[RecipeResult]:
        """The best recipe and every recipe that does not differ from it (``differs``)."""
        best = self.best()
        return [r for r in self.trained() if not self.differs(best.recipe, r.recipe)]

    def note_majority(self, labels: list[int]) -> None:
        """Note each trained recipe no better than always answering the commonest val class."""
        majority = max(set(labels), key=labels.count)
        share = labels.count(majority) / len(labels)
        for result in self.trained():
            if result.final_val_acc <= share + self.one_image:
                result.notes.append(f"no better than answering '{self.classes[majority]}' for "
                                    f"every image ({share:.1%}): it learned nothing useful")

    def conclusion(self) -> str:
        """The table's reading in one paragraph, with the noise taken into account."""
        if not self.trained():
            return "Every recipe failed; see the notes."
        best, tied = self.best(), self.tied_with_best()
        cheapest = min(tied, key=lambda r: r.total_s)
        text = (f"Highest mean accuracy: **{best.recipe}** ({best.accuracy_text()}). One validation "
                f"image is worth {self.one_image:.1%}; a difference counts only when it is larger "
                "than the two recipes' seed spreads added together and than one image. ")
        others = [r.recipe for r in tied if r is not best]
        if others:
            text += (f"Within that noise of the best: {', '.join(others)}. The cheapest of them is "
                     f"**{cheapest.recipe}** ({cheapest.total_s:.1f} s a run).")
        else:
            text += "No other recipe is within that noise of it."
        return text

    def to_markdown(self) -> str:
        seeds = self.results[0].seeds if self.results else []
        lines = [f"**{self.model}** on `{self.data}` ({self.n_train} train / {self.n_val} val "
                 f"images, classes {', '.join(self.classes)}); {self.budget.epochs} epoch(s), "
                 f"batch {self.budget.batch_size}, lr {self.budget.lr:g} (head) / "
                 f"{self.budget.backbone_lr:g} (backbone), seeds {', '.join(map(str, seeds))}, on "
                 f"{self.results[0].device if self.results else '-'} "
                 f"({self.results[0].precision if self.results else '-'}"
                 f"{', cached passes in int8' if self.budget.precision == 'int8' else ''}). "
                 f"Accuracy: the final "
                 f"epoch's, mean ± standard deviation over the seeds; one validation image is "
                 f"{self.one_image:.1%}.", ""]
        rows = []
        for r in self.results:
            mb = ["-" if v is None else f"{v:,.0f}" for v in (r.peak_cpu_mb, r.peak_gpu_mb)]
            rows.append([r.name + (" (cached features)" if r.cached_features else ""),
                         f"{r.trainable_params:,}", r.accuracy_text(),
                         "-" if r.failure else " / ".join(f"{a:.1%}" for a in r.val_acc_runs),
                         "-" if r.failure else f"{r.final_val_loss:.3f}",
                         f"{r.s_per_epoch:.1f}", f"{r.total_s:.1f}", f"{r.images_per_s:.0f}", *mb])
        lines.append(tables.Table(["recipe", "trainable", "val acc (mean ± sd)", "runs",
                                   "final val loss", "s/epoch", "s a run", "images/s", "peak CPU MB",
                                   "peak GPU MB"], rows).markdown())
        notes = [f"- {r.recipe} FAILED: {r.failure}" for r in self.results if r.failure]
        notes += [f"- {r.recipe}: its own settings: {r.settings}" for r in self.results if r.settings]
        notes += [f"- {r.recipe}: {n}" for r in self.results for n in r.notes]
        notes += [f"- {r.recipe} trains exactly the same parameters from the same values as "
                  f"{', '.join(r.same_as)} on this network: one recipe, run once"
                  for r in self.results if r.same_as]
        notes += [f"- {name} was not run: {why}" for name, why in self.skipped.items()]
        if notes:
            lines += ["", "Notes:", *notes]
        if self.data_check or self.skipped_files:
            lines += ["", f"Data: {self.data_check}" if self.data_check else "Data:"]
            lines += [f"- skipped `{s['path']}`: {s['reason']}" for s in self.skipped_files]
        if self.results:
            lines += ["", self.conclusion()]
        if self.model_note:
            lines += ["", f"_{self.model_note}_"]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        seeds = self.results[0].seeds if self.results else []
        table = tables.Table(
            ["recipe", "trainable", "val acc (mean ± sd)", "s/epoch", "s a run"],
            [[r.recipe, f"{r.trainable_params:,}", r.accuracy_text(), f"{r.s_per_epoch:.1f}",
              f"{r.total_s:.1f}"] for r in self.results], right={1, 2, 3, 4})
        lines = [f"Comparison of {len(self.results)} recipe(s) on {self.model}, "
                 f"{self.budget.epochs} epoch(s), seeds {seeds}", table.text()]
        lines += [f"  {r.recipe} = {', '.join(r.same_as)}" for r in self.results if r.same_as]
        lines += [f"  {r.recipe} FAILED: {r.failure}" for r in self.results if r.failure]
        lines += [f"  skipped file {s['path']}: {s['reason']}" for s in self.skipped_files]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"model": self.model, "model_note": self.model_note, "data": self.data,
                "classes": self.classes, "n_train": self.n_train, "n_val": self.n_val,
                "one_image": self.one_image, "budget": asdict(self.budget),
                "skipped": self.skipped, "skipped_files": self.skipped_files,
                "data_check": self.data_check,
                "results": [{**r.row(), "settings": r.settings, "notes": r.notes,
                             "curves": r.curves, "runs": [asdict(x) for x in r.runs]}
                            for r in self.results],
                "conclusion": self.conclusion() if self.results else "",
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
            for row in self.rows:
                writer.writerow({k: ";".join(map(str, v)) if isinstance(v, list) else v
                                 for k, v in row.items()})
        written["markdown"].write_text(f"# Comparison: {self.model}\n\n{self.to_markdown()}\n")
        plotted = [{**r.row(), "recipe": r.name} for r in self.trained()]
        figs = {"curves": figures.curves(self.curves)}
        if plotted:
            figs["accuracy_vs_cost"] = figures.accuracy_vs_cost(plotted, accuracy="final_val_acc",
                                                                spread="val_acc_sd")
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
