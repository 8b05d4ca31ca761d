"""Instructor-only: solution functions and hidden cases of ``06_comparison_lab.ipynb``'s exercises."""

from __future__ import annotations

import torch
from torch import nn

from vgg_course.exercises.lab_tables import pair_cases, random_table
from vgg_course.exercises.parts import Hidden, Part

# comparison_lab.q1
def clearly_better(results, a: str, b: str) -> bool:
    """Is recipe a ahead of recipe b by more than their two seed spreads?"""
    ### BEGIN SOLUTION
    row = {r["recipe"]: r for r in results}
    gap = row[a]["final_val_acc"] - row[b]["final_val_acc"]
    return gap > row[a]["val_acc_sd"] + row[b]["val_acc_sd"]
    ### END SOLUTION


# comparison_lab.q2
def fastest_within(results, tolerance: float) -> str:
    """The fastest recipe whose mean accuracy is within `tolerance` of the best."""
    ### BEGIN SOLUTION
    top = max(r["final_val_acc"] for r in results)
    good_enough = [r for r in results if top - r["final_val_acc"] <= tolerance]
    return min(good_enough, key=lambda r: r["total_s"])["recipe"]
    ### END SOLUTION


# comparison_lab.q3
def evaluate(model: nn.Module, loader) -> float:
    """Accuracy over the loader, with dropout/BatchNorm in eval mode and no autograd."""
    ### BEGIN SOLUTION
    model.eval()  # dropout off, BatchNorm uses (and keeps) its running statistics
    correct = 0
    with torch.no_grad():  # nothing to backpropagate: do not record the graph
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)
    ### END SOLUTION


# comparison_lab.q4
def predictions() -> dict[str, object]:
    """comparison_lab.q4: the prediction cell (its body); the check grades `predictions`."""
    # Predict, then run the check; run the verify cell only after that.
    ### BEGIN SOLUTION
    fewest = "transfer_learning"       # only the new 4096 -> 2 layer
    same_as_full = "from_scratch"      # everything trains, from random weights
    conv5 = 3 * (512 * 512 * 3 * 3 + 512)
    ### END SOLUTION
    predictions = {"fewest": fewest, "same_as_full": same_as_full, "conv5": conv5}
    return predictions


def _q1_hidden(rng) -> list[dict]:
    cases = []
    for _ in range(2):
        rows = random_table(rng, 8)
        for row in rows[::2]:  # a recipe run with one seed only has no spread
            row["val_acc_sd"] = 0.0
        cases += [dict(c, part="hidden: wide tables, some without spread")
                  for c in pair_cases(rng, rows, "a wide table")]
    return cases


def _q2_hidden(rng) -> list[dict]:
    rows = random_table(rng, 3)
    return [{"part": "hidden: a large tolerance", "rows": rows, "tolerance": 1.0,
             "label": "tolerance 1.0 (every recipe is close enough)"}]


def _q3_hidden(rng) -> list[dict]:
    spec = {"arch": "tiny_vgg", "width": 2, "hidden": 12, "num_classes": 5,
            "seed": rng.randrange(1000)}  # dropout only, no BatchNorm
    data = {"n": 23, "batch_size": 6, "seed": rng.randrange(1000)}
    return [{"part": "hidden: dropout without BatchNorm", "aspect": aspect, "label": "a tiny VGG",
             "model": spec, "data": data} for aspect in ("mode", "grad", "acc")]


HIDDEN = {
    "q1": Hidden((Part("hidden: wide tables, some without spread", hidden=True),), _q1_hidden),
    "q2": Hidden((Part("hidden: a large tolerance", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: dropout without BatchNorm", hidden=True),), _q3_hidden),
}
