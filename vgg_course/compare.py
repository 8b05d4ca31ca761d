"""The transfer-learning vs fine-tuning comparison lab: every recipe, one budget, one table.

``run()`` trains each recipe of ``vc.recipes`` from the same starting weights, with the
same seed, data, epochs and learning rates, and measures what it buys (validation accuracy
and loss) and what it costs (trainable parameters, seconds, images/s, peak memory).
Recipes that freeze the whole backbone train on cached features, so their epochs cost
almost nothing. The result is a ``vc.results.Comparison``: a table in a cell, and
``save(out)`` writes JSON, CSV, a Markdown summary and PNG figures;
``python -m vgg_course compare`` does all of it from a shell.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from vgg_course import companion, config, data, devices, engine, folders, freezing, optim, recipes
from vgg_course.results import Comparison, Predictions, RecipeResult

MODELS = ("vgg16", "squeezenet")
# Recipes that freeze all of `features`: their backbone output can be computed once and cached.
FROZEN_BACKBONE = ("transfer_learning", "finetune_new_classifier", "finetune_pretrained_classifier")
_PRELOAD_LIMIT = 1 << 30  # bytes of decoded images kept in memory


@dataclass(frozen=True)
class Budget:
    """What every recipe gets: the same epochs, batch size, learning rates and seed.

    ``lr`` trains the new head; ``backbone_lr`` every other trainable (pretrained or
    re-initialised) layer. ``augment=False`` (the default) shows every recipe the same
    images every epoch, which also lets frozen-backbone recipes cache their features;
    ``augment=True`` adds random crops and flips to all recipes and turns caching off.
    ``image_size`` overrides the model's input size (quick mode uses small images).
    """

    epochs: int = 3
    batch_size: int = 32
    lr: float = 3e-3
    backbone_lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    augment: bool = False
    image_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, not {self.epochs}.")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {self.batch_size}.")


# ---------------------------------------------------------------- running


def model_transforms(model: str, budget: Budget) -> tuple[Callable, Callable]:
    """The (train, val) preprocessing ``run`` gives a model by name, at the budget's size.

    Example:
        >>> train, val = model_transforms("squeezenet", Budget(image_size=96))
        >>> val.crop_size, val.train_mode
        (96, False)
    """
    if model == "squeezenet":
        size = budget.image_size or companion.CROP_SIZE
        return (companion.CaffePreprocess(train=budget.augment, crop_size=size),
                companion.CaffePreprocess(crop_size=size))
    from torchvision.models import VGG16_Weights

    weights = VGG16_Weights.IMAGENET1K_V1
    return (data.train_transform(weights, augment=budget.augment, image_size=budget.image_size),
            data.eval_transform(weights, image_size=budget.image_size))


def load_model(model: str, *, practice: bool | None = None) -> tuple[nn.Module, str]:
    """The starting model by name and a note saying what it is (``"vgg16"`` / ``"squeezenet"``).

    Raises:
        ValueError: an unknown name.
        vgg_course.weights.WeightsUnavailableError: VGG16's weights are missing (no fallback).
    """
    from vgg_course import models

    if model == "squeezenet":
        return companion.load_squeezenet(), companion.Banner().text
    if model == "vgg16":
        practice = config.settings().practice if practice is None else practice
        note = ("VGG16 with RANDOM practice weights: the pipeline is real, the accuracies are "
                "not those of pretrained VGG16." if practice else "VGG16, ImageNet weights.")
        return models.load_vgg16(practice=practice), note
    raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: torch.device | str = "cpu"
            ) -> tuple[list[int], list[int], list[float]]:
    """Labels, predicted classes and their softmax probabilities over a loader (eval mode)."""
    model.eval()
    labels, preds, probs = [], [], []
    for images, y in loader:
        p = model(images.to(device)).float().softmax(1).cpu()
        conf, guess = p.max(1)
        labels += y.tolist()
        preds += guess.tolist()
        probs += conf.tolist()
    return labels, preds, probs


def _curves(history: engine.History) -> dict[str, list[float]]:
    return {"val_acc": [r.val_accuracy for r in history.records],
            "val_loss": [r.val_loss for r in history.records],
            "train_loss": [r.train_loss for r in history.records],
            "train_acc": [r.train_accuracy for r in history.records]}


class InMemory(Dataset):
    """A dataset's transformed items, computed once and kept as tensors (deterministic data only).

    Every recipe and every epoch then reuses the same decoded images instead of opening
    and resizing each JPEG again. ``classes`` and ``samples`` are kept from the original.
    """

    def __init__(self, dataset: Dataset, *, progress: bool = False) -> None:
        self.classes = list(getattr(dataset, "classes", []))
        self.samples = list(getattr(dataset, "samples", []))
        items = [dataset[i] for i in tqdm(range(len(dataset)), desc="decoding images",
                                          leave=False, **({} if progress else {"disable": True}))]
        self.images = torch.stack([x for x, _ in items])
        self.labels = torch.tensor([int(y) for _, y in items])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.images[i], int(self.labels[i])


def _preload(train_ds: Dataset, val_ds: Dataset, budget: Budget, progress: bool
             ) -> tuple[Dataset, Dataset]:
    """Decode once into memory when the data is deterministic and fits in ``_PRELOAD_LIMIT``."""
    if budget.augment:
        return train_ds, val_ds
    first = train_ds[0][0]
    size = first.numel() * first.element_size() * (len(train_ds) + len(val_ds))
    if size > _PRELOAD_LIMIT:
        return train_ds, val_ds
    return InMemory(train_ds, progress=progress), InMemory(val_ds, progress=progress)


def run(
    model: str | nn.Module = "squeezenet",
    data_root: str | os.PathLike | None = None,
    *,
    recipe_names: Sequence[str] | None = None,
    budget: Budget = Budget(),
    transforms: tuple[Callable, Callable] | None = None,
    device: str | torch.device | None = None,
    precision: str = "auto",
    keep_predictions: bool = True,
    progress: bool = True,
    out: str | os.PathLike | None = None,
) -> Comparison:
    """Train every recipe from the same starting weights under one budget; return the table.

    The data are checked before anything trains; without augmentation the images are
    decoded once and kept in memory (up to 1 GiB) for every recipe and epoch.

    Args:
        model: ``"squeezenet"`` (the offline companion), ``"vgg16"`` (pretrained, or practice
            weights in practice/quick mode), or a model to start from (each recipe gets a
            copy; pass ``transforms`` then).
        data_root: ``root/train/<class>`` + ``root/val/<class>``; default: the course data
            (practice images in quick mode, the ants/bees photos otherwise).
        recipe_names: which recipes, in order; default all of ``vc.recipes.RECIPES``. A recipe
            that does not apply to the model (e.g. a ResNet has no ``classifier``) is skipped
            and the reason kept in ``Comparison.skipped``.
        budget: epochs, batch size, learning rates, seed, augmentation, image size.
        transforms: ``(train_transform, val_transform)``; default: the model's own.
        device: default ``vc.devices.pick_device()``.
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"`` (see ``vc.devices``).
        keep_predictions: keep the best recipe's validation predictions (one extra pass).
        progress: show progress bars.
        out: also write the results there (see ``Comparison.save``).

    Raises:
        vgg_course.folders.DataError: the data cannot be trained on (one class, a val class the
            train split lacks, empty folders), found before any training starts.

    Example:
        >>> import vgg_course as vc, tempfile
        >>> from torchvision.transforms import v2
        >>> t = v2.Compose([v2.Resize((32, 32)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
        >>> root = vc.datasets.practice_dataset(tempfile.mkdtemp() + "/p")
        >>> result = run(vc.models.tiny_vgg(2), root, recipe_names=["transfer_learning"],
        ...              budget=Budget(epochs=1), transforms=(t, t), device="cpu", progress=False)
        >>> result.rows[0]["trainable_params"]
        66
    """
    names = list(recipes.RECIPES) if recipe_names is None else list(recipe_names)
    for name in names:
        recipes.describe(name)  # an unknown name fails now, with a suggestion
    if isinstance(model, str) and model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if not isinstance(model, str) and transforms is None:
        raise ValueError("pass transforms=(train_transform, val_transform) with your own model.")
    if data_root is None:
        from vgg_course import datasets

        data_root = datasets.course_dataset()
    transforms = transforms or model_transforms(model, budget)
    # DataError here, before any model is built or trained
    train_ds, val_ds = data.image_folders(data_root, train_transform=transforms[0],
                                          val_transform=transforms[1], seed=budget.seed)
    if isinstance(model, str):
        base, note = load_model(model)
        label = model + (" (offline companion)" if model == "squeezenet" else "")
    else:
        base, label, note = model, type(model).__name__, ""
    device = devices.pick_device(None if device is None else str(device))
    paths = [p for p, _ in val_ds.samples]
    train_ds, val_ds = _preload(train_ds, val_ds, budget, progress)
    train_loader, val_loader = data.make_loaders(train_ds, val_ds, batch_size=budget.batch_size,
                                                 device=device, seed=budget.seed)
    comparison = Comparison(label, note, str(data_root), list(train_ds.classes), len(train_ds),
                            len(val_ds), budget, [])
    best: tuple[tuple[float, float], str, nn.Module] | None = None
    bar = tqdm(names, desc="recipes", unit="recipe", **({} if progress else {"disable": True}))
    for name in bar:
        bar.set_postfix_str(name)
        outcome = _run_one(name, base, train_loader, val_loader, budget, device, precision,
                           progress, comparison.skipped)
        if outcome is None:
            continue
        result, trained = outcome
        comparison.results.append(result)
        key = (result.best_val_acc, -result.total_s)  # as Comparison.best() ranks them
        if keep_predictions and (best is None or key > best[0]):
            best = (key, name, trained)
        del trained  # at most the best model and the one training are kept
    if best is not None:
        labels, preds, probs = predict(best[2], val_loader, device)
        comparison.predictions = Predictions(best[1], paths, labels, preds, probs)
    if out is not None:
        comparison.save(out)
    return comparison


def _run_one(name: str, base: nn.Module, train_loader: DataLoader, val_loader: DataLoader,
             budget: Budget, device: torch.device, precision: str, progress: bool,
             skipped: dict[str, str]) -> tuple[RecipeResult, nn.Module] | None:
    model = copy.deepcopy(base)  # every recipe starts from the same weights
    torch.manual_seed(budget.seed)  # ... and the same new-head initialisation
    try:
        recipes.apply(name, model, len(train_loader.dataset.classes))
    except (TypeError, ValueError) as exc:
        skipped[name] = str(exc)
        return None
    cache = name in FROZEN_BACKBONE and not budget.augment
    optimizer = optim.make_optimizer(model, lr=budget.backbone_lr, head_lr=budget.lr,
                                     momentum=budget.momentum, weight_decay=budget.weight_decay)
    trainable = freezing.trainable_count(model)
    n_images = len(train_loader.dataset) + len(val_loader.dataset)
    start = time.perf_counter()
    peak = devices.PeakMemory(device)  # the whole recipe, feature caching included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a refused cache is reported in the notes instead
        history = engine.fit(model, train_loader, val_loader, optimizer, epochs=budget.epochs,
                             device=device, precision=precision, seed=budget.seed,
                             progress=progress, cache_features=cache)
    total = time.perf_counter() - start
    c = _curves(history)
    notes = list(history.notes)
    if not all(math.isfinite(v) for v in c["train_loss"] + c["val_loss"]):
        notes.append("training diverged (a loss is NaN or infinite): the learning rate is too "
                     "large for this start; try a smaller backbone_lr")
    cpu_peak, gpu_peak = peak.cpu_peak(), peak.gpu_peak()
    result = RecipeResult(
        recipe=name, trainable_params=trainable, epochs=len(history.records),
        best_val_acc=max(c["val_acc"]), best_epoch=history.best_epoch,
        final_val_acc=c["val_acc"][-1], best_val_loss=min(c["val_loss"]),
        final_val_loss=c["val_loss"][-1],
        s_per_epoch=sum(r.seconds for r in history.records) / len(history.records),
        setup_s=history.setup_seconds, total_s=total,
        images_per_s=n_images * len(history.records) / total,
        peak_gpu_mb=None if gpu_peak is None else gpu_peak / 2**20,
        peak_cpu_mb=None if cpu_peak is None else cpu_peak / 2**20,
        device=history.device, precision=history.precision,
        cached_features=any(n.startswith("features cached") for n in history.notes),
        notes=notes, curves=c)
    return result, model


# ---------------------------------------------------------------- command line


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="run every transfer-learning / fine-tuning recipe under one budget",
        description="Train each recipe from the same weights and seed; write JSON, CSV, "
                    "a Markdown summary and PNG figures.")
    parser.add_argument("--model", choices=MODELS, default="squeezenet",
                        help="vgg16 (needs its pretrained weights) or squeezenet (the offline "
                             "companion, weights installed with the kit)")
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with train/<class>/ and val/<class>/ (default: the course data)")
    parser.add_argument("--epochs", type=int, default=Budget.epochs)
    parser.add_argument("--batch-size", type=int, default=Budget.batch_size)
    parser.add_argument("--lr", type=float, default=Budget.lr, help="learning rate of the new head")
    parser.add_argument("--backbone-lr", type=float, default=Budget.backbone_lr)
    parser.add_argument("--augment", action="store_true", help="random crops/flips (turns caching off)")
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipes", nargs="+", default=None, metavar="NAME",
                        help=f"default: all ({', '.join(recipes.RECIPES)})")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best one)")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.set_defaults(func=_cli_compare)


def _cli_compare(args: argparse.Namespace) -> int:
    from vgg_course import weights

    try:
        budget = Budget(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                        backbone_lr=args.backbone_lr, augment=args.augment,
                        image_size=args.image_size, seed=args.seed)
        result = run(args.model, args.data, recipe_names=args.recipes, budget=budget,
                     device=args.device, out=args.out)
    except (folders.DataError, weights.WeightsError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.to_markdown())
    print(f"\nWrote {args.out}/: comparison.json, comparison.csv, summary.md and PNG figures.")
    return 0
