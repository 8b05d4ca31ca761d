"""The catalogue of answers: plausible wrong ones never get full marks, right ones always do.

Each exercise lists the reference answer (its solution cell), at least one right answer in
another style, and at least three wrong answers of the kinds students hand in, written as
the cells they would write. Right answers must pass on five seeds with the hidden cases;
wrong answers must score below full marks both in the student's own check (public cases,
seed 0) and in the instructor's grading (hidden cases included, five seeds).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgg_course import exercises
from vgg_course.exercises import core

ALL = {ex.id: ex for name in exercises.MODULES for ex in exercises.exercises(name)}
SEEDS = range(5)  # "on any seed": every wrong answer below full marks on each of five

# id -> {"right": [cells], "wrong": {what: cell}}; a cell is source code that defines the
# exercise's answer name, or for predictions the dict itself.
CATALOGUE: dict[str, dict] = {
    # --- 02 state_dict ---------------------------------------------------------------------
    "state_dict.q1": {
        "right": [{"state_dict_entries": np.int64(62), "parameters": torch.tensor(38)}],
        "wrong": {
            "parameters only": {"state_dict_entries": 38, "parameters": 38},
            "buffers counted as parameters": {"state_dict_entries": 62, "parameters": 62},
            "forgot num_batches_tracked": {"state_dict_entries": 54, "parameters": 38},
            "BatchNorm has no parameters": {"state_dict_entries": 62, "parameters": 22},
        }},
    "state_dict.q2": {
        "right": ['''
def module_of(model, key):
    module = model
    for name in key.split(".")[:-1]:
        module = getattr(module, name)
    return module
'''],
        "wrong": {
            "the top-level section": '''
def module_of(model, key):
    return getattr(model, key.split(".")[0])
''',
            "two levels, as in VGG": '''
def module_of(model, key):
    section, index, _ = key.split(".", 2)
    return getattr(model, section)[int(index)]
''',
            "returns the tensor": '''
def module_of(model, key):
    return model.get_parameter(key)
''',
            "strips '.weight' only": '''
def module_of(model, key):
    return model.get_submodule(key.removesuffix(".weight"))
''',
        }},
    "state_dict.q3": {
        "right": ['''
from collections import defaultdict

def section_sizes(model):
    sizes = defaultdict(int, {name: 0 for name, _ in model.named_children()})
    for name, param in model.named_parameters():
        sizes[name.split(".")[0]] += param.numel()
    return dict(sizes)
'''],
        "wrong": {
            "counts the state_dict (buffers too)": '''
def section_sizes(model):
    return {n: sum(t.numel() for t in c.state_dict().values()) for n, c in model.named_children()}
''',
            "trainable only": '''
def section_sizes(model):
    return {n: sum(p.numel() for p in c.parameters() if p.requires_grad)
            for n, c in model.named_children()}
''',
            "counts tensors": '''
def section_sizes(model):
    return {n: len(list(c.parameters())) for n, c in model.named_children()}
''',
            "skips children without parameters": '''
def section_sizes(model):
    sizes = {n: sum(p.numel() for p in c.parameters()) for n, c in model.named_children()}
    return {n: v for n, v in sizes.items() if v}
''',
        }},
    # --- 03 freezing -----------------------------------------------------------------------
    "freezing.q1": {
        "right": ['''
def freeze_features(model):
    model.features.requires_grad_(False)
'''],
        "wrong": {
            "removes the features (known cheat)": '''
def freeze_features(model):
    model.features = nn.Sequential()
''',
            "eval() instead of freezing": '''
def freeze_features(model):
    model.features.eval()
''',
            "freezes the whole model": '''
def freeze_features(model):
    for p in model.parameters():
        p.requires_grad = False
''',
            "typo: requires_grad_ = False": '''
def freeze_features(model):
    for p in model.features.parameters():
        p.requires_grad_ = False
''',
            "weights only": '''
def freeze_features(model):
    for name, p in model.features.named_parameters():
        if name.endswith("weight"):
            p.requires_grad = False
''',
        }},
    "freezing.q2": {
        "right": ['''
def count_trainable(model):
    total = 0
    for _, param in model.named_parameters():
        if param.requires_grad:
            total += param.numel()
    return total
''', '''
def count_trainable(model):
    return vc.freezing.trainable_count(model)
'''],
        "wrong": {
            "counts frozen ones too": '''
def count_trainable(model):
    return sum(p.numel() for p in model.parameters())
''',
            "counts tensors": '''
def count_trainable(model):
    return sum(1 for p in model.parameters() if p.requires_grad)
''',
            "returns a float": '''
def count_trainable(model):
    return float(sum(p.numel() for p in model.parameters() if p.requires_grad))
''',
            "counts the frozen ones": '''
def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)
''',
            "state_dict entries (detached: never require grad)": '''
def count_trainable(model):
    return sum(t.numel() for t in model.state_dict().values())
''',
        },
        "hidden_only": {  # passes every public case; the hidden shared-weight case catches it
            "shared tensors counted twice": '''
def count_trainable(model):
    return sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False)
               if p.requires_grad)
''',
        }},
    "freezing.q3": {
        "right": [{"trainable": 6960 + 12917, "first_conv_grad": " none ", "tensors_with_grad": 12}],
        "wrong": {
            "conv5 frozen too": {"trainable": 12917, "first_conv_grad": "None", "tensors_with_grad": 12},
            "a zero gradient": {"trainable": 19877, "first_conv_grad": "zeros", "tensors_with_grad": 12},
            "everything counted": {"trainable": 27467, "first_conv_grad": "None", "tensors_with_grad": 32},
            "weights only": {"trainable": 19877, "first_conv_grad": "None", "tensors_with_grad": 6},
        }},
    # --- 04 transfer learning ---------------------------------------------------------------
    "transfer_learning.q1": {
        "right": [{"resnet_trainable": 2_565, "vgg_total": 138_357_544 - 4_097_000 + 40_970}],
        "wrong": {
            "no bias": {"resnet_trainable": 2_560, "vgg_total": 134_301_514 - 10},
            "VGG's width for ResNet": {"resnet_trainable": 20_485, "vgg_total": 134_301_514},
            "old head still counted": {"resnet_trainable": 2_565, "vgg_total": 138_357_544},
            "trainable instead of total": {"resnet_trainable": 2_565, "vgg_total": 40_970},
        }},
    "transfer_learning.q2": {
        "right": ['''
def transfer_model(model, num_classes):
    model.requires_grad_(False)
    model.classifier[6] = nn.Linear(model.classifier[3].out_features, num_classes)
    return model
''', '''
def transfer_model(model, num_classes):
    return vc.recipes.apply("transfer_learning", model, num_classes)
'''],
        "wrong": {
            "the buggy code as given": '''
def transfer_model(model, num_classes):
    model.classifier[6] = nn.Linear(4096, num_classes)
    for param in model.parameters():
        param.requires_grad = False
    return model
''',
            "order fixed, 4096 kept": '''
def transfer_model(model, num_classes):
    for param in model.parameters():
        param.requires_grad = False
    model.classifier[6] = nn.Linear(4096, num_classes)
    return model
''',
            "a new head that is itself frozen (known cheat)": '''
def transfer_model(model, num_classes):
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    model.requires_grad_(False)
    return model
''',
            "a whole new classifier": '''
def transfer_model(model, num_classes):
    model.requires_grad_(False)
    width = model.classifier[0].in_features
    hidden = model.classifier[0].out_features
    model.classifier = nn.Sequential(
        nn.Linear(width, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(),
        nn.Linear(hidden, num_classes))
    model.classifier[6].requires_grad_(True)
    return model
''',
            "nothing frozen": '''
def transfer_model(model, num_classes):
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model
''',
        }},
    "transfer_learning.q3": {
        "right": ['''
from torchvision.transforms._presets import ImageClassification

def eval_preprocess(weights, image_size):
    preset = weights.transforms()
    return ImageClassification(crop_size=image_size, resize_size=image_size,
                               mean=preset.mean, std=preset.std)
''', '''
def eval_preprocess(weights, image_size):
    return weights.transforms(crop_size=image_size, resize_size=image_size)
'''],
        "wrong": {
            "the buggy code as given": '''
from torchvision import transforms

def eval_preprocess(weights, image_size):
    return transforms.Compose([
        transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor(),
        transforms.Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])])
''',
            "ImageNet numbers typed in": '''
from torchvision import transforms

def eval_preprocess(weights, image_size):
    return transforms.Compose([
        transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
''',
            "the weights' transforms at their own size": '''
def eval_preprocess(weights, image_size):
    return weights.transforms()
''',
            "mean used as std": '''
from torchvision import transforms

def eval_preprocess(weights, image_size):
    preset = weights.transforms()
    return transforms.Compose([
        transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor(),
        transforms.Normalize(mean=preset.mean, std=preset.mean)])
''',
        }},
    # --- 05 fine-tuning ----------------------------------------------------------------------
    "fine_tuning.q1": {
        "right": ['''
def unfreeze_last_block(model):
    start = 0
    for i, layer in enumerate(model.features):
        if isinstance(layer, nn.MaxPool2d) and i != len(model.features) - 1:
            start = i + 1
    for param in model.features[start:].parameters():
        param.requires_grad = True
'''],
        "wrong": {
            "VGG16's index hard-coded": '''
def unfreeze_last_block(model):
    for p in model.features[24:].parameters():
        p.requires_grad = True
''',
            "after the very last pool": '''
def unfreeze_last_block(model):
    pools = [i for i, m in enumerate(model.features) if isinstance(m, nn.MaxPool2d)]
    model.features[pools[-1] + 1:].requires_grad_(True)
''',
            "all of features": '''
def unfreeze_last_block(model):
    model.features.requires_grad_(True)
''',
            "the classifier too": '''
def unfreeze_last_block(model):
    pools = [i for i, m in enumerate(model.features[:-1]) if isinstance(m, nn.MaxPool2d)]
    model.features[pools[-1] + 1:].requires_grad_(True)
    model.classifier.requires_grad_(True)
''',
            "the last conv only": '''
def unfreeze_last_block(model):
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    convs[-1].requires_grad_(True)
''',
        }},
    "fine_tuning.q2": {
        "right": ['''
def param_groups(model, base_lr):
    slow, fast = [], []
    for name, p in model.named_parameters():
        if p.requires_grad and name.startswith("features."):
            slow.append(p)
        elif p.requires_grad and name.startswith("classifier."):
            fast.append(p)
    return [{"params": fast, "lr": base_lr}, {"params": slow, "lr": base_lr * 0.1}]
'''],
        "wrong": {
            "one group": '''
def param_groups(model, base_lr):
    return [{"params": [p for p in model.parameters() if p.requires_grad]}]
''',
            "rates swapped": '''
def param_groups(model, base_lr):
    return [{"params": [p for p in model.features.parameters() if p.requires_grad], "lr": base_lr},
            {"params": [p for p in model.classifier.parameters() if p.requires_grad],
             "lr": base_lr / 10}]
''',
            "frozen ones included": '''
def param_groups(model, base_lr):
    return [{"params": list(model.features.parameters()), "lr": base_lr / 10},
            {"params": list(model.classifier.parameters()), "lr": base_lr}]
''',
            "features at base_lr / 100": '''
def param_groups(model, base_lr):
    return [{"params": [p for p in model.features.parameters() if p.requires_grad],
             "lr": base_lr / 100},
            {"params": [p for p in model.classifier.parameters() if p.requires_grad], "lr": base_lr}]
''',
        }},
    "fine_tuning.q3": {
        "right": ['''
def setup_partial_finetune(model, lr):
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                lr=lr, momentum=0.9)
    block = list(model.features[24:].parameters())
    for param in block:
        param.requires_grad = True
    optimizer.add_param_group({"params": block})
    return optimizer
'''],
        "wrong": {
            "the buggy code as given": '''
def setup_partial_finetune(model, lr):
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                lr=lr, momentum=0.9)
    for param in model.features[24:].parameters():
        param.requires_grad = True
    return optimizer
''',
            "every parameter in the optimizer": '''
def setup_partial_finetune(model, lr):
    for param in model.features[24:].parameters():
        param.requires_grad = True
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
''',
            "all of features unfrozen": '''
def setup_partial_finetune(model, lr):
    model.features.requires_grad_(True)
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=0.9)
''',
            "momentum dropped": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
''',
            "the block only": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    return torch.optim.SGD(model.features[24:].parameters(), lr=lr, momentum=0.9)
''',
        }},
    "fine_tuning.q4": {
        "right": [{"sgd_momentum": 3 * 4, "adamw": np.int32(16), "frozen": 4}],
        "wrong": {
            "no momentum buffer": {"sgd_momentum": 8, "adamw": 12, "frozen": 4},
            "frozen costs nothing": {"sgd_momentum": 12, "adamw": 16, "frozen": 0},
            "frozen keeps a gradient": {"sgd_momentum": 12, "adamw": 16, "frozen": 8},
            "weights only": {"sgd_momentum": 4, "adamw": 4, "frozen": 4},
        }},
    "fine_tuning.q5": {
        "right": [{"running_mean": " Changes", "bn_weight": "STAYS", "after_eval": "stays"}],
        "wrong": {
            "frozen means nothing moves": {"running_mean": "stays", "bn_weight": "stays",
                                           "after_eval": "stays"},
            "everything in BatchNorm moves in train mode": {
                "running_mean": "changes", "bn_weight": "changes", "after_eval": "stays"},
            "eval() changes nothing for BatchNorm": {
                "running_mean": "changes", "bn_weight": "stays", "after_eval": "changes"},
        }},
    "fine_tuning.q6": {
        "right": [{"loss_after": "Lower", "frozen_in_optimizer": " stays ",
                   "grad_after_zero_grad": "none"}],
        "wrong": {
            "zero_grad fills zeros": {"loss_after": "lower", "frozen_in_optimizer": "stays",
                                      "grad_after_zero_grad": "zeros"},
            "weight decay moves a frozen weight": {"loss_after": "lower",
                                                   "frozen_in_optimizer": "changes",
                                                   "grad_after_zero_grad": "None"},
            "one step makes no difference": {"loss_after": "same", "frozen_in_optimizer": "stays",
                                             "grad_after_zero_grad": "None"},
        }},
    # --- 06 comparison lab ---------------------------------------------------------------------
    "comparison_lab.q1": {
        "right": ['''
def clearly_better(results, a, b):
    for row in results:
        if row["recipe"] == a:
            first = row
        if row["recipe"] == b:
            second = row
    spread = first["val_acc_sd"] + second["val_acc_sd"]
    return bool(first["final_val_acc"] - second["final_val_acc"] > spread)
'''],
        "wrong": {
            "means only": '''
def clearly_better(results, a, b):
    row = {r["recipe"]: r for r in results}
    return row[a]["final_val_acc"] > row[b]["final_val_acc"]
''',
            "either direction": '''
def clearly_better(results, a, b):
    row = {r["recipe"]: r for r in results}
    gap = abs(row[a]["final_val_acc"] - row[b]["final_val_acc"])
    return gap > row[a]["val_acc_sd"] + row[b]["val_acc_sd"]
''',
            "the larger spread only": '''
def clearly_better(results, a, b):
    row = {r["recipe"]: r for r in results}
    gap = row[a]["final_val_acc"] - row[b]["final_val_acc"]
    return gap > max(row[a]["val_acc_sd"], row[b]["val_acc_sd"])
''',
            "rows by position (the table's order)": '''
def clearly_better(results, a, b):
    names = [r["recipe"] for r in ex.LAB_RESULTS]
    first, second = results[names.index(a)], results[names.index(b)]
    return first["final_val_acc"] - second["final_val_acc"] > first["val_acc_sd"] + second["val_acc_sd"]
''',
        }},
    "comparison_lab.q2": {
        "right": ['''
def fastest_within(results, tolerance):
    best = max(r["final_val_acc"] for r in results)
    for row in sorted(results, key=lambda r: r["total_s"]):
        if row["final_val_acc"] >= best - tolerance:
            return row["recipe"]
'''],
        "wrong": {
            "ranks by trainable parameters (known cheat)": '''
def fastest_within(results, tolerance):
    best = max(r["final_val_acc"] for r in results)
    close = [r for r in results if best - r["final_val_acc"] <= tolerance]
    return min(close, key=lambda r: r["trainable_params"])["recipe"]
''',
            "the most accurate": '''
def fastest_within(results, tolerance):
    return max(results, key=lambda r: r["final_val_acc"])["recipe"]
''',
            "the fastest, ignoring accuracy": '''
def fastest_within(results, tolerance):
    return min(results, key=lambda r: r["total_s"])["recipe"]
''',
            "strictly closer than the tolerance": '''
def fastest_within(results, tolerance):
    best = max(r["final_val_acc"] for r in results)
    close = [r for r in results if best - r["final_val_acc"] < tolerance]
    return min(close, key=lambda r: r["total_s"])["recipe"]
''',
            "the lab's answer memorised": '''
def fastest_within(results, tolerance):
    return "transfer_learning" if tolerance >= 0.02 else "finetune_pretrained_classifier"
''',
        }},
    "comparison_lab.q3": {
        "right": ['''
def evaluate(model, loader):
    mode = model.training
    model.train(False)
    hits, seen = 0, 0
    with torch.inference_mode():
        for images, labels in loader:
            hits += int((model(images).argmax(dim=1) == labels).sum())
            seen += len(labels)
    model.train(mode)
    return hits / seen
'''],
        "wrong": {
            "the buggy code as given": '''
def evaluate(model, loader):
    correct = 0
    for images, labels in loader:
        correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)
''',
            "eval() but autograd on": '''
def evaluate(model, loader):
    model.eval()
    correct = 0
    for images, labels in loader:
        correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)
''',
            "no_grad() but training mode": '''
def evaluate(model, loader):
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)
''',
            "model.eval without calling it": '''
def evaluate(model, loader):
    model.eval
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
    return correct / len(loader.dataset)
''',
            "mean of per-batch accuracies": '''
def evaluate(model, loader):
    model.eval()
    accs = []
    with torch.no_grad():
        for images, labels in loader:
            accs.append((model(images).argmax(1) == labels).float().mean().item())
    return sum(accs) / len(accs)
''',
        }},
    "comparison_lab.q4": {
        "right": [{"fewest": " Transfer_Learning ", "same_as_full": "from_scratch",
                   "conv5": 3 * (512 * 512 * 9 + 512)}],
        "wrong": {
            "partial = full": {"fewest": "transfer_learning", "same_as_full": "partial_finetune",
                               "conv5": 7_079_424},
            "no biases": {"fewest": "transfer_learning", "same_as_full": "from_scratch",
                          "conv5": 7_077_888},
            "one conv": {"fewest": "transfer_learning", "same_as_full": "from_scratch",
                         "conv5": 2_359_808},
            "a classifier recipe": {"fewest": "finetune_new_classifier",
                                    "same_as_full": "from_scratch", "conv5": 7_079_424},
        }},
    "comparison_lab.q5": {
        "right": ['''
def clear_winner(result):
    return result.best().recipe if len(result.tied_with_best()) == 1 else None
''', '''
def clear_winner(result):
    rows = [r for r in result.rows if not r["failure"]]
    rows.sort(key=lambda r: r["final_val_acc"], reverse=True)
    best = rows[0]
    for other in rows[1:]:
        gap = best["final_val_acc"] - other["final_val_acc"]
        if gap <= max(best["val_acc_sd"] + other["val_acc_sd"], 1 / result.n_val):
            return None
    return best["recipe"]
'''],
        "wrong": {
            "the best, always": '''
def clear_winner(result):
    return max(result.trained(), key=lambda r: r.final_val_acc).recipe
''',
            "compares with the runner-up only": '''
def clear_winner(result):
    ranked = sorted(result.trained(), key=lambda r: r.final_val_acc, reverse=True)
    return ranked[0].recipe if result.differs(ranked[0].recipe, ranked[1].recipe) else None
''',
            "failed recipes counted": '''
def clear_winner(result):
    best = max(result.results, key=lambda r: r.final_val_acc)
    others = [r for r in result.results if r is not best]
    return best.recipe if all(result.differs(best.recipe, r.recipe) for r in others) else None
''',
            "no one-image floor": '''
def clear_winner(result):
    trained = [r for r in result.results if not r.failure]
    best = max(trained, key=lambda r: r.final_val_acc)
    for r in trained:
        if r is not best and best.final_val_acc - r.final_val_acc <= best.val_acc_sd + r.val_acc_sd:
            return None
    return best.recipe
''',
        }},
    "comparison_lab.q6": {
        "right": ['''
import math

def read_gap(result, a, b):
    ra, rb = result.result(a), result.result(b)
    gap = abs(ra.final_val_acc - rb.final_val_acc)
    seeds = ra.val_acc_sd + rb.val_acc_sd
    se = [math.sqrt(r.final_val_acc * (1 - r.final_val_acc) / result.n_val) for r in (ra, rb)]
    return {"beyond_noise": gap > max(seeds, result.one_image),
            "bigger_noise": "sampling" if sum(se) > seeds else "seeds"}
'''],
        "wrong": {
            "the standard error counted on n_train": '''
def read_gap(result, a, b):
    ra, rb = result.result(a), result.result(b)
    seeds = ra.val_acc_sd + rb.val_acc_sd
    se = sum((r.final_val_acc * (1 - r.final_val_acc) / result.n_train) ** 0.5 for r in (ra, rb))
    return {"beyond_noise": result.differs(a, b), "bigger_noise": "sampling" if se > seeds else "seeds"}
''',
            "sqrt(p(1-p)) / n": '''
def read_gap(result, a, b):
    ra, rb = result.result(a), result.result(b)
    seeds = ra.val_acc_sd + rb.val_acc_sd
    se = sum((r.final_val_acc * (1 - r.final_val_acc)) ** 0.5 / result.n_val for r in (ra, rb))
    return {"beyond_noise": result.differs(a, b), "bigger_noise": "sampling" if se > seeds else "seeds"}
''',
            "always the seeds": '''
def read_gap(result, a, b):
    return {"beyond_noise": result.differs(a, b), "bigger_noise": "seeds"}
''',
        }},
    "comparison_lab.q7": {
        "right": ['''
def scratch_vs_majority(result):
    row = next((r for r in result.rows if r["recipe"] == "from_scratch"), None)
    if row is None or row["failure"]:
        return None
    noise = max(row["val_acc_sd"], 1 / result.n_val)
    if row["final_val_acc"] > result.majority_share + noise:
        return "above"
    if row["final_val_acc"] < result.majority_share - noise:
        return "below"
    return "within"
'''],
        "wrong": {
            "no noise at all": '''
def scratch_vs_majority(result):
    try:
        r = result.result("from_scratch")
    except KeyError:
        return None
    if r.failure:
        return None
    gap = r.final_val_acc - result.majority_share
    return "above" if gap > 0 else "below" if gap < 0 else "within"
''',
            "the seed spread without the one-image floor": '''
def scratch_vs_majority(result):
    try:
        r = result.result("from_scratch")
    except KeyError:
        return None
    if r.failure:
        return None
    gap = r.final_val_acc - result.majority_share
    return "above" if gap > r.val_acc_sd else "below" if -gap > r.val_acc_sd else "within"
''',
            "a failed from scratch read anyway": '''
def scratch_vs_majority(result):
    try:
        r = result.result("from_scratch")
    except KeyError:
        return None
    gap, noise = r.final_val_acc - result.majority_share, max(r.val_acc_sd, result.one_image)
    return "above" if gap > noise else "below" if -gap > noise else "within"
''',
        }},
    "comparison_lab.q8": {
        "right": ['''
def versus_baseline(result):
    if result.baseline is None:
        return None
    words = {}
    for row in result.rows:
        if row["failure"] is None:
            gap = row["final_val_acc"] - result.baseline
            noise = max(row["val_acc_sd"], result.one_image)
            words[row["recipe"]] = ("within" if abs(gap) <= noise else
                                    "above" if gap > 0 else "below")
    return words
'''],
        "wrong": {
            "against each recipe's own untrained accuracy": '''
def versus_baseline(result):
    if result.baseline is None:
        return None
    words = {}
    for r in result.trained():
        gap, noise = r.final_val_acc - r.untrained_val_acc, max(r.val_acc_sd, result.one_image)
        words[r.recipe] = "above" if gap > noise else "below" if -gap > noise else "within"
    return words
''',
            "failed recipes kept": '''
def versus_baseline(result):
    if result.baseline is None:
        return None
    return {r.recipe: ("above" if r.final_val_acc - result.baseline > max(r.val_acc_sd, result.one_image)
                       else "below" if result.baseline - r.final_val_acc > max(r.val_acc_sd, result.one_image)
                       else "within") for r in result.results}
''',
            "an empty dict without a baseline": '''
def versus_baseline(result):
    words = {}
    if result.baseline is not None:
        for r in result.trained():
            gap, noise = r.final_val_acc - result.baseline, max(r.val_acc_sd, result.one_image)
            words[r.recipe] = "above" if gap > noise else "below" if -gap > noise else "within"
    return words
''',
            "no one-image floor": '''
def versus_baseline(result):
    if result.baseline is None:
        return None
    return {r.recipe: ("above" if r.final_val_acc - result.baseline > r.val_acc_sd
                       else "below" if result.baseline - r.final_val_acc > r.val_acc_sd
                       else "within") for r in result.trained()}
''',
        }},
    # --- 07 other networks ---------------------------------------------------------------------
    "other_networks.q1": {
        "right": ['''
def head_path(model):
    found = None
    for name, module in model.named_modules():
        if any(True for _ in module.parameters(recurse=False)):
            found = name
    return found
'''],
        "wrong": {
            "a lookup table by class name (known cheat)": '''
def head_path(model):
    return {"VGG": "classifier.6", "ResNet": "fc", "SqueezeNet": "classifier.1"}[type(model).__name__]
''',
            "VGG16's path always": '''
def head_path(model):
    return "classifier.6"
''',
            "the last Linear only": '''
def head_path(model):
    return [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
''',
            "the last child": '''
def head_path(model):
    return list(model.named_children())[-1][0]
''',
        }},
    "other_networks.q2": {
        "right": ['''
def resnet_partial(model, num_classes):
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith("layer4.")
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
'''],
        "wrong": {
            "512 hard-coded": '''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    model.fc = nn.Linear(512, num_classes)
    return model
''',
            "layer4 forgotten": '''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
''',
            "the new fc frozen afterwards": '''
def resnet_partial(model, num_classes):
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    model.requires_grad_(False)
    model.layer4.requires_grad_(True)
    return model
''',
            "layer3 too": '''
def resnet_partial(model, num_classes):
    model.requires_grad_(False)
    model.layer3.requires_grad_(True)
    model.layer4.requires_grad_(True)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
''',
        }},
    "other_networks.q3": {
        "right": ['''
def train_step(model, images, labels, optimizer):
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not module.weight.requires_grad:
            module.train(False)
    optimizer.zero_grad()
    loss = nn.CrossEntropyLoss()(model(images), labels)
    loss.backward()
    optimizer.step()
    return float(loss)
'''],
        "wrong": {
            "the buggy code as given": '''
def train_step(model, images, labels, optimizer):
    model.train()
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
            "the whole model in eval mode": '''
def train_step(model, images, labels, optimizer):
    model.eval()
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
            "every BatchNorm in eval mode": '''
def train_step(model, images, labels, optimizer):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
            "BatchNorm parameters frozen (again)": '''
def train_step(model, images, labels, optimizer):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.requires_grad_(False)
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
            "stop tracking running stats": '''
def train_step(model, images, labels, optimizer):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not m.weight.requires_grad:
            m.track_running_stats = False
    loss = nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        }},
    "other_networks.q4": {
        "right": [{"squeezenet": 512 * 5 + 5, "mobilenet": np.int64(5125)}],
        "wrong": {
            "two classes, not five": {"squeezenet": 1_026, "mobilenet": 2_562},
            "swapped": {"squeezenet": 5_125, "mobilenet": 2_565},
            "1000 classes": {"squeezenet": 513_000, "mobilenet": 1_025_000},
        }},
}


def answer_of(ex: core.Exercise, cell: object) -> object:
    """A catalogue cell as the student's answer: run code in a notebook-like namespace."""
    if not isinstance(cell, str):
        return cell
    namespace = {"ex": exercises.load(ex.lesson)}
    exec(core.SETUP_IMPORTS, namespace)  # noqa: S102
    exec(cell, namespace)  # noqa: S102
    return namespace[ex.answer]


