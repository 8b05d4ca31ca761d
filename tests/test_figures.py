"""Tests for vgg_course.figures: each function returns a Figure that shows the right data."""

from __future__ import annotations

import doctest

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from vgg_course import figures

CURVES = {
    "transfer_learning": {"val_acc": [0.8, 0.9, 0.95], "val_loss": [0.5, 0.3, 0.2],
                          "train_loss": [0.6, 0.4, 0.3]},
    "from_scratch": {"val_acc": [0.5, 0.55, 0.6], "val_loss": [0.69, 0.68, 0.66]},
}
ROWS = [
    {"recipe": "transfer_learning", "best_val_acc": 0.95, "total_s": 4.0, "trainable_params": 1026},
    {"recipe": "from_scratch", "best_val_acc": 0.6, "total_s": 40.0, "trainable_params": 723_522},
]


def test_doctests():
    assert doctest.testmod(figures).failed == 0


def test_curves_draw_one_line_per_recipe_with_the_data(tmp_path):
    fig = figures.curves(CURVES)
    assert isinstance(fig, Figure)
    acc_ax, loss_ax = fig.axes
    lines = {line.get_label(): line for line in acc_ax.get_lines()}
    assert set(lines) == set(CURVES)
    np.testing.assert_allclose(lines["from_scratch"].get_ydata(), [0.5, 0.55, 0.6])
    np.testing.assert_allclose(lines["from_scratch"].get_xdata(), [1, 2, 3])
    dashed = [line for line in loss_ax.get_lines() if line.get_linestyle() == "--" and len(line.get_xdata())]
    np.testing.assert_allclose(dashed[0].get_ydata(), [0.6, 0.4, 0.3])
    fig.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_curves_refuse_missing_keys():
    with pytest.raises(ValueError, match=r"has no \['val_loss'\]"):
        figures.curves({"a": {"val_acc": [1.0]}})
    with pytest.raises(ValueError, match="no curves"):
        figures.curves({})


def test_accuracy_vs_cost_places_each_recipe():
    fig = figures.accuracy_vs_cost(ROWS)
    time_ax, param_ax = fig.axes
    points = [c.get_offsets()[0].tolist() for c in time_ax.collections]
    assert points == [[4.0, 0.95], [40.0, 0.6]]
    assert [c.get_offsets()[0].tolist() for c in param_ax.collections] == [[1026, 0.95], [723522, 0.6]]
    assert param_ax.get_xscale() == "log"
    assert [t.get_text() for t in time_ax.get_legend().get_texts()] == ["transfer_learning", "from_scratch"]
    with pytest.raises(ValueError, match="total_s"):
        figures.accuracy_vs_cost([{"recipe": "a", "best_val_acc": 1.0, "trainable_params": 1}])


def test_confusion_counts_match_a_loop():
    rng = np.random.default_rng(0)
    labels, preds = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    expected = np.zeros((3, 3), dtype=int)
    for t, p in zip(labels, preds):
        expected[t, p] += 1
    assert figures.confusion_counts(labels, preds, 3).tolist() == expected.tolist()
    with pytest.raises(ValueError, match="0..1"):
        figures.confusion_counts([0, 2], [0, 1], 2)


def test_confusion_matrix_shows_counts_and_accuracy():
    fig = figures.confusion_matrix(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 1, 1]), ["ants", "bees"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["2", "1", "0", "1"]
    assert "accuracy 75.0% of 4" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ants", "bees"]


def test_prediction_grid_marks_mistakes(tmp_path):
    paths = []
    for i in range(5):
        p = tmp_path / f"{i}.jpg"
        Image.new("RGB", (40, 30), (i * 40, 0, 0)).save(p)
        paths.append(p)
    labels, preds = [0, 1, 1, 0, 1], [0, 0, 1, 0, 0]
    fig = figures.prediction_grid(paths, labels, preds, ["ants", "bees"], probs=[0.9] * 5,
                                  max_images=4, ncols=2)
    shown = [ax for ax in fig.axes if ax.get_title()]
    assert len(shown) == 4
    titles = [ax.get_title() for ax in shown]
    assert titles[:2] == ["WRONG: ants 90%\n(true: bees)"] * 2  # both mistakes come first
    assert all(t.startswith(("ants", "bees")) for t in titles[2:])
    assert shown[0].spines["left"].get_linewidth() == 4
    assert "2 of 5 wrong" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="one entry per image"):
        figures.prediction_grid(paths, labels[:2], preds, ["ants", "bees"])


def test_every_figure_displays_as_png_without_a_pyplot_backend():
    # A bare matplotlib Figure shows only "<Figure size ...>" in a fresh kernel.
    fig = figures.curves({"a": {"val_acc": [0.5, 0.8], "val_loss": [0.7, 0.4]}})
    assert isinstance(fig, figures.NotebookFigure)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
