"""Exercises for ``06_comparison_lab.ipynb``: reading the lab's results, and a buggy evaluation.

The checks use results tables made for each case (``LAB_RESULTS`` reordered, and random
tables: ``vgg_course.exercises.lab_tables``), never the numbers of the student's own run,
so every verdict is deterministic.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vgg_course import recipes
from vgg_course.exercises import zoo
from vgg_course.exercises.lab_tables import (LAB_RESULTS, clearly_better, pair_cases, random_table,
                                              shuffled, table)
from vgg_course.exercises.answers import plain, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, digest, prediction_exercise

# --- q1: is the difference larger than the seed spread? -----------------------------------------

def _q1_cases(rng) -> list[dict]:
    cases = pair_cases(rng, shuffled(rng, LAB_RESULTS), "the lab's table, reordered")
    for _ in range(3):  # random tables until each part has a case of its own kind too
        cases += pair_cases(rng, random_table(rng), "another table")
    return cases


def _q1_observe(fn, case: dict):
    return plain(fn([dict(r) for r in case["rows"]], case["a"], case["b"]))


def _q1_assess(case: dict, got) -> str | None:
    if not isinstance(got, bool):
        return f"expected True or False, got {type_name(got)}"
    if got == clearly_better(case["rows"], case["a"], case["b"]):
        return None
    if case["part"] == "the second one is better":
        return "the first recipe is the worse one here: it cannot be clearly better"
    if got:
        return "the gap between the means is not larger than the two spreads together"
    return "the gap between the means is larger than both spreads together"


q1 = Exercise(
    id="comparison_lab.q1",
    title="larger than the seed spread?",
    task=("Each recipe of the lab runs with several seeds. A results table (the lab's "
          "`result.rows`, or `ex.LAB_RESULTS` below, whose numbers are **invented for this "
          "exercise**: a plausible VGG16 run, not a measured one) gives the mean final validation "
          "accuracy over seeds, `final_val_acc`, and its standard deviation, `val_acc_sd`:\n\n"
          + table(LAB_RESULTS) + "\n\n"
          "Call recipe `a` **clearly better** than recipe `b` when its mean is higher by more "
          "than the two standard deviations added together "
          "(`acc_a - acc_b > sd_a + sd_b`). Write `clearly_better(results, a, b)` that returns "
          "`True` or `False` for two recipe names of such a table. It is checked on this table "
          "reordered and on other tables. Then use it on your own lab results: is "
          "`partial_finetune` clearly better than `transfer_learning`?"),
    answer="clearly_better",
    parts=(Part("a difference larger than the spread"), Part("a difference within the spread"),
           Part("the second one is better")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=("Find the two rows by their `recipe`, never by their position: the tables come "
               "in any order."),
)


# --- q2: fast enough and good enough ------------------------------------------------------------

def _fastest_within(rows, tolerance: float) -> str:
    best = max(r["final_val_acc"] for r in rows)
    close = [r for r in rows if best - r["final_val_acc"] <= tolerance + 1e-12]
    return min(close, key=lambda r: r["total_s"])["recipe"]


def tricky_table(rng) -> tuple[list[dict], float]:
    """A table and a tolerance where the answer is neither the most accurate recipe, nor the
    fastest overall, nor the one with the fewest trainable parameters."""
    rows = sorted(random_table(rng, 6), key=lambda r: -r["final_val_acc"])
    tolerance = round(rows[0]["final_val_acc"] - rows[2]["final_val_acc"] + 0.0005, 4)
    times = sorted(r["total_s"] for r in rows)
    answer = rng.choice([1, 2])
    rows[5]["total_s"], rows[answer]["total_s"] = times[0], times[1]  # fastest: not close
    rest = [i for i in range(5) if i != answer]
    for i, t in zip(rest, rng.sample(times[2:], 4)):
        rows[i]["total_s"] = t
    params = sorted((r["trainable_params"] for r in rows[:3]), reverse=True)
    rows[answer]["trainable_params"] = params[0]  # the most parameters of the close ones
    for i, p in zip([i for i in range(3) if i != answer], params[1:]):
        rows[i]["trainable_params"] = p
    rng.shuffle(rows)
    return rows, tolerance


def _q2_cases(rng) -> list[dict]:
    cases = [{"part": "the lab's table, reordered", "rows": shuffled(rng, LAB_RESULTS),
              "tolerance": tol, "label": f"tolerance {tol}"} for tol in (0.01, 0.02)]
    for _ in range(2):
        rows, tolerance = tricky_table(rng)
        cases.append({"part": "other tables", "rows": rows, "label": "another table",
                      "tolerance": tolerance})
    cases.append({"part": "tolerance 0", "rows": random_table(rng), "tolerance": 0.0,
                  "label": "another table, tolerance 0"})
    return cases


def _q2_observe(fn, case: dict):
    return plain(fn([dict(r) for r in case["rows"]], case["tolerance"]))


def _q2_assess(case: dict, got) -> str | None:
    rows = case["rows"]
    if not isinstance(got, str):
        return f"expected a recipe name (a str), got {type_name(got)}"
    if got == _fastest_within(rows, case["tolerance"]):
        return None
    if got not in [r["recipe"] for r in rows]:
        return f"{got!r} is not a recipe of this table"
    if got == max(rows, key=lambda r: r["final_val_acc"])["recipe"]:
        return "that is the most accurate, but a faster one is within tolerance"
    if got == min(rows, key=lambda r: r["trainable_params"])["recipe"]:
        return "fewest trainable parameters is not the same as fewest seconds"
    return "not the fastest recipe within the tolerance of the best accuracy"


q2 = Exercise(
    id="comparison_lab.q2",
    title="fast enough and good enough",
    task=("Write `fastest_within(results, tolerance)`: among the recipes whose `final_val_acc` "
          "is at most `tolerance` below the best one, return the name of the fastest (smallest "
          "`total_s`). It is checked on `ex.LAB_RESULTS` (invented numbers) reordered and on "
          "other tables, where "
          "the fastest recipe is not always the one with the fewest trainable parameters. "
          "Then ask it about your own lab results, with a tolerance of one seed spread."),
    answer="fastest_within",
    parts=(Part("the lab's table, reordered"), Part("other tables"), Part("tolerance 0")),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=("First find the best accuracy, then keep the rows close enough to it, then "
               "take the one with the smallest `total_s`."),
)


# --- q3: find the bug: validation -------------------------------------------------------------

BUGGY_EVALUATE = '''def evaluate(model, loader):
    correct = 0
    for images, labels in loader:
        correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)'''

_Q3_ASPECTS = {"mode": "dropout and BatchNorm in eval mode", "grad": "no gradients tracked",
               "acc": "the accuracy"}


def _q3_cases(rng) -> list[dict]:
    cases = []
    for _ in range(2):
        spec = {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": 8,
                "num_classes": rng.randint(2, 4), "seed": rng.randrange(1000)}
        size = rng.choice([4, 5])  # a last batch of another size: batch means are not the mean
        data = {"n": 2 * size + rng.randint(1, size - 1), "batch_size": size,
                "seed": rng.randrange(1000)}
        cases += [{"part": part, "aspect": aspect, "label": zoo.describe(spec), "model": spec,
                   "data": data} for aspect, part in _Q3_ASPECTS.items()]
    return cases


def case_loader(data: dict, num_classes: int) -> DataLoader:
    gen = torch.Generator().manual_seed(data["seed"])
    images = torch.randn(data["n"], 3, 32, 32, generator=gen)
    labels = torch.randint(0, num_classes, (data["n"],), generator=gen)
    return DataLoader(TensorDataset(images, labels), batch_size=data["batch_size"])


def _bn_state(model: nn.Module) -> list[float]:
    return [zoo.fingerprint(m.running_mean) for m in model.modules()
            if isinstance(m, nn.BatchNorm2d)]


def _q3_observe(fn, case: dict):
    model = zoo.build(case["model"])
    model.train()  # as after a training epoch
    seen: list[list[bool]] = []
    model.register_forward_pre_hook(
        lambda module, args: seen.append([module.training, torch.is_grad_enabled()]))
    before = _bn_state(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        acc = fn(model, case_loader(case["data"], case["model"]["num_classes"]))
    return {"acc": plain(acc), "forwards": seen, "bn_changed": _bn_state(model) != before}


def _expected_accuracy(case: dict) -> float:
    model = zoo.build(case["model"]).eval()
    hits = total = 0
    with torch.inference_mode():
        for images, labels in case_loader(case["data"], case["model"]["num_classes"]):
            hits += int((model(images).argmax(1) == labels).sum())
            total += len(labels)
    return hits / total


def _q3_assess(case: dict, got) -> str | None:
    if not got["forwards"]:
        return "the model was never called"
    if case["aspect"] == "mode":
        if any(training for training, _ in got["forwards"]) or got["bn_changed"]:
            return ("the model ran in training mode: dropout was on and BatchNorm updated its "
                    "running statistics")
        return None
    if case["aspect"] == "grad":
        return ("autograd recorded every forward pass (memory and time for gradients nobody "
                "uses)" if any(grad for _, grad in got["forwards"]) else None)
    acc = got["acc"]
    if isinstance(acc, bool) or not isinstance(acc, (int, float)):
        return f"expected the accuracy as a float, got {type_name(acc)}"
    return None if abs(acc - _expected_accuracy(case)) < 1e-9 else (
        "not the fraction of correct predictions over the whole validation set")


q3 = Exercise(
    id="comparison_lab.q3",
    title="find the bug: validation",
    task=("**Find the bug.** The lab validates after every epoch with this function. It "
          "returns a number between 0 and 1, but the number changes from run to run on the "
          "same weights, the model's BatchNorm statistics move, and it is slow:\n\n"
          f"```python\n{BUGGY_EVALUATE}\n```\n\n"
          "Write the fixed `evaluate(model, loader)`. It is checked on VGG-shaped models with "
          "BatchNorm and dropout, called right after training (in training mode)."),
    answer="evaluate",
    parts=tuple(Part(name) for name in _Q3_ASPECTS.values()),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=("Two separate switches: one changes how dropout and BatchNorm behave, the other "
               "stops autograd from recording."),
)


# --- q4: predict, then verify -------------------------------------------------------------

_Q4 = "comparison_lab.q4"

q4 = prediction_exercise(
    id=_Q4,
    title="predict the lab's trainable column",
    task=("**Predict first, run later.** Before the lab runs, predict from the recipes "
          "alone (VGG16, 2 classes):\n\n"
          "- `fewest`: the recipe that trains the fewest parameters;\n"
          "- `same_as_full`: the other recipe that trains exactly as many parameters as "
          "`full_finetune`;\n"
          "- `conv5`: how many more parameters `partial_finetune` trains than "
          "`finetune_pretrained_classifier` (VGG16's conv5 has three `Conv2d(512, 512, 3)`).\n\n"
          "Recipe names: " + ", ".join(f"`{name}`" for name in recipes.RECIPES) + "."),
    answer="predictions",
    predictions=(
        Prediction("fewest", "fewest trainable", kind="name",
                   choices=tuple(recipes.RECIPES)),
        Prediction("same_as_full", "as many as full fine-tuning", kind="name",
                   choices=tuple(recipes.RECIPES), mistakes={
                       digest(_Q4, "same_as_full", "partial_finetune"):
                           "partial fine-tuning leaves conv1 to conv4 frozen",
                   }),
        Prediction("conv5", "conv5's parameters", mistakes={
            digest(_Q4, "conv5", 7_077_888): "each conv also has 512 biases",
            digest(_Q4, "conv5", 2_359_808): "conv5 has three convolutions",
        }),
    ),
    hint_text=("Which recipes train the whole network? A `Conv2d(c_in, c_out, 3)` has "
               "`c_out * c_in * 3 * 3 + c_out` parameters."),
    verify=("# Verify (after the check): every recipe on VGG16's shapes (meta device)\n"
            "import copy\n\n"
            "with torch.device(\"meta\"):\n"
            "    skeleton = torchvision.models.vgg16(weights=None)\n"
            "{name: f\"{vc.freezing.trainable_count(vc.recipes.apply(name, copy.deepcopy(skeleton), 2)):,}\"\n"
            " for name in vc.recipes.RECIPES}"),
)

EXERCISES = (q1, q2, q3, q4)
