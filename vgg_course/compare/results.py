"""The comparison lab's results: one row per recipe over several seeds, a table, files on disk.

``vc.compare.run`` returns a ``Comparison``: its ``rows`` and ``curves`` feed
``vc.figures``, it displays as a Markdown table in a notebook cell, and ``save(out)``
writes ``comparison.json``, ``comparison.csv``, ``summary.md`` and the PNG figures.
Each recipe ran once per seed; accuracies are the mean of the final epochs with their
standard deviation over seeds and their 95% interval on the validation images
(``vc.compare.recipe_result``), and ``Comparison.differs`` says whether two recipes are
further apart than the seed noise (and than one validation image). ``conclusion()`` reads the
table in sentences built from its numbers alone: which noise dominates, what always answering
one class scores, and where each recipe stands against the pretrained network's own outputs
for the classes (``baseline``), untrained.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vgg_course import config, figures, tables
from vgg_course.compare import reading, stats
from vgg_course.compare.budget import Budget
from vgg_course.compare.recipe_result import ROW_KEYS, RecipeResult, Run
from vgg_course.i18n import _

# ROW_KEYS, RecipeResult and Run live in vgg_course.compare.recipe_result; kept here too
__all__ = ["ROW_KEYS", "Comparison", "Predictions", "RecipeResult", "Run"]


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
    majority_share: float | None = None  # "always the commonest val class" accuracy
    majority_class: str = ""
    baseline: float | None = None  # the pretrained head's own outputs for the classes, untrained
    baseline_note: str = ""  # what the baseline is, or why there is none

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
            raise ValueError(_("every recipe failed: there is no best one"))
        return max(ok, key=lambda r: (r.final_val_acc, -r.total_s))

    def result(self, recipe: str) -> RecipeResult:
        for r in self.results:
            if recipe == r.recipe or recipe in r.same_as:
                return r
        raise KeyError(_("no result for {recipe!r}; ran {ran}").format(
            recipe=recipe, ran=[r.recipe for r in self.results]))

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
        """Keep the commonest val class's share; note each trained recipe no better than it."""
        majority = max(set(labels), key=labels.count)
        share = labels.count(majority) / len(labels)
        self.majority_share, self.majority_class = share, self.classes[majority]
        for result in self.trained():
            if result.final_val_acc <= share + self.one_image:
                result.notes.append(_("no better than answering '{cls}' for every image "
                                      "({share:.1%}): it learned nothing useful").format(
                                          cls=self.majority_class, share=share))

    def sampling_sd(self, recipe: str | None = None) -> float:
        """Standard error of the best (or named) recipe's accuracy on the ``n_val`` images."""
        result = self.best() if recipe is None else self.result(recipe)
        return stats.sampling_sd(min(max(result.final_val_acc, 0.0), 1.0), self.n_val)

    def dominant_noise(self) -> str:
        """``"sampling"`` when the validation sample's standard error (``sampling_sd()``) is
        larger than every trained recipe's seed spread, else ``"seeds"``."""
        spread = max(r.val_acc_sd for r in self.trained())
        return "sampling" if self.sampling_sd() > spread else "seeds"

    def conclusion(self) -> str:
        """The table's reading in one paragraph, every sentence built from the numbers."""
        return reading.conclusion(self)

    def to_markdown(self) -> str:
        seeds = self.results[0].seeds if self.results else []
        precision = self.results[0].precision if self.results else "-"
        if self.budget.precision == "int8":
            precision = _("{precision}, cached passes in int8").format(precision=precision)
        b = self.budget
        lines = [_("**{model}** on `{data}` ({n_train} train / {n_val} val images, classes {classes}); "
                   "{epochs} epoch(s), batch {batch_size}, lr {lr:g} (head) / {backbone_lr:g} "
                   "(backbone), seeds {seeds}, on {device} ({precision}). Accuracy: the final epoch's, "
                   "mean ± standard deviation over the seeds; one validation image is {one_image:.1%}; "
                   "95% CI: the Wilson interval of that mean on the {n_val} validation images (what "
                   "another sample of images could move); untrained: before the first epoch, mean "
                   "over the seeds.").format(
            model=self.model, data=config.settings().shown(self.data), n_train=self.n_train,
            n_val=self.n_val, classes=", ".join(self.classes), epochs=b.epochs,
            batch_size=b.batch_size, lr=b.lr, backbone_lr=b.backbone_lr, one_image=self.one_image,
            seeds=", ".join(map(str, seeds)), precision=precision,
            device=self.results[0].device if self.results else "-"), ""]
        # the table's headers stay English: each column is one of ROW_KEYS
        rows = []
        for r in self.results:
            mb = ["-" if v is None else f"{v:,.0f}" for v in (r.peak_cpu_mb, r.peak_gpu_mb)]
            rows.append([_("{name} (cached features)").format(name=r.name) if r.cached_features
                         else r.name,
                         f"{r.trainable_params:,}", r.accuracy_text(), r.interval_text(),
                         "-" if r.untrained_val_acc is None else f"{r.untrained_val_acc:.1%}",
                         "-" if r.failure else " / ".join(f"{a:.1%}" for a in r.val_acc_runs),
                         "-" if r.failure else f"{r.final_val_loss:.3f}",
                         f"{r.s_per_epoch:.1f}", f"{r.total_s:.1f}", f"{r.images_per_s:.0f}", *mb])
        lines.append(tables.Table(["recipe", "trainable", "val acc (mean ± sd)",
                                   "95% CI (val images)", "untrained", "runs",
                                   "final val loss", "s/epoch", "s a run", "images/s", "peak CPU MB",
                                   "peak GPU MB"], rows).markdown())
        notes = ["- " + _("{recipe} FAILED: {failure}").format(recipe=r.recipe, failure=r.failure)
                 for r in self.results if r.failure]
        notes += ["- " + _("{recipe}: its own settings: {settings}").format(
            recipe=r.recipe, settings=r.settings) for r in self.results if r.settings]
        notes += [f"- {r.recipe}: {n}" for r in self.results for n in r.notes]
        notes += ["- " + _("{recipe} trains exactly the same parameters from the same values as "
                           "{same_as} on this network: one recipe, run once").format(
                               recipe=r.recipe, same_as=", ".join(r.same_as))
                  for r in self.results if r.same_as]
        notes += ["- " + _("{name} was not run: {why}").format(name=name, why=why)
                  for name, why in self.skipped.items()]
        if self.baseline_note:
            notes.append("- " + _("baseline (untrained): {note}").format(note=self.baseline_note))
        if notes:
            lines += ["", _("Notes:"), *notes]
        if self.data_check or self.skipped_files:
            lines += ["", _("Data: {check}").format(check=self.data_check) if self.data_check
                      else _("Data:")]
            lines += ["- " + _("skipped `{path}`: {reason}").format(path=s["path"], reason=s["reason"])
                      for s in self.skipped_files]
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
        lines = [_("Comparison of {n} recipe(s) on {model}, {epochs} epoch(s), seeds "
                   "{seeds}").format(n=len(self.results), model=self.model,
                                     epochs=self.budget.epochs, seeds=seeds), table.text()]
        lines += [f"  {r.recipe} = {', '.join(r.same_as)}" for r in self.results if r.same_as]
        lines += ["  " + _("{recipe} FAILED: {failure}").format(recipe=r.recipe, failure=r.failure)
                  for r in self.results if r.failure]
        lines += ["  " + _("skipped file {path}: {reason}").format(path=s["path"], reason=s["reason"])
                  for s in self.skipped_files]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"model": self.model, "model_note": self.model_note, "data": self.data,
                "classes": self.classes, "n_train": self.n_train, "n_val": self.n_val,
                "one_image": self.one_image, "budget": asdict(self.budget),
                "skipped": self.skipped, "skipped_files": self.skipped_files,
                "data_check": self.data_check, "majority_share": self.majority_share,
                "majority_class": self.majority_class, "baseline": self.baseline,
                "baseline_note": self.baseline_note,
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
        heading = _("Comparison: {model}").format(model=self.model)
        written["markdown"].write_text(f"# {heading}\n\n{self.to_markdown()}\n",
                                       encoding="utf-8")
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
