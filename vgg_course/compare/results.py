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
from vgg_course.compare import stats
from vgg_course.compare.budget import Budget
from vgg_course.compare.recipe_result import ROW_KEYS, RecipeResult, Run

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
        """Keep the commonest val class's share; note each trained recipe no better than it."""
        majority = max(set(labels), key=labels.count)
        share = labels.count(majority) / len(labels)
        self.majority_share, self.majority_class = share, self.classes[majority]
        for result in self.trained():
            if result.final_val_acc <= share + self.one_image:
                result.notes.append(f"no better than answering '{self.classes[majority]}' for "
                                    f"every image ({share:.1%}): it learned nothing useful")

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
        if not self.trained():
            return "Every recipe failed; see the notes."
        best, tied = self.best(), self.tied_with_best()
        text = [f"Highest mean accuracy: **{best.recipe}** ({best.accuracy_text()} over "
                f"{len(best.runs)} seed(s); 95% interval on these {self.n_val} validation images: "
                f"{best.interval_text()}). A difference counts only when it is larger than the "
                f"two recipes' seed spreads added together and than one image "
                f"({self.one_image:.1%}): every recipe is scored on the same images, so their "
                "sampling error mostly cancels in a difference between two recipes, while the "
                "95% interval says how far one accuracy could move on other photos."]
        others = [r.recipe for r in tied if r is not best]
        if others:
            cheapest = min(tied, key=lambda r: r.total_s)
            text.append(f"Within that noise of the best: {', '.join(others)}; the cheapest of "
                        f"them is **{cheapest.recipe}** ({cheapest.total_s:.1f} s a run).")
        else:
            text.append("No other recipe is within that noise of it.")
        text.append(self._noise_sentence())
        text.append(f"The best recipe is picked on the same {self.n_val} validation images it is "
                    "reported on, so its number is slightly optimistic; an unbiased one needs a "
                    "third split of images that played no part in the choice.")
        text += [self._majority_sentence(r) for r in self.trained() if r.settings]
        text.append(self._baseline_sentence())
        return " ".join(t for t in text if t)

    def _against(self, result: RecipeResult, reference: float) -> str:
        """``"above"``, ``"within"`` or ``"below"``: beyond its seed spread and one image?"""
        gap, noise = result.final_val_acc - reference, max(result.val_acc_sd, self.one_image)
        return "above" if gap > noise else "below" if gap < -noise else "within"

    def _noise_sentence(self) -> str:
        spread = max(self.trained(), key=lambda r: r.val_acc_sd)
        best, error = self.best(), self.sampling_sd()
        sd, images = spread.val_acc_sd, f"one accuracy on {self.n_val} images"
        if sd == 0 and error == 0:
            return ("Neither noise shows in these numbers (every seed agrees, at 0% or 100%); "
                    "the 95% interval is the honest range.")
        if self.dominant_noise() == "sampling":
            seeds = ("only one seed ran, so the seed spread is not measured" if len(spread.runs) < 2
                     else f"the largest seed spread is {sd:.1%} ({spread.recipe})")
            return (f"The larger noise is the choice of validation images: {images} has a "
                    f"standard error of {error:.1%}, and {seeds}. Another set of photos could "
                    "move every number by about that much.")
        text = (f"The larger noise is the seed: {spread.recipe}'s runs spread {sd:.1%}, more than "
                f"the {error:.1%} standard error of {images}")
        if best.val_acc_sd < error:
            text += (f"; for the best recipe the images weigh more (its seeds spread "
                     f"{best.val_acc_sd:.1%})")
        return text + "."

    def _majority_sentence(self, result: RecipeResult) -> str:
        if self.majority_share is None:
            return ""
        size = self.budget.scratch.image_size if self.budget.scratch else None
        seen = self.budget.image_size or "the model's own input size"
        at = f" at {size} px (the pretrained recipes see {seen})" if size else ""
        always = f"answering '{self.majority_class}' for every image ({self.majority_share:.1%})"
        verdict = {"above": f"above {always}, beyond the noise",
                   "within": f"no better than {always}: it learned little or nothing",
                   "below": f"below {always}"}[self._against(result, self.majority_share)]
        return (f"{result.recipe}, trained from random weights with its own settings{at}, "
                f"reaches {result.accuracy_text()}: {verdict}.")

    def _baseline_sentence(self) -> str:
        if self.baseline is None:
            return f"No untrained baseline: {self.baseline_note}." if self.baseline_note else ""
        sides: dict[str, list[str]] = {"above": [], "within": [], "below": []}
        for r in self.trained():
            sides[self._against(r, self.baseline)].append(r.recipe)
        text = (f"The untrained baseline, the starting network's own ImageNet outputs for "
                f"{', '.join(self.classes)}, scores {self.baseline:.1%} on these images.")
        for side, words in (("above", "Above it beyond the noise"), ("within", "Within the "
                            "noise of it"), ("below", "Below it beyond the noise")):
            if sides[side]:
                text += f" {words}: {', '.join(sides[side])}."
        if not sides["above"]:
            text += (" No recipe's training added accuracy, beyond the noise, to what the "
                     "starting network already knew about these classes.")
        return text

    def to_markdown(self) -> str:
        seeds = self.results[0].seeds if self.results else []
        lines = [f"**{self.model}** on `{config.settings().shown(self.data)}` ({self.n_train} train / {self.n_val} val "
                 f"images, classes {', '.join(self.classes)}); {self.budget.epochs} epoch(s), "
                 f"batch {self.budget.batch_size}, lr {self.budget.lr:g} (head) / "
                 f"{self.budget.backbone_lr:g} (backbone), seeds {', '.join(map(str, seeds))}, on "
                 f"{self.results[0].device if self.results else '-'} "
                 f"({self.results[0].precision if self.results else '-'}"
                 f"{', cached passes in int8' if self.budget.precision == 'int8' else ''}). "
                 f"Accuracy: the final "
                 f"epoch's, mean ± standard deviation over the seeds; one validation image is "
                 f"{self.one_image:.1%}; 95% CI: the Wilson interval of that mean on the "
                 f"{self.n_val} validation images (what another sample of images could move); "
                 f"untrained: before the first epoch, mean over the seeds.", ""]
        rows = []
        for r in self.results:
            mb = ["-" if v is None else f"{v:,.0f}" for v in (r.peak_cpu_mb, r.peak_gpu_mb)]
            rows.append([r.name + (" (cached features)" if r.cached_features else ""),
                         f"{r.trainable_params:,}", r.accuracy_text(), r.interval_text(),
                         "-" if r.untrained_val_acc is None else f"{r.untrained_val_acc:.1%}",
                         "-" if r.failure else " / ".join(f"{a:.1%}" for a in r.val_acc_runs),
                         "-" if r.failure else f"{r.final_val_loss:.3f}",
                         f"{r.s_per_epoch:.1f}", f"{r.total_s:.1f}", f"{r.images_per_s:.0f}", *mb])
        lines.append(tables.Table(["recipe", "trainable", "val acc (mean ± sd)",
                                   "95% CI (val images)", "untrained", "runs",
                                   "final val loss", "s/epoch", "s a run", "images/s", "peak CPU MB",
                                   "peak GPU MB"], rows).markdown())
        notes = [f"- {r.recipe} FAILED: {r.failure}" for r in self.results if r.failure]
        notes += [f"- {r.recipe}: its own settings: {r.settings}" for r in self.results if r.settings]
        notes += [f"- {r.recipe}: {n}" for r in self.results for n in r.notes]
        notes += [f"- {r.recipe} trains exactly the same parameters from the same values as "
                  f"{', '.join(r.same_as)} on this network: one recipe, run once"
                  for r in self.results if r.same_as]
        notes += [f"- {name} was not run: {why}" for name, why in self.skipped.items()]
        if self.baseline_note:
            notes.append(f"- baseline (untrained): {self.baseline_note}")
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
