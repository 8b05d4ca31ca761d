"""The transfer-learning vs fine-tuning comparison lab: every recipe, one budget, one table.

``run()`` trains each recipe of ``vc.recipes`` from the same starting weights, with the
same seed, data, epochs and learning rates, and measures what it buys (validation accuracy
and loss) and what it costs (trainable parameters, seconds, images/s, peak memory).
Recipes that freeze the whole backbone train on cached features, so their epochs cost
almost nothing. One recipe's seeds are trained by ``vc.compare.runs``; the result is a
``vc.compare.results.Comparison``: a table in a cell, and ``save(out)`` writes JSON, CSV, a
Markdown summary and PNG figures; ``python -m vgg_course compare`` does all of it from a shell.
``results_folder()`` gives each mode and model its own folder, so runs never overwrite each other.
Beside the recipes it measures what needs no training: always answering the commonest class
(``Comparison.majority_share``) and the pretrained head's own outputs for the classes
(``Comparison.baseline``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from vgg_course import config, data, datasets, devices, engine, heads, imagenet, models, recipes
from vgg_course.compare import runs
from vgg_course.compare.budget import Budget
from vgg_course.compare.results import Comparison, Predictions, RecipeResult

_PRELOAD_LIMIT = 1 << 30  # bytes of decoded images kept in memory


# ---------------------------------------------------------------- where results go


def results_folder(model: str, settings: config.Settings | None = None, *,
                   lab: str = "06_comparison") -> Path:
    """The folder for one mode's and one model's results: ``results_dir/<lab>/<mode>-<model>``.

    A quick run and a real one, or SqueezeNet and VGG16, never overwrite each other. VGG16
    on random weights because its file is missing (real mode) gets ``-random`` added, so
    the run after installing the weights keeps both.

    Args:
        model: the model's name, as ``run()`` takes it (``"vgg16"``, ``"squeezenet"``).
        settings: default ``vc.config.settings()``.
        lab: the folder under ``results_dir`` (the CLI uses ``"comparison"``).

    Example:
        >>> with config.use("quick", results_dir="/r"):
        ...     results_folder("vgg16").as_posix()
        '/r/06_comparison/quick-vgg16'
    """
    s = config.settings() if settings is None else settings
    random = "-random" if model == "vgg16" and s.practice and s.mode not in ("quick", "practice") else ""
    return s.results_dir / lab / f"{s.mode}-{model}{random}"


# ---------------------------------------------------------------- running


def _preload(train_ds: Dataset, val_ds: Dataset, budget: Budget, progress: bool
             ) -> tuple[Dataset, Dataset, bool]:
    """Decode once into memory when the data is deterministic and fits in ``_PRELOAD_LIMIT``.

    Returns both datasets and whether they are in memory; otherwise every batch is decoded
    from the files when it is needed (streamed).
    """
    if budget.augment:
        return train_ds, val_ds, False
    first = train_ds[0][0]
    size = first.numel() * first.element_size() * (len(train_ds) + len(val_ds))
    if size > _PRELOAD_LIMIT:
        return train_ds, val_ds, False
    return (data.InMemory(train_ds, progress=progress),
            data.InMemory(val_ds, progress=progress), True)


def _baseline_or_why(base: nn.Module, rows: tuple[int, ...] | None, classes: list[str],
                     random_weights: bool) -> str:
    """Why the lab has no untrained baseline for this model and these classes ("" if it has one)."""
    if rows is None:
        return (f"the classes {', '.join(classes)} have no ImageNet output of the same name "
                "(vc.imagenet.rows_for), so there is nothing to score untrained")
    if random_weights:
        return "the model has random weights, so its ImageNet outputs know nothing yet"
    try:
        outputs = heads.find_head(base).out_features
    except ValueError as exc:
        return str(exc)
    if outputs <= max(rows):
        return f"the model's head has {outputs:,} outputs, not ImageNet's 1,000"
    return ""


def run(
    model: str | nn.Module = "squeezenet",
    data_root: str | os.PathLike | None = None,
    *,
    recipe_names: Sequence[str] | None = None,
    budget: Budget = Budget(),
    val_fraction: float | None = None,
    transforms: tuple[Callable, Callable] | None = None,
    keep_predictions: bool = True,
    progress: bool = True,
    out: str | os.PathLike | None = None,
) -> Comparison:
    """Train every recipe from the same starting weights under one budget; return the table.

    The data are checked before anything trains (every file opened and decoded; the ones
    skipped are named with the reason); without augmentation the images are decoded once
    and kept in memory (up to 1 GiB) for every recipe, seed and epoch. A bigger folder (or
    augmentation) is streamed: each batch is decoded from the files when it is needed, a
    frozen prefix is cached only while its features fit in the same 1 GiB, and
    ``from_scratch``'s standardisation is computed in one pass over the training images and
    applied to each image on the fly, so memory stays bounded whatever the folder's size.
    Recipes that train exactly the same parameters from the same values on this model run
    once (``same_as``). A recipe whose head starts from the pretrained head's rows
    (``finetune_imagenet_rows``) gets the classes' rows (``vc.imagenet.rows_for``), or is
    skipped when they have none. Every recipe's accuracy before training is kept (one
    validation pass a seed), and so is the ``baseline``: the starting model's own ImageNet
    outputs for the classes, untrained (``None`` for random weights, a head without those
    rows, or classes without one; ``baseline_note`` says why).
    Each recipe runs once per seed of the budget (``vc.compare.runs``); a recipe with a frozen
    prefix computes it once for all its seeds (and for other recipes with the same prefix).
    A recipe that starts from random weights (``vc.recipes.Recipe.random_start``:
    ``from_scratch``) gets its own settings (``budget.scratch``). The budget's device and
    precision are resolved once (``vc.devices.plan``) and everything runs with that plan. A run
    whose loss becomes NaN or infinite makes the recipe a failure, reported with the fix
    instead of an accuracy.

    Args:
        model: ``"squeezenet"`` (the offline companion), ``"vgg16"`` (pretrained, or practice
            weights in practice/quick mode), or a model to start from (each recipe gets a
            copy; pass ``transforms`` then).
        data_root: ``root/train/<class>`` + ``root/val/<class>``, or one folder of
            ``<class>`` folders with ``val_fraction``; default: the course data (practice
            images in quick mode, the ants/bees photos otherwise).
        recipe_names: which recipes, in order; default all of ``vc.recipes.RECIPES``. A recipe
            that does not apply to the model (e.g. a ResNet has no ``classifier``) is skipped
            and the reason kept in ``Comparison.skipped``.
        budget: epochs, batch size, learning rates, seeds, augmentation, image size, device
            and precision.
        val_fraction: split one folder of class folders: this fraction of each class goes
            to validation, chosen by ``budget.seed`` (same seed, same split).
        transforms: ``(train_transform, val_transform)``; default: the model's own
            (``vc.models.transforms``).
        keep_predictions: keep the best recipe's validation predictions (one extra pass).
        progress: show progress bars and say which files were checked before training.
        out: also write the results there (see ``Comparison.save``).

    Raises:
        vgg_course.folders.DataError: the data cannot be trained on (one class, a val class the
            train split lacks, empty folders), found before any training starts.
        ValueError: the budget's precision cannot run on its device (int8 on a GPU), before
            any data is read.

    Example:
        >>> import vgg_course as vc, tempfile
        >>> from torchvision.transforms import v2
        >>> t = v2.Compose([v2.Resize((32, 32)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
        >>> root = vc.datasets.practice_dataset(tempfile.mkdtemp() + "/p")
        >>> result = run(vc.models.tiny_vgg(2), root, recipe_names=["transfer_learning"],
        ...              budget=Budget(epochs=1, repeats=2, device="cpu"), transforms=(t, t),
        ...              progress=False)
        >>> result.rows[0]["trainable_params"], result.rows[0]["seeds"]
        (66, [0, 1])
    """
    names = list(recipes.RECIPES) if recipe_names is None else list(recipe_names)
    say_checked, progress = progress, config.progress_bars(progress)  # bars obey TQDM_DISABLE
    for name in names:
        recipes.get(name)  # an unknown name fails now, with a suggestion
    chosen = devices.plan(budget.device, budget.precision)  # once; every layer below takes it
    if isinstance(model, str) and model not in models.NAMES:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(models.NAMES)}")
    if not isinstance(model, str) and transforms is None:
        raise ValueError("pass transforms=(train_transform, val_transform) with your own model.")
    data_root = datasets.course_dataset() if data_root is None else data_root
    transforms = transforms or models.transforms(model, augment=budget.augment,
                                                 image_size=budget.image_size)
    # DataError here, before any model is built or trained
    train_ds, val_ds = data.image_folders(data_root, train_transform=transforms[0],
                                          val_transform=transforms[1],
                                          val_fraction=val_fraction, seed=budget.seed)
    report = train_ds.report
    skipped_files = [{"path": f.path, "reason": f.reason} for f in report.skipped]
    if say_checked:
        tqdm.write(report.summary() + "".join(f"\n  skipped {f['path']}: {f['reason']}"
                                              for f in skipped_files))
    if isinstance(model, str):
        base, note = models.load(model)
        label = model + (" (offline companion)" if model == "squeezenet" else "")
    else:
        base, label, note = model, type(model).__name__, ""
    paths = [p for p, _ in val_ds.samples]
    labels = [y for _, y in val_ds.samples]  # no image is opened for this
    train_ds, val_ds, in_memory = _preload(train_ds, val_ds, budget, progress)
    loaders = data.make_loaders(train_ds, val_ds, batch_size=budget.batch_size,
                                device=chosen.device, seed=budget.seed)
    num_classes = len(train_ds.classes)
    comparison = Comparison(label, note, str(data_root), list(train_ds.classes), len(train_ds),
                            len(val_ds), budget, [], skipped_files=skipped_files,
                            data_check=report.summary())
    rows = imagenet.rows_for(train_ds.classes)
    lab = runs.Lab(base, loaders, (train_ds, val_ds), budget, chosen, progress,
                   cache_limit=None if in_memory else _PRELOAD_LIMIT, rows=rows)
    first_with: dict[tuple, RecipeResult] = {}
    best: tuple[tuple[float, float], str, nn.Module] | None = None
    bar = tqdm(names, desc="recipes", unit="recipe", **({} if progress else {"disable": True}))
    for name in bar:
        bar.set_postfix_str(name)
        if recipes.get(name).imagenet_rows and rows is None:
            comparison.skipped[name] = (f"the classes {', '.join(train_ds.classes)} have no "
                                        "ImageNet rows to start from (vc.imagenet.rows_for)")
            continue
        signature, why_not = recipes.signature(name, base, num_classes, rows=lab.rows_for(name))
        if signature is None:
            comparison.skipped[name] = why_not
            continue
        # a random start re-initialises what it trains: never the same run as another recipe
        random_start = recipes.get(name).random_start
        if signature in first_with and not random_start:
            first_with[signature].same_as.append(name)
            continue
        result, trained = lab.recipe(name, num_classes)
        if not random_start:
            first_with.setdefault(signature, result)
        comparison.results.append(result)
        key = (result.final_val_acc, -result.total_s)  # as Comparison.best() ranks them
        if keep_predictions and not result.failure and (best is None or key > best[0]):
            best = (key, name, trained)
        del trained  # at most the best model and the one training are kept
    comparison.note_majority(labels)
    random_weights = isinstance(model, str) and model == "vgg16" and config.settings().practice
    why = _baseline_or_why(base, rows, comparison.classes, random_weights)
    if why:
        comparison.baseline_note = why
    else:
        comparison.baseline = lab.baseline(rows)
        comparison.baseline_note = (
            f"the starting model's own outputs {', '.join(map(str, rows))} ("
            + ", ".join(repr(imagenet.CATEGORIES[r]) for r in rows)
            + "), the highest of them picked for each validation image, with no training")
    if best is not None:
        got = engine.predict(best[2], lab.loaders_for(best[1])[1], plan=chosen)
        comparison.predictions = Predictions(best[1], paths, *got)
    if out is not None:
        comparison.save(out)
    return comparison
