"""Instructor-only: solutions and hidden cases of ``06_comparison_lab.ipynb``'s exercises."""

from __future__ import annotations

from vgg_course.exercises.lab_tables import pair_cases, random_table
from vgg_course.exercises.parts import Hidden, Part

SOLUTIONS = {
    "q1": ("def clearly_better(results, a: str, b: str) -> bool:\n"
           '    """Is recipe a ahead of recipe b by more than their two seed spreads?"""\n'
           "    ### BEGIN SOLUTION\n"
           '    row = {r["recipe"]: r for r in results}\n'
           '    gap = row[a]["final_val_acc"] - row[b]["final_val_acc"]\n'
           '    return gap > row[a]["val_acc_sd"] + row[b]["val_acc_sd"]\n'
           "    ### END SOLUTION"),
    "q2": ("def fastest_within(results, tolerance: float) -> str:\n"
           '    """The fastest recipe whose mean accuracy is within `tolerance` of the best."""\n'
           "    ### BEGIN SOLUTION\n"
           '    top = max(r["final_val_acc"] for r in results)\n'
           '    good_enough = [r for r in results if top - r["final_val_acc"] <= tolerance]\n'
           '    return min(good_enough, key=lambda r: r["total_s"])["recipe"]\n'
           "    ### END SOLUTION"),
    "q3": ("def evaluate(model: nn.Module, loader) -> float:\n"
           '    """Accuracy over the loader, with dropout/BatchNorm in eval mode and no autograd."""\n'
           "    ### BEGIN SOLUTION\n"
           "    model.eval()  # dropout off, BatchNorm uses (and keeps) its running statistics\n"
           "    correct = 0\n"
           "    with torch.no_grad():  # nothing to backpropagate: do not record the graph\n"
           "        for images, labels in loader:\n"
           "            correct += (model(images).argmax(1) == labels).sum().item()\n"
           "    return correct / len(loader.dataset)\n"
           "    ### END SOLUTION"),
    "q4": ("# Predict, then run the check; run the verify cell only after that.\n"
           "### BEGIN SOLUTION\n"
           'fewest = "transfer_learning"       # only the new 4096 -> 2 layer\n'
           'same_as_full = "from_scratch"      # everything trains, from random weights\n'
           "conv5 = 3 * (512 * 512 * 3 * 3 + 512)\n"
           "### END SOLUTION\n"
           'predictions = {"fewest": fewest, "same_as_full": same_as_full, "conv5": conv5}'),
}


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
