"""Matplotlib figures of training results; every function returns its ``Figure``.

Figures are ``NotebookFigure``s, built without ``pyplot``, so nothing is drawn twice in a
notebook and no global state changes: a cell that ends on ``vc.figures.curves(...)`` shows it
once, as a PNG, even in a kernel where no matplotlib backend was ever activated (a bare
``Figure`` would show only ``<Figure size ...>`` there), and ``fig.savefig(path)`` writes a file. Inputs are
plain data (lists, dicts, tensors), which ``vc.compare`` results provide
(``result.curves``, ``result.rows``).
"""

from __future__ import annotations

import io
import math
import os
from typing import Mapping, Sequence

import torch
from matplotlib.figure import Figure
from PIL import Image

from vgg_course.i18n import _

_CORRECT, _WRONG = "#2e7d32", "#c62828"


class NotebookFigure(Figure):
    """A ``Figure`` that displays itself as a PNG in a notebook, with no pyplot backend needed."""

    def _repr_png_(self) -> bytes:
        return to_png(self)


def to_png(fig: Figure) -> bytes:
    """The figure rendered as PNG bytes (for ``ipywidgets.Image`` or a ``_repr_png_``)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _check_curves(curves: Mapping[str, Mapping[str, Sequence[float]]], keys: Sequence[str]) -> None:
    if not curves:
        raise ValueError(_("no curves to plot: pass {example}").format(
            example="{recipe name: {'val_acc': [...], ...}}"))
    for name, c in curves.items():
        missing = [k for k in keys if k not in c]
        if missing:
            raise ValueError(_("curves[{name!r}] has no {missing}; it has {keys}").format(
                name=name, missing=missing, keys=sorted(c)))


def curves(curves: Mapping[str, Mapping[str, Sequence[float]]], *,
           title: str = "Validation per epoch") -> Figure:
    """Validation accuracy and loss per epoch, one line per recipe.

    Args:
        curves: ``{recipe: {"val_acc": [...], "val_loss": [...]}}``, one value per epoch
            (a ``"train_loss"`` list, when present, is drawn dashed on the loss plot).

    Example:
        >>> fig = curves({"a": {"val_acc": [0.5, 0.8], "val_loss": [0.7, 0.4]}})
        >>> [ax.get_ylabel() for ax in fig.axes]
        ['validation accuracy', 'loss']
        >>> curves({"a": {"val_acc": [0.5], "val_loss": [0.7]},
        ...         "diverged": {"val_acc": [0.5], "val_loss": [9e6]}}).axes[1].get_yscale()
        'log'
    """
    _check_curves(curves, ("val_acc", "val_loss"))
    fig = NotebookFigure(figsize=(11, 4), layout="constrained")
    acc_ax, loss_ax = fig.subplots(1, 2)
    for name, c in curves.items():
        epochs = range(1, len(c["val_acc"]) + 1)
        (line,) = acc_ax.plot(epochs, c["val_acc"], marker="o", label=name)
        loss_ax.plot(epochs, c["val_loss"], marker="o", color=line.get_color(), label=f"{name} (val)")
        if c.get("train_loss"):
            loss_ax.plot(range(1, len(c["train_loss"]) + 1), c["train_loss"], linestyle="--",
                         color=line.get_color(), alpha=0.6)
    acc_ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1.02))
    losses = [v for c in curves.values() for key in ("val_loss", "train_loss")
              for v in c.get(key) or [] if math.isfinite(v) and v > 0]
    if losses and max(losses) > 50 * min(losses):  # a diverging recipe would flatten the rest
        loss_ax.set_yscale("log")
        loss_ax.set(xlabel="epoch", ylabel="loss (log scale)")
    else:
        loss_ax.set(xlabel="epoch", ylabel="loss")
    for ax in (acc_ax, loss_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    acc_ax.legend(fontsize="small", loc="lower right")
    if any(c.get("train_loss") for c in curves.values()):
        loss_ax.plot([], [], linestyle="--", color="grey", label="training loss (dashed)")
        loss_ax.legend(fontsize="x-small", loc="upper right")
    fig.suptitle(title)
    return fig


def accuracy_vs_cost(rows: Sequence[Mapping], *, accuracy: str = "best_val_acc",
                     spread: str | None = None,
                     title: str = "What each recipe buys, and what it costs") -> Figure:
    """Accuracy against training time and against trainable parameters, one point per recipe.

    Args:
        rows: dicts with ``"recipe"``, ``accuracy``, ``"total_s"`` and ``"trainable_params"``
            (what ``vc.compare`` writes per recipe).
        accuracy: which accuracy to plot (``"best_val_acc"`` or ``"final_val_acc"``).
        spread: a key with each accuracy's standard deviation over seeds (``"val_acc_sd"``),
            drawn as an error bar of one standard deviation; ``None`` draws points only.

    Example:
        >>> fig = accuracy_vs_cost([{"recipe": "a", "best_val_acc": 0.9, "total_s": 3.0,
        ...                          "trainable_params": 1026}])
        >>> fig.axes[1].get_xscale()
        'log'
    """
    if not rows:
        raise ValueError(_("no rows to plot: pass one dict per recipe"))
    for key in ("recipe", accuracy, "total_s", "trainable_params", *([spread] if spread else [])):
        if any(key not in r for r in rows):
            raise ValueError(_("every row needs {key!r}; got keys {keys}").format(
                key=key, keys=sorted(rows[0])))
    fig = NotebookFigure(figsize=(11, 4), layout="constrained")
    time_ax, param_ax = fig.subplots(1, 2, sharey=True)
    for i, r in enumerate(rows):
        colour = f"C{i % 10}"
        for ax, x in ((time_ax, r["total_s"]), (param_ax, max(int(r["trainable_params"]), 1))):
            # colours and the legend name the points: labels beside them would overlap
            ax.scatter([x], [r[accuracy]], s=60, color=colour, label=r["recipe"] if ax is time_ax else None)
            if spread is not None:
                ax.errorbar([x], [r[accuracy]], yerr=[r[spread]], color=colour, capsize=4)
    label = accuracy.replace("_", " ") + (" (bars: ± 1 sd over seeds)" if spread else "")
    time_ax.set(xlabel="training time of one run (s)", ylabel=label, ylim=(0, 1.05))
    param_ax.set(xlabel="trainable parameters (log scale)", xscale="log")
    for ax in (time_ax, param_ax):
        ax.grid(alpha=0.3)
    time_ax.legend(fontsize="x-small", loc="lower right")
    fig.suptitle(title)
    return fig


def confusion_counts(labels: Sequence[int] | torch.Tensor, preds: Sequence[int] | torch.Tensor,
                     num_classes: int) -> torch.Tensor:
    """``(num_classes, num_classes)`` counts: row = true class, column = predicted class.

    Example:
        >>> confusion_counts([0, 0, 1, 1], [0, 1, 1, 1], 2).tolist()
        [[1, 1], [0, 2]]
    """
    labels, preds = torch.as_tensor(labels).long().flatten(), torch.as_tensor(preds).long().flatten()
    if labels.shape != preds.shape:
        raise ValueError(_("{labels} labels but {preds} predictions").format(
            labels=labels.numel(), preds=preds.numel()))
    if labels.numel() and (min(labels.min(), preds.min()) < 0 or max(labels.max(), preds.max()) >= num_classes):
        raise ValueError(_("labels and predictions must lie in 0..{last}").format(
            last=num_classes - 1))
    flat = torch.bincount(labels * num_classes + preds, minlength=num_classes * num_classes)
    return flat.view(num_classes, num_classes)


def confusion_matrix(labels: Sequence[int] | torch.Tensor, preds: Sequence[int] | torch.Tensor,
                     classes: Sequence[str], *, title: str = "Confusion matrix (validation)") -> Figure:
    """A confusion matrix with counts in each cell; the diagonal holds the correct answers.

    Example:
        >>> fig = confusion_matrix([0, 0, 1], [0, 1, 1], ["ants", "bees"])
        >>> [t.get_text() for t in fig.axes[0].texts]
        ['1', '1', '0', '1']
    """
    counts = confusion_counts(labels, preds, len(classes))
    fig = NotebookFigure(figsize=(1.2 * len(classes) + 2.5, 1.1 * len(classes) + 2), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(counts.numpy(), cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    high = counts.max().item() / 2
    for (i, j), n in zip([(i, j) for i in range(len(classes)) for j in range(len(classes))],
                         counts.flatten().tolist()):
        ax.text(j, i, str(n), ha="center", va="center", color="white" if n > high else "black")
    ticks = range(len(classes))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes,
           xlabel="predicted", ylabel="true")
    accuracy = counts.diag().sum().item() / max(counts.sum().item(), 1)
    ax.set_title(f"{title}\naccuracy {accuracy:.1%} of {counts.sum().item()}", fontsize="medium")
    return fig


def prediction_grid(paths: Sequence[str | os.PathLike], labels: Sequence[int], preds: Sequence[int],
                    classes: Sequence[str], *, probs: Sequence[float] | None = None,
                    max_images: int = 16, ncols: int = 4, mistakes_first: bool = True,
                    title: str = "Validation images: prediction (true class)") -> Figure:
    """A grid of validation images titled with their prediction; mistakes framed in red.

    Args:
        paths: image files (``dataset.samples`` paths), shown as they are on disk.
        labels, preds: true and predicted class indices, one per path.
        probs: the predicted class's probability, shown next to its name.
        mistakes_first: put the wrong predictions first so they are always in the grid.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
        >>> Image.new("RGB", (8, 8)).save(p)
        >>> fig = prediction_grid([p, p], [0, 1], [0, 0], ["ants", "bees"])
        >>> [ax.get_title().splitlines()[0] for ax in fig.axes if ax.get_title()]
        ['WRONG: ants', 'ants']
    """
    n = len(paths)
    if not (len(labels) == len(preds) == n) or (probs is not None and len(probs) != n):
        raise ValueError(_("paths, labels, preds (and probs) must have one entry per image"))
    if n == 0:
        raise ValueError(_("no images to show"))
    order = list(range(n))
    if mistakes_first:
        order.sort(key=lambda i: int(labels[i]) == int(preds[i]))  # stable: mistakes, then the rest
    order = order[:max_images]
    nrows = math.ceil(len(order) / ncols)
    fig = NotebookFigure(figsize=(2.6 * ncols, 2.9 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).flatten()
    for ax, i in zip(axes, order):
        with Image.open(paths[i]) as img:
            img = img.convert("RGB")
            img.thumbnail((256, 256))
            ax.imshow(img)
        right = int(labels[i]) == int(preds[i])
        colour = _CORRECT if right else _WRONG
        guess = classes[int(preds[i])] + (f" {float(probs[i]):.0%}" if probs is not None else "")
        ax.set_title(("" if right else "WRONG: ") + guess + f"\n(true: {classes[int(labels[i])]})",
                     color=colour, fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set(color=colour, linewidth=1 if right else 4)
    for ax in axes[len(order):]:
        ax.set_axis_off()
    wrong = sum(int(labels[i]) != int(preds[i]) for i in range(n))
    fig.suptitle(f"{title} - {wrong} of {n} wrong" + (", shown first" if wrong and mistakes_first else ""))
    return fig


def top_k_grid(paths: Sequence[str | os.PathLike], tops: Sequence, *, true_names: Sequence[str] | None = None,
               title: str = "What the pretrained network sees: its ImageNet top 5") -> Figure:
    """Each photo beside a bar chart of its top-k classes and their probabilities.

    Args:
        paths: image files, shown as they are on disk.
        tops: one ``vc.imagenet.TopK`` (``classes``, ``probs``) per photo.
        true_names: the photo's true class, shown in its title.

    Example:
        >>> import tempfile, pathlib
        >>> from vgg_course.imagenet import TopK
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.png"
        >>> Image.new("RGB", (8, 8)).save(p)
        >>> fig = top_k_grid([p], [TopK(("ant", "bee"), (0.7, 0.2))], true_names=["ants"])
        >>> len(fig.axes), fig.axes[1].get_yticklabels()[0].get_text()
        (2, 'ant')
    """
    if len(paths) != len(tops) or (true_names is not None and len(true_names) != len(paths)):
        raise ValueError(_("paths, tops (and true_names) must have one entry per photo"))
    if not paths:
        raise ValueError(_("no photos to show"))
    fig = NotebookFigure(figsize=(9, 2.3 * len(paths)), layout="constrained")
    axes = fig.subplots(len(paths), 2, squeeze=False, width_ratios=(1, 1.6))
    for (photo_ax, bar_ax), path, top, i in zip(axes, paths, tops, range(len(paths))):
        with Image.open(path) as img:
            img = img.convert("RGB")
            img.thumbnail((256, 256))
            photo_ax.imshow(img)
        photo_ax.set_axis_off()
        if true_names is not None:
            photo_ax.set_title(f"true: {true_names[i]}", fontsize="small")
        ranks = range(len(top.classes))
        bar_ax.barh(ranks, top.probs, color=["#1565c0"] + ["#90a4ae"] * (len(top.classes) - 1))
        bar_ax.set_yticks(list(ranks), list(top.classes))
        bar_ax.invert_yaxis()  # the most probable class on top
        bar_ax.set_xlim(0, 1)
        for rank, p in zip(ranks, top.probs):
            bar_ax.text(min(p + 0.02, 0.85), rank, f"{p:.0%}", va="center", fontsize="small")
    axes[-1][1].set_xlabel("probability (softmax over all 1,000 ImageNet classes)")
    fig.suptitle(title)
    return fig
