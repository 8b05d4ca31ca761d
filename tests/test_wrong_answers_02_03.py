"""More answers for lessons 02 and 03: each kind of plausible wrong answer fails on every seed.

The kinds of issue 18: a model changed in place when the task says to only look (or to
change only ``requires_grad``), tied weights counted or found wrongly, layers frozen in odd
places before the call, BatchNorm buffers, methods patched on the instance, NaN weights,
global state left changed, wrong key parsing; and right answers in other styles (recursion,
comprehensions, ``get_submodule``, explicit loops), which must keep full marks. Each wrong
answer must lose marks in the student's check (public cases) and in grading (hidden cases
too) on seeds 0 to 4, and its feedback must name the mistake where ``says`` is given.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from test_wrong_answers import ALL, answer_of

SEEDS = range(5)

# id -> {"right": [cells], "wrong": {what: cell or (cell, what the feedback says)}}
NEW: dict[str, dict] = {
    "state_dict.q1": {
        "right": [{"state_dict_entries": torch.tensor(8 * 2 + 8 * 5 + 3 * 2),
                   "parameters": np.int32(8 * 2 + 8 * 2 + 3 * 2)}],
        "wrong": {
            "BatchNorm's weight and bias left out of the state_dict":
                ({"state_dict_entries": 46, "parameters": 38}, "weight and bias are in"),
            "weights only": ({"state_dict_entries": 62, "parameters": 19}, "AND a bias"),
        }},
    "state_dict.q2": {
        "right": ['''
def module_of(model, key):
    return dict(model.named_modules())[key.rpartition(".")[0]]
''', '''
def module_of(model, key):
    head, dot, rest = key.partition(".")
    if not dot:
        return model
    return module_of(getattr(model, head), rest)
'''],
        "wrong": {
            "found by its tensor: a shared weight gives the other layer": ('''
def module_of(model, key):
    tensor = model.state_dict(keep_vars=True)[key]
    for module in model.modules():
        own = list(module.parameters(recurse=False)) + list(module.buffers(recurse=False))
        if any(t is tensor for t in own):
            return module
''', "shared"),
            "strips '.weight' and '.bias': buffers keep their name": '''
def module_of(model, key):
    return model.get_submodule(key.removesuffix(".weight").removesuffix(".bias"))
''',
            "the first two names of the key (VGG's depth)": ('''
def module_of(model, key):
    return model.get_submodule(".".join(key.split(".")[:2]))
''', "deeper down"),
            "puts the model in eval mode on the way": ('''
def module_of(model, key):
    model.eval()
    return model.get_submodule(key.rpartition(".")[0])
''', "eval mode"),
            "returns a copy of the module": ('''
import copy

def module_of(model, key):
    return copy.deepcopy(model.get_submodule(key.rpartition(".")[0]))
''', "not part of this model"),
            "leaves grad mode off": ('''
def module_of(model, key):
    torch.set_grad_enabled(False)  # only looking: no gradients needed
    return model.get_submodule(key.rpartition(".")[0])
''', "grad mode"),
        }},
    "state_dict.q3": {
        "right": ['''
def section_sizes(model):
    sizes = {}
    for name in [n for n, _ in model.named_children()]:
        params = list(model.get_submodule(name).parameters())
        sizes[name] = nn.utils.parameters_to_vector(params).numel() if params else 0
    return sizes
''', '''
def section_sizes(model):
    def count(module, seen):
        total = 0
        for p in module.parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
        return total + sum(count(child, seen) for child in module.children())
    return {name: count(child, set()) for name, child in model.named_children()}
'''],
        "wrong": {
            "layer by layer: a shared weight counted twice": ('''
def section_sizes(model):
    return {name: sum(p.numel() for m in child.modules() for p in m.parameters(recurse=False))
            for name, child in model.named_children()}
''', "counted twice"),
            "parameters read from the state_dict: a shared weight has two keys": ('''
def section_sizes(model):
    return {name: sum(v.numel() for v in child.state_dict(keep_vars=True).values()
                      if isinstance(v, nn.Parameter))
            for name, child in model.named_children()}
''', "counted twice"),
            "unfreezes the model to count": ('''
def section_sizes(model):
    model.requires_grad_(True)
    return {n: sum(p.numel() for p in c.parameters() if p.requires_grad)
            for n, c in model.named_children()}
''', "requires_grad"),
            "leaves the default dtype at float64": ('''
def section_sizes(model):
    torch.set_default_dtype(torch.float64)
    return {n: sum(p.numel() for p in c.parameters()) for n, c in model.named_children()}
''', "default dtype"),
            "forgotten return": ('''
def section_sizes(model):
    sizes = {}
    for name, child in model.named_children():
        sizes[name] = sum(p.numel() for p in child.parameters())
''', "got None"),
            "a float per section": ('''
def section_sizes(model):
    return {n: sum(p.numel() * 1.0 for p in c.parameters()) for n, c in model.named_children()}
''', "expected an int"),
        }},
    "freezing.q1": {
        "right": ['''
def freeze_features(model):
    [p.requires_grad_(False) for p in model.features.parameters()]
''', '''
def freeze_features(model):
    for name, param in model.named_parameters():
        if name.split(".")[0] == "features":
            param.requires_grad = False
''', '''
def freeze_features(model):
    model.get_submodule("features").requires_grad_(False)
    return model
'''],
        "wrong": {
            "unfreezes everything outside features": ('''
def freeze_features(model):
    for name, p in model.named_parameters():
        p.requires_grad = not name.startswith("features.")
''', "frozen before the call"),
            "toggles requires_grad": ('''
def freeze_features(model):
    for p in model.features.parameters():
        p.requires_grad = not p.requires_grad
''', "still have requires_grad=True"),
            "freezes and switches features to eval mode": ('''
def freeze_features(model):
    model.features.requires_grad_(False)
    model.features.eval()
''', "eval mode"),
            "sets an attribute on the module, not on its parameters": '''
def freeze_features(model):
    model.features.requires_grad = False
''',
            "named_parameters patched to report detached copies": ('''
def freeze_features(model):
    real = model.named_parameters
    def named_parameters(*args, **kwargs):
        for name, p in real(*args, **kwargs):
            yield name, (p.detach() if name.startswith("features.") else p)
    model.named_parameters = named_parameters
''', "features"),
            "nn.Module.named_parameters patched for every model": ('''
def freeze_features(model):
    real = nn.Module.named_parameters
    def named_parameters(self, *args, **kwargs):
        for name, p in real(self, *args, **kwargs):
            yield name, (p.detach() if name.startswith("features.") else p)
    nn.Module.named_parameters = named_parameters
''', "replaced Module.named_parameters"),
            "named_modules patched to hide features": '''
def freeze_features(model):
    real = model.named_modules
    model.named_modules = lambda *a, **k: ((n, m) for n, m in real(*a, **k)
                                           if not n.startswith("features"))
''',
            "parameters patched to leave features out": '''
def freeze_features(model):
    keep = [p for n, p in model.named_parameters() if not n.startswith("features.")]
    model.parameters = lambda recurse=True: iter(keep)
''',
            "a Parameter subclass whose requires_grad says False": ('''
class Frozen(nn.Parameter):
    @property
    def requires_grad(self):
        return False

def freeze_features(model):
    for p in model.features.parameters():
        p.__class__ = Frozen
''', "still have requires_grad=True"),
            "returns a frozen copy, the argument unchanged": '''
import copy

def freeze_features(model):
    model = copy.deepcopy(model)
    model.features.requires_grad_(False)
    return model
''',
            "frozen weights set to NaN": ('''
def freeze_features(model):
    for p in model.features.parameters():
        p.requires_grad = False
        p.data.fill_(float("nan"))
''', "NaN"),
            "re-seeds torch": ('''
def freeze_features(model):
    torch.manual_seed(0)  # reproducible
    model.features.requires_grad_(False)
''', "seed"),
            "a forward pass to check the model still works": ('''
def freeze_features(model):
    model.features.requires_grad_(False)
    model.features(torch.randn(2, 3, 32, 32))
''', "running statistics"),
        }},
    "freezing.q2": {
        "right": ['''
def count_trainable(model):
    return sum(map(torch.numel, filter(lambda p: p.requires_grad, model.parameters())))
''', '''
def count_trainable(model):
    def walk(module, seen):
        total = 0
        for p in module.parameters(recurse=False):
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
        return total + sum(walk(child, seen) for child in module.children())
    return walk(model, set())
'''],
        "wrong": {
            "layer by layer: a shared weight counted twice": ('''
def count_trainable(model):
    return sum(p.numel() for m in model.modules() for p in m.parameters(recurse=False)
               if p.requires_grad)
''', "counted twice"),
            "state_dict with keep_vars: a shared weight has two keys": ('''
def count_trainable(model):
    return sum(v.numel() for v in model.state_dict(keep_vars=True).values() if v.requires_grad)
''', "counted twice"),
            "counts what a backward pass reaches": ('''
def count_trainable(model):
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    return sum(p.numel() for p in model.parameters() if p.grad is not None)
''', "the model changed"),
            "switches the model to eval mode to count": ('''
def count_trainable(model):
    model.eval()  # counting, not training
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
''', "eval mode"),
            "forgotten return": ('''
def count_trainable(model):
    total = 0
    for p in model.parameters():
        if p.requires_grad:
            total += p.numel()
''', "got None"),
            "leaves grad mode off": ('''
def count_trainable(model):
    torch.set_grad_enabled(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
''', "grad mode"),
        }},
    "freezing.q3": {
        "right": [{"trainable": np.int64(3 * (16 * 16 * 9 + 16) + 12917),
                   "first_conv_grad": "NONE", "tensors_with_grad": 6 + 6}],
        "wrong": {
            "no biases": ({"trainable": 19792, "first_conv_grad": "None",
                           "tensors_with_grad": 12}, "bias"),
            "the frozen conv gets gradient values": ({"trainable": 19877,
                                                      "first_conv_grad": "values",
                                                      "tensors_with_grad": 12}, "not what happens"),
        }},
}


@pytest.fixture(autouse=True)
def _torch_classes_restored():
    """An answer that patches ``nn.Module`` itself must not change the tests after it."""
    saved = dict(vars(nn.Module))
    yield
    for name in set(vars(nn.Module)) - set(saved):
        delattr(nn.Module, name)
    for name, value in saved.items():
        if vars(nn.Module).get(name) is not value:
            setattr(nn.Module, name, value)


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