def _rows(kind: str):
    return [pytest.param(ex_id, what, cell, id=f"{ex_id}-{what}")
            for ex_id, entry in CATALOGUE.items() for what, cell in entry.get(kind, {}).items()]


def test_the_catalogue_covers_every_exercise_with_enough_answers():
    assert set(CATALOGUE) == set(ALL)
    for ex_id, entry in CATALOGUE.items():
        assert len(entry["wrong"]) >= 3, ex_id
        assert len(entry["right"]) >= 1, ex_id
    assert sum(len(e["wrong"]) + len(e.get("hidden_only", {})) for e in CATALOGUE.values()) >= 3 * len(ALL)


@pytest.mark.slow  # five seeds each: the whole catalogue takes minutes
@pytest.mark.parametrize("ex_id", list(CATALOGUE))
def test_reference_and_other_right_answers_get_full_marks(ex_id):
    ex = ALL[ex_id]
    for answer in [ex.reference()] + [answer_of(ex, c) for c in CATALOGUE[ex_id]["right"]]:
        for seed in SEEDS:
            verdict = ex.verdict(answer, seed, hidden=True)
            assert verdict.passed and verdict.score == verdict.points, repr(verdict)


@pytest.mark.slow  # five seeds each: the whole catalogue takes minutes
@pytest.mark.parametrize("ex_id, what, cell", _rows("wrong"))
def test_wrong_answer_gets_less_than_full_marks(ex_id, what, cell):
    ex = ALL[ex_id]
    answer = answer_of(ex, cell)
    public = ex.verdict(answer, 0)
    assert public.score < public.points, f"{what} passes the student's check:\n{public!r}"
    assert public.status in ("partial", "failed")
    for seed in SEEDS:
        graded = ex.verdict(answer, seed, hidden=True)
        assert graded.score < graded.points, f"{what} gets full marks with seed {seed}"


@pytest.mark.slow  # five seeds each: the whole catalogue takes minutes
@pytest.mark.parametrize("ex_id, what, cell", _rows("hidden_only"))
def test_wrong_answer_that_only_hidden_cases_catch(ex_id, what, cell):
    ex = ALL[ex_id]
    answer = answer_of(ex, cell)
    graded = ex.verdict(answer, 0, hidden=True)
    assert graded.score < graded.points and not all(p.passed for p in graded.parts if p.hidden)
