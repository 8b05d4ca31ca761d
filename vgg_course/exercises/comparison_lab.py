"""Exercises for ``06_comparison_lab.ipynb``: reading the lab's results, and a buggy evaluation.

Exercises 1 and 2 are checked on results tables made for each case (``LAB_RESULTS``
reordered, and tables built with ties and near misses: ``vgg_course.exercises.lab_tables``);
exercises 5 to 8 read a lab's result object, built results and the student's own
(``vgg_course.exercises.lab_reading``). What a right answer gives on a
case comes from the instructor's side (``case["expected"]``); nothing here computes it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from vgg_course import recipes
from vgg_course.exercises import integrity, zoo
from vgg_course.exercises.lab_reading import q5, q6, q7, q8
from vgg_course.exercises.lab_tables import (LAB_PAIRS, LAB_RESULTS, edge_table, pair_table,
                                              q3_hits, random_table, shuffled, tied_best_table)
from vgg_course.exercises.answers import plain, type_name
from vgg_course.exercises.core import Exercise, Part
from vgg_course.exercises.predictions import Prediction, prediction_exercise
from vgg_course.i18n import N_, _


def table_call(fn, case: dict, *args) -> dict:
    """Call ``fn`` on a copy of the case's table: what it returned, and whether the table
    it was given changed (sorted, rows edited or removed)."""
    rows = [dict(r) for r in case["rows"]]
    value = plain(fn(rows, *args))
    return {"value": value, "table_changed": rows != case["rows"]}


_TABLE_CHANGED = N_("the table it was given was changed (sorted, or rows edited): read "
                     "`results`, leave it as it is")

# --- q1: is the difference larger than the seed spread? -----------------------------------------

_Q1_PARTS = {"larger": "a difference larger than the spread",
             "within": "a difference within the spread", "tie": "a difference within the spread",
             "reversed": "the second one is better"}


def _q1_cases(rng) -> list[dict]:
    lab = shuffled(rng, LAB_RESULTS)
    cases = [{"part": _Q1_PARTS[kind], "label": f"the lab's table, {a} vs {b}", "rows": lab,
              "a": a, "b": b} for kind, pairs in LAB_PAIRS.items() for a, b in [rng.choice(pairs)]]
    for kind in ("larger", "tie", "within", "reversed"):  # near the boundary, and exactly on it
        rows, a, b = pair_table(rng, kind)
        cases.append({"part": _Q1_PARTS[kind], "label": f"another table, {a} vs {b}",
                      "rows": rows, "a": a, "b": b})
    return cases


def _q1_observe(fn, case: dict):
    return table_call(fn, case, case["a"], case["b"])


def _q1_assess(case: dict, got) -> str | None:
    if got["table_changed"]:
        return _(_TABLE_CHANGED)
    value, want = got["value"], case["expected"]
    if not isinstance(value, bool):
        return _("expected True or False, got {type}").format(type=type_name(value))
    if value == want["value"]:
        return None
    if want["gap"] == "tie":
        return _("the gap between the means equals the two spreads added together: that is "
                 "not *more than* them")
    if want["gap"] == "reversed":
        return _("the first recipe is the worse one here: it cannot be clearly better")
    if value:
        return _("the gap between the means is not larger than the two spreads together")
    return _("the gap between the means is larger than both spreads together")


q1 = Exercise(
    id="comparison_lab.q1",
    title=N_("larger than the seed spread?"),
    task=N_("A results table is a list of rows, one per recipe, in the lab's columns: `recipe`, "
            "`final_val_acc` (the mean final validation accuracy over seeds) and `val_acc_sd` "
            "(its standard deviation over seeds). Recipe `a` is **clearly better** than recipe "
            "`b` when `acc_a - acc_b > sd_a + sd_b`, strictly: a gap exactly equal to the two "
            "spreads is not. Write `clearly_better(results, a, b)` that returns `True` or "
            "`False`; find the rows by `recipe` (they come in any order) and leave the table as "
            "it is. It is checked on `ex.LAB_RESULTS` (invented numbers, not measured) "
            "reordered and on other tables. Then, on your lab's `result.rows`: is "
            "`partial_finetune` clearly better than `transfer_learning`?"),
    answer="clearly_better",
    parts=(Part("a difference larger than the spread"), Part("a difference within the spread"),
           Part("the second one is better")),
    make_cases=_q1_cases, observe=_q1_observe, assess=_q1_assess,
    hint_text=N_("Find the two rows by their `recipe`, never by their position: the tables "
                 "come in any order. *More than* is strict."),
)


# --- q2: fast enough and good enough ------------------------------------------------------------

def _q2_cases(rng) -> list[dict]:
    cases = [{"part": "the lab's table, reordered", "rows": shuffled(rng, LAB_RESULTS),
              "tolerance": tol, "label": f"the lab's table, tolerance {tol}"} for tol in (0.01, 0.02)]
    for at_edge in (True, False):  # the answer exactly at the tolerance, then inside it
        rows, tolerance = edge_table(rng, at_edge=at_edge)
        cases.append({"part": "other tables", "rows": rows, "tolerance": tolerance,
                      "label": f"another table, tolerance {tolerance}"})
    cases.append({"part": "tolerance 0", "rows": tied_best_table(rng), "tolerance": 0.0,
                  "label": N_("another table (two recipes share the best accuracy), "
                              "tolerance 0")})
    cases.append({"part": "tolerance 0", "rows": random_table(rng), "tolerance": 0.0,
                  "label": N_("another table, tolerance 0")})
    return cases


def _q2_observe(fn, case: dict):
    return table_call(fn, case, case["tolerance"])


def _q2_assess(case: dict, got) -> str | None:
    if got["table_changed"]:
        return _(_TABLE_CHANGED)
    value, want = got["value"], case["expected"]
    if not isinstance(value, str):
        return _("expected a recipe name (a str), got {type}").format(type=type_name(value))
    if value == want["value"]:
        return None
    if value not in want["recipes"]:
        return _("{value!r} is not a recipe of this table").format(value=value)
    if want["at_edge"] and value == want["strict"]:
        return _("a faster recipe is exactly `tolerance` below the best: *at most* "
                 "`tolerance` below includes it")
    if value == want["most_accurate"]:
        return _("that is the most accurate, but a faster one is within tolerance")
    if value == want["fewest_params"]:
        return _("fewest trainable parameters is not the same as fewest seconds")
    if value == want["fastest"]:
        return _("that is the fastest recipe, but its accuracy is not within the tolerance")
    return _("not the fastest recipe within the tolerance of the best accuracy")


q2 = Exercise(
    id="comparison_lab.q2",
    title=N_("fast enough and good enough"),
    task=N_("Write `fastest_within(results, tolerance)`: among the recipes whose `final_val_acc` "
            "is at most `tolerance` below the best one, return the name of the fastest (smallest "
            "`total_s`); leave the table as it is. It is checked on `ex.LAB_RESULTS` (invented "
            "numbers) reordered and on other tables, where the fastest recipe is not always the "
            "one with the fewest trainable parameters, and a recipe may be exactly `tolerance` "
            "below the best. Then ask it about your own lab results, with a tolerance of one "
            "seed spread."),
    answer="fastest_within",
    parts=(Part("the lab's table, reordered"), Part("other tables"), Part("tolerance 0")),
    make_cases=_q2_cases, observe=_q2_observe, assess=_q2_assess,
    hint_text=N_("First find the best accuracy, then keep the rows close enough to it, then "
                 "take the one with the smallest `total_s`."),
)


# --- q3: find the bug: validation -------------------------------------------------------------

BUGGY_EVALUATE = '''def evaluate(model, loader):
    correct = 0
    for images, labels in loader:
        correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)'''

_Q3_ASPECTS = {"mode": "dropout and BatchNorm in eval mode", "grad": "no gradients tracked",
               "acc": "the accuracy", "left": "the model is left as it was"}


def _q3_cases(rng) -> list[dict]:
    cases = []
    for _ in range(2):
        spec = {"arch": "tiny_vgg_bn", "width": rng.choice([1, 2]), "hidden": 8,
                "num_classes": rng.randint(2, 4), "seed": rng.randrange(1000)}
        size = rng.choice([4, 5])  # a last batch of another size: batch means are not the mean
        last = rng.randint(1, size - 1)
        data = {"n": 2 * size + last, "batch_size": size, "seed": rng.randrange(1000),
                "hits": q3_hits(rng, 2 * size + last, size)}
        for aspect, part in _Q3_ASPECTS.items():
            for start in (("train", "eval") if aspect == "left" else ("train",)):
                cases.append({"part": part, "aspect": aspect, "start": start, "model": spec,
                              "data": data, "label": zoo.describe(spec) + (
                                  ", called in eval mode" if start == "eval" else "")})
    return cases


def case_loader(data: dict, model: nn.Module, num_classes: int) -> DataLoader:
    """The case's images, labelled so that the model (in eval mode) is right exactly on the
    images ``data["hits"]`` lists: the accuracy is known without running an answer."""
    gen = torch.Generator().manual_seed(data["seed"])
    images = torch.randn(data["n"], 3, 32, 32, generator=gen)
    size, hits = data["batch_size"], set(data["hits"])
    probe = copy.deepcopy(model).eval()
    with torch.no_grad():
        preds = torch.cat([probe(images[i:i + size]).argmax(1)
                           for i in range(0, data["n"], size)]).tolist()
    labels = torch.tensor([p if i in hits else (p + 1) % num_classes for i, p in enumerate(preds)])
    return DataLoader(TensorDataset(images, labels), batch_size=size)


def _values(model: nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone() for _, t in integrity.named_parameters(model)] + [
        t.detach().clone() for _, t in integrity.named_buffers(model)]


def _q3_observe(fn, case: dict):
    model = zoo.build(case["model"])
    nn.Module.train(model, case["start"] == "train")  # "train": as after a training epoch
    loader = case_loader(case["data"], model, case["model"]["num_classes"])
    modules = [m for _, m in nn.Module.named_modules(model)]
    modes, values = [vars(m)["training"] for m in modules], _values(model)
    seen = {"calls": 0, "training": 0, "grad": 0}

    def record(module, args) -> None:
        seen["calls"] += 1
        seen["training"] += bool(vars(module)["training"])
        seen["grad"] += torch.is_grad_enabled()

    handles = [nn.Module.register_forward_pre_hook(m, record) for m in modules
               if isinstance(m, (nn.Dropout, nn.modules.batchnorm._BatchNorm))]
    acc = fn(model, loader)
    for handle in handles:
        handle.remove()
    after = _values(model)
    return {"acc": plain(acc), **seen,
            "mode_kept": [vars(m).get("training") for m in modules] == modes,
            "values_kept": len(after) == len(values) and all(
                a.shape == b.shape and torch.equal(a, b) for a, b in zip(after, values)),
            "finite": integrity.finite(after), "patched": integrity.patched(model)}


def _q3_assess(case: dict, got) -> str | None:
    if not got["calls"]:
        return _("the model's layers were never called")
    if got["patched"]:
        return _("{name} was replaced on the model: call the model, do not change it").format(
            name=got["patched"][0])
    aspect = case["aspect"]
    if aspect == "mode":
        return (_("the model ran in training mode: dropout was on and BatchNorm used (and "
                  "updated) the batch's statistics") if got["training"] else None)
    if aspect == "grad":
        return (_("autograd recorded every forward pass (memory and time for gradients nobody "
                  "uses)") if got["grad"] else None)
    if aspect == "left":
        if not got["values_kept"] or not got["finite"]:
            return _("the model's weights or BatchNorm statistics changed: evaluating must not "
                     "change the model")
        return None if got["mode_kept"] else _(
            "the model was called in {start} mode and left in another: put it back "
            "in the mode it was in (the lab's next epoch does not call model.train())").format(
                start=case["start"])
    acc, want = got["acc"], case["expected"]
    if isinstance(acc, bool) or not isinstance(acc, (int, float)):
        return _("expected the accuracy as a float, got {type}").format(type=type_name(acc))
    if abs(acc - want["acc"]) < 1e-6:
        return None
    if abs(acc - want["last_batch"]) < 1e-6:
        return _("that is the accuracy of the last batch only: count over every batch")
    if abs(acc - want["batch_mean"]) < 1e-6:
        return _("that is the mean of the batches' accuracies: the last batch is smaller, so it "
                 "is not the accuracy over the whole validation set")
    return _("not the fraction of correct predictions over the whole validation set")


q3 = Exercise(
    id="comparison_lab.q3",
    title=N_("find the bug: validation"),
    task=N_("**Find the bug.** The lab validates after every epoch with this function. It "
            "returns a number between 0 and 1, but the number changes from run to run on the "
            "same weights, the model's BatchNorm statistics move, and it is slow:\n\n"
            "```python\n"
            "def evaluate(model, loader):\n"
            "    correct = 0\n"
            "    for images, labels in loader:\n"
            "        correct += (model(images).argmax(1) == labels).sum().item()\n"
            "    return correct / len(loader.dataset)\n"
            "```\n\n"  # BUGGY_EVALUATE, written out: a task is one literal (translated whole)
            "Write the fixed `evaluate(model, loader)`. It is checked on VGG-shaped models with "
            "BatchNorm and dropout, called right after training (in training mode) and in eval "
            "mode. The lab's next epoch does not call `model.train()` again: leave the model in "
            "the mode it was in when `evaluate` was called."),
    answer="evaluate",
    parts=tuple(Part(name) for name in _Q3_ASPECTS.values()),
    make_cases=_q3_cases, observe=_q3_observe, assess=_q3_assess,
    hint_text=N_("Two separate switches: one changes how dropout and BatchNorm behave, the "
                 "other stops autograd from recording. `model.training` says which mode the "
                 "model was in."),
)


# --- q4: predict, then verify -------------------------------------------------------------

q4 = prediction_exercise(
    id="comparison_lab.q4",
    title=N_("predict the lab's trainable column"),
    task=N_("**Predict first, run later.** Before the lab runs, predict from the recipes "
            "alone (VGG16, 2 classes):\n\n"
            "- `fewest`: the recipe that trains the fewest parameters;\n"
            "- `same_as_full`: the other recipe that trains exactly as many parameters as "
            "`full_finetune`;\n"
            "- `conv5`: how many more parameters `partial_finetune` trains than "
            "`finetune_pretrained_classifier` (VGG16's conv5 has three `Conv2d(512, 512, 3)`).\n\n"
            "Recipe names: `transfer_learning`, `finetune_new_classifier`, "  # recipes.RECIPES
            "`finetune_pretrained_classifier`, `finetune_imagenet_rows`, `partial_finetune`, "
            "`full_finetune`, `from_scratch`.\n\n"
            "Run the check: it records your prediction. Then run the verify cell below it, "
            "which applies every recipe and shows your prediction beside what really happens."),
    answer="predictions",
    predictions=(
        Prediction("fewest", "fewest trainable", kind="name", choices=tuple(recipes.RECIPES)),
        Prediction("same_as_full", "as many as full fine-tuning", kind="name",
                   choices=tuple(recipes.RECIPES)),
        Prediction("conv5", "conv5's parameters"),
    ),
    hint_text=N_("Which recipes train the whole network? A `Conv2d(c_in, c_out, 3)` has "
                 "`c_out * c_in * 3 * 3 + c_out` parameters."),
    verify=("# Verify (after the check): every recipe on VGG16's shapes (meta device)\n"
            "import copy\n\n"
            "with torch.device(\"meta\"):\n"
            "    skeleton = torchvision.models.vgg16(weights=None)\n"
            "counts = {name: vc.freezing.trainable_count(vc.recipes.apply(name, copy.deepcopy(skeleton), 2))\n"
            "          for name in vc.recipes.RECIPES}\n"
            "print(\"\\n\".join(f\"{name:32} {n:>13,}\" for name, n in counts.items()))\n"
            "ex.q4.reveal(fewest=min(counts, key=counts.get),\n"
            "             same_as_full=[name for name, n in counts.items()\n"
            "                           if n == counts[\"full_finetune\"] and name != \"full_finetune\"][0],\n"
            "             conv5=counts[\"partial_finetune\"] - counts[\"finetune_pretrained_classifier\"])"),
)

EXERCISES = (q1, q2, q3, q4, q5, q6, q7, q8)
