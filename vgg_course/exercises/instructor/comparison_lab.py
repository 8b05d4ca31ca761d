"""Instructor-only: solution functions and hidden cases of ``06_comparison_lab.ipynb``'s exercises."""

from __future__ import annotations

import statistics
from fractions import Fraction

import torch
from torch import nn

from vgg_course.exercises.lab_tables import edge_table, pair_table, q3_hits, random_table
from vgg_course.exercises.parts import Hidden, Part
from vgg_course.i18n import N_

MISTAKES = {
    "q4": {
        "fewest": {"finetune_new_classifier": N_("a new classifier is three layers, not one"),
                   "finetune_pretrained_classifier": N_("the classifier has three layers to train")},
        "same_as_full": {"partial_finetune": N_("partial fine-tuning leaves conv1 to conv4 frozen")},
        "conv5": {7_077_888: N_("each conv also has 512 biases"),
                  2_359_808: N_("conv5 has three convolutions")},
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


# --- reading the lab's own result (q5 to q8) -------------------------------------------------

# comparison_lab.q5
def clear_winner(result) -> str | None:
    """The best trained recipe when it is beyond the noise of every other one, else None."""
    ### BEGIN SOLUTION
    trained = [r for r in result.results if r.failure is None]
    best = max(trained, key=lambda r: r.final_val_acc)
    if all(result.differs(best.recipe, r.recipe) for r in trained if r is not best):
        return best.recipe
    return None  # another recipe is within the noise of the best
    ### END SOLUTION


# comparison_lab.q6
def read_gap(result, a: str, b: str) -> dict:
    """Is the gap between a and b beyond the noise, and which noise is bigger for it?"""
    ### BEGIN SOLUTION
    ra, rb = result.result(a), result.result(b)
    seeds = ra.val_acc_sd + rb.val_acc_sd
    sampling = sum((r.final_val_acc * (1 - r.final_val_acc) / result.n_val) ** 0.5
                   for r in (ra, rb))  # standard errors: another set of n_val images
    return {"beyond_noise": result.differs(a, b),
            "bigger_noise": "sampling" if sampling > seeds else "seeds"}
    ### END SOLUTION


# comparison_lab.q7
def scratch_vs_majority(result) -> str | None:
    """Where from scratch's mean accuracy lies against always answering the commonest class."""
    ### BEGIN SOLUTION
    scratch = next((r for r in result.results if r.recipe == "from_scratch"), None)
    if scratch is None or scratch.failure:
        return None  # it did not run, or it failed: no accuracy to read
    gap = scratch.final_val_acc - result.majority_share
    noise = max(scratch.val_acc_sd, result.one_image)
    return "above" if gap > noise else "below" if -gap > noise else "within"
    ### END SOLUTION


# comparison_lab.q8
def versus_baseline(result) -> dict | None:
    """Each trained recipe against the pretrained network's own, untrained accuracy."""
    ### BEGIN SOLUTION
    if result.baseline is None:
        return None
    reading = {}
    for r in result.results:
        if r.failure:
            continue
        gap = r.final_val_acc - result.baseline
        noise = max(r.val_acc_sd, result.one_image)
        reading[r.recipe] = "above" if gap > noise else "below" if -gap > noise else "within"
    return reading
    ### END SOLUTION


def _rows(spec: dict) -> list[dict]:
    """The spec's recipes with their mean and sd computed as the lab computes them."""
    def sd(runs: list[float]) -> float:
        return statistics.stdev(runs) if len(runs) > 1 else 0.0

    return [{**r, "names": [r["recipe"], *r["same_as"]], "mean": statistics.fmean(r["runs"]),
             "sd": sd(r["runs"])} for r in spec["recipes"]]


def _find(rows: list[dict], name: str) -> dict | None:
    return next((r for r in rows if name in r["names"]), None)


def _against(row: dict, reference: float, one_image: float, *, floor: bool = True) -> str:
    gap, noise = row["mean"] - reference, max(row["sd"], one_image if floor else 0.0)
    return "above" if gap > noise else "below" if -gap > noise else "within"


def _differs(a: dict, b: dict, one_image: float) -> bool:
    return abs(a["mean"] - b["mean"]) > max(a["sd"] + b["sd"], one_image)


def expect_q5(case: dict) -> dict:
    """The clear winner (or None), its names, the failed recipes and the best trained one."""
    if "comparison" not in case:
        return {"own": True}  # judged on the numbers observed
    spec = case["comparison"]
    rows, one = _rows(spec), 1 / spec["n_val"]
    trained = [r for r in rows if r["failure"] is None]
    best = max(trained, key=lambda r: r["mean"])
    clear = all(_differs(best, r, one) for r in trained if r is not best)
    return {"value": best["recipe"] if clear else None, "names": best["names"],
            "best": best["recipe"], "failed": [n for r in rows if r["failure"] for n in r["names"]],
            "recipes": [n for r in rows for n in r["names"]]}


def expect_q6(case: dict) -> dict:
    if "comparison" not in case:
        return {"own": True}
    spec = case["comparison"]
    rows, n = _rows(spec), spec["n_val"]
    a, b = _find(rows, case["a"]), _find(rows, case["b"])
    seeds = a["sd"] + b["sd"]
    sampling = sum((r["mean"] * (1 - r["mean"]) / n) ** 0.5 for r in (a, b))
    return {"beyond_noise": _differs(a, b, 1 / n), "reversed": a["mean"] < b["mean"],
            "bigger_noise": "sampling" if sampling > seeds else "seeds"}


def expect_q7(case: dict) -> dict:
    if "comparison" not in case:
        return {"own": True}
    spec = case["comparison"]
    scratch = _find(_rows(spec), "from_scratch")
    if scratch is None or scratch["failure"] is not None:
        return {"value": None, "chance": None, "no_floor": None}
    one = 1 / spec["n_val"]
    return {"value": _against(scratch, spec["majority_share"], one),
            "chance": _against(scratch, 0.5, one),
            "no_floor": _against(scratch, spec["majority_share"], one, floor=False)}


def expect_q8(case: dict) -> dict:
    if "comparison" not in case:
        return {"own": True}
    spec = case["comparison"]
    rows, one = _rows(spec), 1 / spec["n_val"]
    trained = [r for r in rows if r["failure"] is None]
    failed = [n for r in rows if r["failure"] for n in r["names"]]
    if spec["baseline"] is None:
        return {"value": None, "failed": failed, "untrained": {}, "no_floor": {}}
    return {"value": {r["recipe"]: _against(r, spec["baseline"], one) for r in trained},
            "failed": failed,
            "untrained": {r["recipe"]: _against(r, r["untrained"], one) for r in trained
                          if r["untrained"] is not None},
            "no_floor": {r["recipe"]: _against(r, spec["baseline"], one, floor=False)
                         for r in trained}}


def _q5_hidden(rng) -> list[dict]:
    from vgg_course.exercises.lab_results import spec

    b, names = rng.randint(130, 145), ["transfer_learning", "partial_finetune", "full_finetune"]
    one_seed = [{"recipe": names[0], "runs": [b], "same_as": ["finetune_new_classifier"]},
                {"recipe": names[1], "runs": [b - 2]}, {"recipe": names[2], "runs": [b - 3]}]
    wide = [{"recipe": f"recipe_{i}", "runs": [b - 3 * i - 1, b - 3 * i, b - 3 * i + 1]}
            for i in range(7)]
    return [{"part": "hidden: one seed, seven recipes", "label": "one seed", "comparison":
             spec(153, 83, one_seed)},
            {"part": "hidden: one seed, seven recipes", "label": "seven recipes", "comparison":
             spec(153, 83, wide)}]


def _q6_hidden(rng) -> list[dict]:
    from vgg_course.exercises.lab_results import spec

    x = rng.randint(136, 146)
    rows = [{"recipe": "transfer_learning", "runs": [x, x + 1, x - 1],
             "same_as": ["finetune_new_classifier", "finetune_pretrained_classifier"]},
            {"recipe": "full_finetune", "runs": [x - 8, x - 7, x - 9]}]
    return [{"part": "hidden: names in same_as", "aspect": aspect, "label": "a name in same_as",
             "a": "finetune_pretrained_classifier", "b": "full_finetune",
             "comparison": spec(153, 83, rows)} for aspect in ("beyond", "bigger")]


def _q7_hidden(rng) -> list[dict]:
    from vgg_course.exercises.lab_results import spec

    tl = {"recipe": "transfer_learning", "runs": [140, 141, 142]}
    return [{"part": "hidden: ants the commonest class", "label": "100 ants of 160",
             "comparison": spec(160, 100, [tl, {"recipe": "from_scratch", "runs": [r, r, r]}],
                                classes=("ants", "bees"))}
            for r in (rng.randint(104, 110), 94)]


def _q8_hidden(rng) -> list[dict]:
    from vgg_course.exercises.lab_results import spec

    base = rng.randint(138, 146)
    rows = [{"recipe": "transfer_learning", "runs": [base]},
            {"recipe": "partial_finetune", "runs": [base + 3]},
            {"recipe": "from_scratch", "runs": [base - 40]}]
    return [{"part": "hidden: one seed each", "label": "one seed each",
             "comparison": spec(153, 83, rows, baseline=base)}]


HIDDEN.update({
    "q5": Hidden((Part("hidden: one seed, seven recipes", hidden=True),), _q5_hidden),
    "q6": Hidden((Part("hidden: names in same_as", hidden=True),), _q6_hidden),
    "q7": Hidden((Part("hidden: ants the commonest class", hidden=True),), _q7_hidden),
    "q8": Hidden((Part("hidden: one seed each", hidden=True),), _q8_hidden),
})
