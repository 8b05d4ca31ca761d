"""Instructor-only: solution functions and hidden cases of ``06_comparison_lab.ipynb``'s exercises."""

from __future__ import annotations

from fractions import Fraction

import torch
from torch import nn

from vgg_course.exercises.lab_tables import edge_table, pair_table, q3_hits, random_table
from vgg_course.exercises.parts import Hidden, Part

MISTAKES = {
    "q4": {
        "fewest": {"finetune_new_classifier": "a new classifier is three layers, not one",
                   "finetune_pretrained_classifier": "the classifier has three layers to train"},
        "same_as_full": {"partial_finetune": "partial fine-tuning leaves conv1 to conv4 frozen"},
        "conv5": {7_077_888: "each conv also has 512 biases",
                  2_359_808: "conv5 has three convolutions"},
    },
}

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
    was_training = model.training
    model.eval()  # dropout off, BatchNorm uses (and keeps) its running statistics
    correct = 0
    with torch.no_grad():  # nothing to backpropagate: do not record the graph
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    model.train(was_training)  # back to the mode it was called in
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


# --- what a right answer gives on a case (the grader's side) ---------------------------------

def expect_q1(case: dict) -> dict:
    """The solution's verdict on the pair, and how the gap compares with the two spreads."""
    row = {r["recipe"]: r for r in case["rows"]}
    a, b = row[case["a"]], row[case["b"]]
    gap = a["final_val_acc"] - b["final_val_acc"]
    spread = a["val_acc_sd"] + b["val_acc_sd"]
    kind = ("tie" if gap == spread else "larger" if gap > spread
            else "reversed" if -gap > spread else "within")
    return {"value": clearly_better(case["rows"], case["a"], case["b"]), "gap": kind}


def expect_q2(case: dict) -> dict:
    """The solution's recipe, and the recipes typical wrong answers name."""
    rows, tolerance = case["rows"], case["tolerance"]
    answer = fastest_within(rows, tolerance)
    best = max(r["final_val_acc"] for r in rows)
    at = next(r for r in rows if r["recipe"] == answer)
    strict = [r for r in rows if best - r["final_val_acc"] < tolerance]  # "at most" misread
    return {"value": answer, "recipes": [r["recipe"] for r in rows],
            "most_accurate": max(rows, key=lambda r: r["final_val_acc"])["recipe"],
            "fewest_params": min(rows, key=lambda r: r["trainable_params"])["recipe"],
            "fastest": min(rows, key=lambda r: r["total_s"])["recipe"],
            "at_edge": best - at["final_val_acc"] == tolerance,
            "strict": min(strict, key=lambda r: r["total_s"])["recipe"] if strict else None}


def expect_q3(case: dict) -> dict:
    """The accuracy over the case's images (the model is right on ``hits``), and what the
    typical wrong counts give."""
    data = case["data"]
    n, size, hits = data["n"], data["batch_size"], set(data["hits"])
    batches = [range(lo, min(lo + size, n)) for lo in range(0, n, size)]
    per = [Fraction(sum(i in hits for i in b), len(b)) for b in batches]
    return {"acc": len(hits) / n, "last_batch": float(per[-1]),
            "batch_mean": float(sum(per) / len(per))}


# --- hidden cases ----------------------------------------------------------------------------

def _q1_hidden(rng) -> list[dict]:
    part = "hidden: wide tables, some without spread"
    cases = []
    for kind, no_spread in (("larger", True), ("tie", True), ("tie", False), ("within", False),
                            ("reversed", False)):
        rows, a, b = pair_table(rng, kind, 8, no_spread=no_spread)
        for row in rows[::3]:  # a recipe run with one seed only has no spread
            if row["recipe"] not in (a, b):
                row["val_acc_sd"] = 0.0
        cases.append({"part": part, "label": f"a wide table, {a} vs {b}", "rows": rows,
                      "a": a, "b": b})
    return cases


def _q2_hidden(rng) -> list[dict]:
    rows = random_table(rng, 3)
    edge, tolerance = edge_table(rng, at_edge=True)
    return [{"part": "hidden: a large tolerance", "rows": rows, "tolerance": 1.0,
             "label": "tolerance 1.0 (every recipe is close enough)"},
            {"part": "hidden: a large tolerance", "rows": edge, "tolerance": tolerance,
             "label": "a recipe exactly at the tolerance"}]


def _q3_hidden(rng) -> list[dict]:
    spec = {"arch": "tiny_vgg", "width": 2, "hidden": 12, "num_classes": 5,
            "seed": rng.randrange(1000)}  # dropout only, no BatchNorm
    data = {"n": 23, "batch_size": 6, "seed": rng.randrange(1000), "hits": q3_hits(rng, 23, 6)}
    return [{"part": "hidden: dropout without BatchNorm", "aspect": aspect, "start": start,
             "label": "a tiny VGG", "model": spec, "data": data}
            for aspect, start in (("mode", "train"), ("grad", "train"), ("acc", "train"),
                                  ("left", "train"), ("left", "eval"))]


HIDDEN = {
    "q1": Hidden((Part("hidden: wide tables, some without spread", hidden=True),), _q1_hidden),
    "q2": Hidden((Part("hidden: a large tolerance", hidden=True),), _q2_hidden),
    "q3": Hidden((Part("hidden: dropout without BatchNorm", hidden=True),), _q3_hidden),
}
