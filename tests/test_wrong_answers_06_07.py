"""More answers for lessons 06 and 07: each kind of plausible wrong answer fails on every seed.

The kinds of issue 18: ``>=`` for "more than" and ``<`` for "at most" (every seed's cases
hold exact ties, in binary too), the caller's table sorted in place, an ``evaluate`` that
leaves the model in eval mode, flips it to training mode, or turns grad mode off for good,
accuracy counted on the last batch, training steps that forget ``zero_grad()`` or
``model.train()`` (checked over several steps on one model and one optimizer), frozen
BatchNorm statistics that still move, a forgotten ``return``, methods patched on the
instance, NaN weights, global state left changed; and right answers in other styles, which
must keep full marks. For the exercises that read a lab's result (06 q5 to q8): the highest
mean taken as a clear win, a failed recipe read, the one-image floor forgotten, a signed gap,
one recipe's noises only, 50% taken for "always one class", each recipe's own untrained
accuracy taken for the baseline. Each wrong answer must lose marks in the student's check (public
cases) and in grading (hidden cases too) on seeds 0 to 4, and its feedback must name the
mistake where ``says`` is given.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_wrong_answers import ALL, answer_of

SEEDS = range(5)

_STEP = '''
def train_step(model, images, labels, optimizer):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
'''

# id -> {"right": [cells], "wrong": {what: cell or (cell, what the feedback says)}}
NEW: dict[str, dict] = {
    # --- 06 comparison lab -------------------------------------------------------------------
    "comparison_lab.q1": {
        "right": ['''
def clearly_better(results, a, b):
    first = next(r for r in results if r["recipe"] == a)
    second = next(r for r in results if r["recipe"] == b)
    return first["final_val_acc"] - first["val_acc_sd"] > second["final_val_acc"] + second["val_acc_sd"]
''', '''
def clearly_better(results, a, b):
    acc = {r["recipe"]: r["final_val_acc"] for r in results}
    sd = {r["recipe"]: r["val_acc_sd"] for r in results}
    return acc[a] > acc[b] + sd[a] + sd[b]
'''],
        "wrong": {
            ">= for 'more than' (a tie counts)": ('''
def clearly_better(results, a, b):
    row = {r["recipe"]: r for r in results}
    return row[a]["final_val_acc"] - row[b]["final_val_acc"] >= row[a]["val_acc_sd"] + row[b]["val_acc_sd"]
''', "not *more than*"),
            "sorts the caller's table to find the rows": ('''
def clearly_better(results, a, b):
    results.sort(key=lambda r: r["recipe"])
    row = {r["recipe"]: r for r in results}
    return row[a]["final_val_acc"] - row[b]["final_val_acc"] > row[a]["val_acc_sd"] + row[b]["val_acc_sd"]
''', "was changed"),
            "a's spread only": '''
def clearly_better(results, a, b):
    row = {r["recipe"]: r for r in results}
    return row[a]["final_val_acc"] - row[b]["final_val_acc"] > row[a]["val_acc_sd"]
''',
        }},
    "comparison_lab.q2": {
        "right": ['''
def fastest_within(results, tolerance):
    best = max(r["final_val_acc"] for r in results)
    return min((r["total_s"], r["recipe"]) for r in results
               if r["final_val_acc"] + tolerance >= best)[1]
''', '''
def fastest_within(results, tolerance):
    ranked = sorted(results, key=lambda r: r["final_val_acc"], reverse=True)
    best = ranked[0]["final_val_acc"]
    fastest = None
    for row in ranked:
        if best - row["final_val_acc"] > tolerance:
            break
        if fastest is None or row["total_s"] < fastest["total_s"]:
            fastest = row
    return fastest["recipe"]
'''],
        "wrong": {
            "strictly within: > best - tolerance": ('''
def fastest_within(results, tolerance):
    best = max(r["final_val_acc"] for r in results)
    close = [r for r in results if r["final_val_acc"] > best - tolerance]
    return min(close, key=lambda r: r["total_s"])["recipe"] if close else None
''', "exactly"),
            "sorts the caller's table by speed": ('''
def fastest_within(results, tolerance):
    best = max(r["final_val_acc"] for r in results)
    results.sort(key=lambda r: r["total_s"])
    return next(r["recipe"] for r in results if best - r["final_val_acc"] <= tolerance)
''', "was changed"),
            "a relative tolerance (best * (1 - tolerance))": '''
def fastest_within(results, tolerance):
    best = max(r["final_val_acc"] for r in results)
    close = [r for r in results if r["final_val_acc"] >= best * (1 - tolerance)]
    return min(close, key=lambda r: r["total_s"])["recipe"]
''',
        }},
    "comparison_lab.q3": {
        "right": ['''
import copy

def evaluate(model, loader):
    frozen = copy.deepcopy(model).eval()
    right = total = 0
    with torch.no_grad():
        for images, labels in loader:
            right += (frozen(images).argmax(1) == labels).sum().item()
            total += labels.numel()
    return right / total
''', '''
def evaluate(model, loader):
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with torch.inference_mode():
            hits = sum(int((model(x).argmax(1) == y).sum()) for x, y in loader)
    finally:
        for m, mode in modes.items():
            m.training = mode
    return hits / len(loader.dataset)
'''],
        "wrong": {
            "model.eval() left behind": ('''
def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)
''', "left in another"),
            "model.train() at the end, whatever the mode was": ('''
def evaluate(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    model.train()
    return correct / len(loader.dataset)
''', "called in eval mode"),
            "torch.set_grad_enabled(False) instead of a with block": ('''
def evaluate(model, loader):
    was = model.training
    model.eval()
    torch.set_grad_enabled(False)
    correct = 0
    for images, labels in loader:
        correct += (model(images).argmax(1) == labels).sum().item()
    model.train(was)
    return correct / len(loader.dataset)
''', "grad mode is off"),
            "the last batch's accuracy only": ('''
def evaluate(model, loader):
    was = model.training
    model.eval()
    with torch.no_grad():
        for images, labels in loader:
            acc = (model(images).argmax(1) == labels).float().mean().item()
    model.train(was)
    return acc
''', "last batch"),
            "divides by batches * batch size": '''
def evaluate(model, loader):
    was = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    model.train(was)
    return correct / (len(loader) * loader.batch_size)
''',
            "seeds torch to make the number repeatable": ('''
def evaluate(model, loader):
    torch.manual_seed(0)
    was = model.training
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    model.train(was)
    return correct / len(loader.dataset)
''', "re-seeded"),
        }},
    "comparison_lab.q4": {
        "right": [{"fewest": "TRANSFER_LEARNING", "same_as_full": " from_scratch",
                   "conv5": np.int64(3 * 512 * (512 * 9 + 1))}],
        "wrong": {
            "a whole classifier": ({"fewest": "finetune_pretrained_classifier",
                                    "same_as_full": "from_scratch", "conv5": 7_079_424},
                                   "three layers"),
            "conv5 without biases, partial = full": {
                "fewest": "transfer_learning", "same_as_full": "partial_finetune",
                "conv5": 7_077_888},
        }},
    "comparison_lab.q5": {
        "right": ['''
def clear_winner(result):
    trained = sorted(result.trained(), key=lambda r: -r.final_val_acc)
    best, rest = trained[0], trained[1:]
    return None if any(not result.differs(best.recipe, r.recipe) for r in rest) else best.recipe
''', '''
def clear_winner(result):
    tied = result.tied_with_best()
    return tied[0].recipe if len(tied) == 1 else None
'''],
        "wrong": {
            "the highest mean whatever the noise": ('''
def clear_winner(result):
    return result.best().recipe
''', "within the noise of the best"),
            "a failed recipe can win": ('''
def clear_winner(result):
    best = max(result.results, key=lambda r: r.final_val_acc)
    rivals = [r for r in result.results if r is not best and not r.failure]
    return best.recipe if all(result.differs(best.recipe, r.recipe) for r in rivals) else None
''', "failed"),
            "the seed spreads only, no one-image floor": ('''
def clear_winner(result):
    best = result.best()
    for r in result.trained():
        if r is not best and best.final_val_acc - r.final_val_acc <= best.val_acc_sd + r.val_acc_sd:
            return None
    return best.recipe
''', "one image"),
        }},
    "comparison_lab.q6": {
        "right": ['''
def read_gap(result, a, b):
    ra, rb = result.result(a), result.result(b)
    seeds = ra.val_acc_sd + rb.val_acc_sd
    images = vc.compare.stats.sampling_sd(ra.final_val_acc, result.n_val) + \\
        vc.compare.stats.sampling_sd(rb.final_val_acc, result.n_val)
    return {"bigger_noise": "sampling" if images > seeds else "seeds",
            "beyond_noise": result.differs(b, a)}
''', '''
def read_gap(result, a, b):
    rows = {name: r for r in result.rows for name in [r["recipe"], *r["same_as"]]}
    ra, rb = rows[a], rows[b]
    noise = max(ra["val_acc_sd"] + rb["val_acc_sd"], result.one_image)
    se = sum((r["final_val_acc"] * (1 - r["final_val_acc"]) / result.n_val) ** 0.5 for r in (ra, rb))
    return {"beyond_noise": abs(ra["final_val_acc"] - rb["final_val_acc"]) > noise,
            "bigger_noise": "sampling" if se > ra["val_acc_sd"] + rb["val_acc_sd"] else "seeds"}
'''],
        "wrong": {
            "a ahead only": ('''
def read_gap(result, a, b):
    ra, rb = result.result(a), result.result(b)
    seeds = ra.val_acc_sd + rb.val_acc_sd
    se = sum((r.final_val_acc * (1 - r.final_val_acc) / result.n_val) ** 0.5 for r in (ra, rb))
    return {"beyond_noise": ra.final_val_acc - rb.final_val_acc > max(seeds, result.one_image),
            "bigger_noise": "sampling" if se > seeds else "seeds"}
''', "whichever recipe is ahead"),
            "one recipe's noises only": ('''
def read_gap(result, a, b):
    ra = result.result(a)
    se = (ra.final_val_acc * (1 - ra.final_val_acc) / result.n_val) ** 0.5
    return {"beyond_noise": result.differs(a, b),
            "bigger_noise": "sampling" if se > ra.val_acc_sd else "seeds"}
''', "standard errors"),
            "the lab's dominant noise instead of this pair's": '''
def read_gap(result, a, b):
    return {"beyond_noise": result.differs(a, b), "bigger_noise": result.dominant_noise()}
''',
        }},
    "comparison_lab.q7": {
        "right": ['''
def scratch_vs_majority(result):
    runs = [r for r in result.trained() if r.recipe == "from_scratch"]
    if not runs:
        return None
    r = runs[0]
    noise = max(r.val_acc_sd, result.one_image)
    if abs(r.final_val_acc - result.majority_share) <= noise:
        return "within"
    return "above" if r.final_val_acc > result.majority_share else "below"
''', '''
def scratch_vs_majority(result):
    rows = {r["recipe"]: r for r in result.rows}
    row = rows.get("from_scratch")
    if not row or row["failure"] is not None:
        return None
    gap = row["final_val_acc"] - result.majority_share
    noise = max(row["val_acc_sd"], result.one_image)
    return ["below", "within", "above"][(gap > noise) - (gap < -noise) + 1]
'''],
        "wrong": {
            "chance is 50%": ('''
def scratch_vs_majority(result):
    try:
        r = result.result("from_scratch")
    except KeyError:
        return None
    if r.failure:
        return None
    gap, noise = r.final_val_acc - 0.5, max(r.val_acc_sd, result.one_image)
    return "above" if gap > noise else "below" if -gap > noise else "within"
''', "majority_share"),
            "the best recipe instead of from scratch": '''
def scratch_vs_majority(result):
    r = result.best()
    gap, noise = r.final_val_acc - result.majority_share, max(r.val_acc_sd, result.one_image)
    return "above" if gap > noise else "below" if -gap > noise else "within"
''',
            "a KeyError when from scratch did not run": ('''
def scratch_vs_majority(result):
    r = result.result("from_scratch")
    if r.failure:
        return None
    gap, noise = r.final_val_acc - result.majority_share, max(r.val_acc_sd, result.one_image)
    return "above" if gap > noise else "below" if -gap > noise else "within"
''', "KeyError"),
        }},
    "comparison_lab.q8": {
        "right": ['''
def versus_baseline(result):
    if result.baseline is None:
        return None
    out = {}
    for r in result.trained():
        noise = max(r.val_acc_sd, result.one_image)
        if r.final_val_acc > result.baseline + noise:
            out[r.recipe] = "above"
        elif r.final_val_acc < result.baseline - noise:
            out[r.recipe] = "below"
        else:
            out[r.recipe] = "within"
    return out
''', '''
def versus_baseline(result):
    base = result.baseline
    return None if base is None else {
        r["recipe"]: ("above" if r["final_val_acc"] - base > max(r["val_acc_sd"], 1 / result.n_val)
                      else "below" if base - r["final_val_acc"] > max(r["val_acc_sd"], 1 / result.n_val)
                      else "within")
        for r in result.rows if not r["failure"]}
'''],
        "wrong": {
            "each recipe's own untrained accuracy": ('''
def versus_baseline(result):
    if result.baseline is None:
        return None
    return {r.recipe: ("above" if r.final_val_acc - r.untrained_val_acc > max(r.val_acc_sd, result.one_image)
                       else "below" if r.untrained_val_acc - r.final_val_acc > max(r.val_acc_sd, result.one_image)
                       else "within") for r in result.trained()}
''', "untrained accuracy"),
            "above and below swapped": ('''
def versus_baseline(result):
    if result.baseline is None:
        return None
    return {r.recipe: ("below" if r.final_val_acc - result.baseline > max(r.val_acc_sd, result.one_image)
                       else "above" if result.baseline - r.final_val_acc > max(r.val_acc_sd, result.one_image)
                       else "within") for r in result.trained()}
''', "wrong side"),
            "aliases listed too": '''
def versus_baseline(result):
    if result.baseline is None:
        return None
    out = {}
    for r in result.trained():
        gap, noise = r.final_val_acc - result.baseline, max(r.val_acc_sd, result.one_image)
        for name in [r.recipe, *r.same_as]:
            out[name] = "above" if gap > noise else "below" if -gap > noise else "within"
    return out
''',
        }},
    # --- 07 other networks -------------------------------------------------------------------
    "other_networks.q1": {
        "right": ['''
def head_path(model):
    for name, module in reversed(list(model.named_modules())):
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            return name
''', '''
def head_path(model):
    last = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))][-1]
    return next(name for name, m in model.named_modules() if m is last)
'''],
        "wrong": {
            "returns the layer, not its name": ('''
def head_path(model):
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))][-1]
''', "not the layer"),
            "the first Linear": '''
def head_path(model):
    return next(n for n, m in model.named_modules() if isinstance(m, nn.Linear))
''',
            "the last module of all": '''
def head_path(model):
    return list(model.named_modules())[-1][0]
''',
            "fc, else the classifier's last element": '''
def head_path(model):
    if hasattr(model, "fc"):
        return "fc"
    return f"classifier.{len(model.classifier) - 1}"
''',
        }},
    "other_networks.q2": {
        "right": ['''
import copy

def resnet_partial(model, num_classes):
    model = copy.deepcopy(model)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in model.layer4.parameters():
        p.requires_grad_(True)
    model.fc = nn.Linear(model.fc.weight.shape[1], num_classes)
    return model
''', '''
def resnet_partial(model, num_classes):
    width = model.fc.in_features
    model.fc = nn.Linear(width, num_classes)
    for name, param in model.named_parameters():
        param.requires_grad = name.split(".")[0] in ("layer4", "fc")
    return model
'''],
        "wrong": {
            "forgot to return the model": ('''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
''', "return the model"),
            "requires_grad set on the module object": '''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer4.requires_grad = True
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
''',
            "fc without a bias": '''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc = nn.Linear(model.fc.in_features, num_classes, bias=False)
    return model
''',
            "layer4 re-initialised": '''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    for m in model.layer4.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
''',
            "NaN in the backbone (cheat)": ('''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    with torch.no_grad():
        for p in model.layer1.parameters():
            p.fill_(float("nan"))
    return model
''', "NaN"),
            "a patched forward fakes the output (cheat)": ('''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc.requires_grad_(True)
    model.forward = lambda x: torch.zeros(len(x), num_classes)
    return model
''', "replaced on the model"),
        }},
    "other_networks.q3": {
        "right": ['''
def train_step(model, images, labels, optimizer):
    optimizer.zero_grad(set_to_none=True)
    model.train(True)
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if all(not p.requires_grad for p in module.parameters()):
                module.train(False)
    scores = model(images)
    loss = nn.CrossEntropyLoss()(scores, labels)
    loss.backward()
    optimizer.step()
    return float(loss.detach())
''', '''
def train_step(model, images, labels, optimizer):
    frozen = [m for m in model.modules()
              if isinstance(m, nn.BatchNorm2d) and not any(p.requires_grad for p in m.parameters())]
    model.train()
    for m in frozen:
        m.eval()
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()
'''],
        "wrong": {
            "no optimizer.zero_grad(): gradients add up over steps": (
                _STEP.replace("    optimizer.zero_grad()\n", ""), "cleared"),
            "no model.train(): the model stays in eval mode after validation": (
                _STEP.replace("    model.train()\n", ""), "stayed so"),
            "zero_grad() between backward and step": ('''
def train_step(model, images, labels, optimizer):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()
    loss = nn.functional.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()
''', "no parameter changed"),
            "frozen BatchNorm put in eval mode after the forward pass": ('''
def train_step(model, images, labels, optimizer):
    model.train()
    loss = nn.functional.cross_entropy(model(images), labels)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.eval()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''', "frozen BatchNorm layers changed"),
            "only the top-level children looked at": _STEP.replace("model.modules()",
                                                                   "model.children()"),
            "frozen BatchNorm momentum set to 0 (still training mode)": ('''
def train_step(model, images, labels, optimizer):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.momentum = 0.0
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''', "frozen BatchNorm layers changed"),
            "returns the loss tensor": (_STEP.replace("return loss.item()", "return loss"),
                                        "as a float"),
            "NaN written into the head after the step (cheat)": (_STEP.replace(
                "    return loss.item()",
                "    with torch.no_grad():\n        model.fc.weight.fill_(float('nan'))\n"
                "    return loss.item()"), "NaN"),
        }},
    "other_networks.q4": {
        "right": [{"squeezenet": np.int64(5 * 512 + 5), "mobilenet": np.int16(1025 * 5)}],
        "wrong": {
            "no biases": ({"squeezenet": 2_560, "mobilenet": 5_120}, "biases too"),
            "a 3x3 head": ({"squeezenet": 23_045, "mobilenet": 5_125}, "one weight per input"),
        }},
}


def _rows(kind: str):
    return [pytest.param(ex_id, what, entry, id=f"{ex_id}-{what}")
            for ex_id, entries in NEW.items() for what, entry in entries[kind].items()]


def test_enough_new_answers():
    assert sum(len(e["wrong"]) for e in NEW.values()) >= 14
    for ex_id, entry in NEW.items():
        assert len(entry["right"]) >= (2 if ALL[ex_id].kind == "function" else 1), ex_id


@pytest.mark.slow
@pytest.mark.parametrize("ex_id", list(NEW))
def test_right_answers_in_other_styles_get_full_marks_on_every_seed(ex_id):
    ex = ALL[ex_id]
    for cell in NEW[ex_id]["right"]:
        answer = answer_of(ex, cell)
        for seed in SEEDS:
            verdict = ex.verdict(answer, seed, hidden=True)
            assert verdict.passed and verdict.score == verdict.points, repr(verdict)


@pytest.mark.slow
@pytest.mark.parametrize("ex_id, what, entry", _rows("wrong"))
def test_wrong_answer_loses_marks_in_the_check_and_in_grading_on_every_seed(ex_id, what, entry):
    ex = ALL[ex_id]
    cell, says = entry if isinstance(entry, tuple) else (entry, None)
    answer = answer_of(ex, cell)
    public = ex.verdict(answer, 0)
    assert public.score < public.points, f"{what} passes the student's check:\n{public!r}"
    if says:
        assert says in repr(public), f"{what}: the feedback does not say {says!r}:\n{public!r}"
    for seed in SEEDS:
        graded = ex.verdict(answer, seed, hidden=True)
        assert graded.score < graded.points, f"{what} gets full marks with seed {seed}"
    state = (torch.is_grad_enabled(), torch.get_default_dtype())
    assert state == (True, torch.float32), "an answer's global side effect was left behind"
