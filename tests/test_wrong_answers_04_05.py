"""More answers to lessons 04 and 05's exercises: wrong ones of each kind never get full marks.

The kinds a class hands in: a forgotten ``return`` (the argument was changed in place),
random augmentation in an evaluation transform, numbers typed in, the resize steps in the
wrong order, optimizer settings that differ beyond lr and momentum (weight decay, Nesterov,
dampening, another optimizer), frozen or repeated tensors in an optimizer, a head built but
never attached, NaN weights, a patched ``forward``, global state left behind. Each wrong
answer must score below full marks in the student's check (public cases) and in grading
(hidden cases) on seeds 0 to 4; each right answer, written in another style than the
catalogue's, full marks on the same seeds.
"""

from __future__ import annotations

import pytest
from test_wrong_answers import ALL, answer_of

SEEDS = range(5)

_PRESET = "preset = weights.transforms()\n"

CATALOGUE: dict[str, dict] = {
    "transfer_learning.q2": {
        "right": ['''
import copy

def transfer_model(model, num_classes):
    model = copy.deepcopy(model)  # the caller's model stays as it was
    for p in model.parameters():
        p.requires_grad_(False)
    old = model.classifier[-1]
    model.classifier[-1] = nn.Linear(old.in_features, num_classes)
    return model
''', '''
def transfer_model(model, num_classes):
    for name, param in model.named_parameters():
        param.requires_grad = False
    head = nn.Linear(model.classifier[6].weight.shape[1], num_classes)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    model.classifier[6] = head
    return model
'''],
        "wrong": {
            "forgotten return": '''
def transfer_model(model, num_classes):
    model.requires_grad_(False)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
''',
            "head built but not attached": '''
def transfer_model(model, num_classes):
    model.requires_grad_(False)
    head = nn.Linear(model.classifier[6].in_features, num_classes)
    return model
''',
            "every backbone weight set to NaN": '''
def transfer_model(model, num_classes):
    model.requires_grad_(False)
    with torch.no_grad():
        for p in model.features.parameters():
            p.fill_(float("nan"))
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model
''',
            "a head stacked on the old one through a patched forward": '''
def transfer_model(model, num_classes):
    model.requires_grad_(False)
    head = nn.Linear(model.classifier[6].out_features, num_classes)
    old_forward = model.forward
    model.forward = lambda x: head(old_forward(x))
    return model
''',
            "torch.set_grad_enabled(False) left behind": '''
def transfer_model(model, num_classes):
    torch.set_grad_enabled(False)  # "nothing should train"
    model.requires_grad_(False)
    model.classifier[6] = nn.Linear(model.classifier[6].in_features, num_classes)
    return model
''',
        }},
    "transfer_learning.q3": {
        "right": ['''
from torchvision import transforms as T

def eval_preprocess(weights, image_size):
    preset = weights.transforms()
    return T.Compose([T.Resize(image_size), T.CenterCrop(image_size), T.PILToTensor(),
                      T.ConvertImageDtype(torch.float), T.Normalize(preset.mean, preset.std)])
''', '''
from torchvision.transforms import v2

def eval_preprocess(weights, image_size):
    preset = weights.transforms()
    return v2.Compose([v2.Resize(image_size, interpolation=preset.interpolation),
                       v2.CenterCrop(image_size), v2.ToImage(),
                       v2.ToDtype(torch.float32, scale=True),
                       v2.Normalize(mean=list(preset.mean), std=list(preset.std))])
'''],
        "wrong": {
            "RandomHorizontalFlip in the eval transform": '''
from torchvision import transforms
''' + '''
def eval_preprocess(weights, image_size):
    ''' + _PRESET + '''    return transforms.Compose([
        transforms.Resize(image_size), transforms.CenterCrop(image_size),
        transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        transforms.Normalize(preset.mean, preset.std)])
''',
            "RandomResizedCrop in the eval transform": '''
from torchvision import transforms
''' + '''
def eval_preprocess(weights, image_size):
    ''' + _PRESET + '''    return transforms.Compose([
        transforms.RandomResizedCrop(image_size), transforms.ToTensor(),
        transforms.Normalize(preset.mean, preset.std)])
''',
            "ColorJitter in the eval transform": '''
from torchvision import transforms
''' + '''
def eval_preprocess(weights, image_size):
    ''' + _PRESET + '''    return transforms.Compose([
        transforms.Resize(image_size), transforms.CenterCrop(image_size),
        transforms.ColorJitter(brightness=0.1), transforms.ToTensor(),
        transforms.Normalize(preset.mean, preset.std)])
''',
            "crop first, then resize": '''
from torchvision import transforms
''' + '''
def eval_preprocess(weights, image_size):
    ''' + _PRESET + '''    return transforms.Compose([
        transforms.CenterCrop(image_size), transforms.Resize(image_size), transforms.ToTensor(),
        transforms.Normalize(preset.mean, preset.std)])
''',
            "squashed to a square": '''
from torchvision import transforms
''' + '''
def eval_preprocess(weights, image_size):
    ''' + _PRESET + '''    return transforms.Compose([
        transforms.Resize((image_size, image_size)), transforms.ToTensor(),
        transforms.Normalize(preset.mean, preset.std)])
''',
            "the weights' resize kept, only the crop changed": '''
def eval_preprocess(weights, image_size):
    return weights.transforms(crop_size=image_size)
''',
            "VGG16's mean typed in, std from the weights": '''
from torchvision import transforms
''' + '''
def eval_preprocess(weights, image_size):
    ''' + _PRESET + '''    return transforms.Compose([
        transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], preset.std)])
''',
        }},
    "fine_tuning.q1": {
        "right": ['''
def unfreeze_last_block(model):
    last = len(model.features) - 1
    start = next(i + 1 for i in reversed(range(last))
                 if isinstance(model.features[i], nn.MaxPool2d))
    for layer in model.features[start:]:
        for p in layer.parameters():
            p.requires_grad_(True)
''', '''
def unfreeze_last_block(model):
    pools = [i for i, m in enumerate(model.features) if type(m) is nn.MaxPool2d]
    inner = [i for i in pools if i < len(model.features) - 1]
    for name, p in model.features.named_parameters():
        if int(name.split(".")[0]) > inner[-1]:
            p.requires_grad = True
    return model
'''],
        "wrong": {
            "everything frozen first, then the block": '''
def unfreeze_last_block(model):
    pools = [i for i, m in enumerate(model.features[:-1]) if isinstance(m, nn.MaxPool2d)]
    model.requires_grad_(False)
    model.features[pools[-1] + 1:].requires_grad_(True)
''',
            "flags toggled": '''
def unfreeze_last_block(model):
    pools = [i for i, m in enumerate(model.features[:-1]) if isinstance(m, nn.MaxPool2d)]
    for p in model.features[pools[-1] + 1:].parameters():
        p.requires_grad = not p.requires_grad
''',
            "the block's convs re-created": '''
def unfreeze_last_block(model):
    pools = [i for i, m in enumerate(model.features[:-1]) if isinstance(m, nn.MaxPool2d)]
    for i in range(pools[-1] + 1, len(model.features)):
        old = model.features[i]
        if isinstance(old, nn.Conv2d):  # a new layer trains
            model.features[i] = nn.Conv2d(old.in_channels, old.out_channels,
                                          old.kernel_size, padding=old.padding)
''',
            "a copy unfrozen and returned": '''
import copy

def unfreeze_last_block(model):
    model = copy.deepcopy(model)
    pools = [i for i, m in enumerate(model.features[:-1]) if isinstance(m, nn.MaxPool2d)]
    model.features[pools[-1] + 1:].requires_grad_(True)
    return model
''',
            "weights only": '''
def unfreeze_last_block(model):
    pools = [i for i, m in enumerate(model.features[:-1]) if isinstance(m, nn.MaxPool2d)]
    for m in model.features[pools[-1] + 1:]:
        if hasattr(m, "weight") and m.weight is not None:
            m.weight.requires_grad = True
''',
        }},
    "fine_tuning.q2": {
        "right": ['''
def param_groups(model, base_lr):
    head = filter(lambda p: p.requires_grad, model.classifier.parameters())
    body = filter(lambda p: p.requires_grad, model.features.parameters())
    return [dict(params=list(head), lr=base_lr), dict(params=list(body), lr=base_lr * 0.1)]
''', '''
def param_groups(model, base_lr):
    groups = {"features": [], "classifier": []}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups[name.split(".")[0]].append(p)
    return [{"params": groups["features"], "lr": base_lr / 10},
            {"params": (p for p in groups["classifier"]), "lr": base_lr}]
'''],
        "wrong": {
            "weight decay added to the groups": '''
def param_groups(model, base_lr):
    return [{"params": [p for p in model.features.parameters() if p.requires_grad],
             "lr": base_lr / 10, "weight_decay": 1e-4},
            {"params": [p for p in model.classifier.parameters() if p.requires_grad],
             "lr": base_lr, "weight_decay": 1e-4}]
''',
            "momentum in the head's group": '''
def param_groups(model, base_lr):
    return [{"params": [p for p in model.features.parameters() if p.requires_grad],
             "lr": base_lr / 10},
            {"params": [p for p in model.classifier.parameters() if p.requires_grad],
             "lr": base_lr, "momentum": 0.9}]
''',
            "the head repeated in one group": '''
def param_groups(model, base_lr):
    head = [p for p in model.classifier.parameters() if p.requires_grad]
    return [{"params": [p for p in model.features.parameters() if p.requires_grad],
             "lr": base_lr / 10},
            {"params": head + head[-1:], "lr": base_lr}]
''',
            "everything unfrozen first": '''
def param_groups(model, base_lr):
    model.requires_grad_(True)
    return [{"params": list(model.features.parameters()), "lr": base_lr / 10},
            {"params": list(model.classifier.parameters()), "lr": base_lr}]
''',
            "forgotten return": '''
def param_groups(model, base_lr):
    groups = [{"params": [p for p in model.features.parameters() if p.requires_grad],
               "lr": base_lr / 10},
              {"params": [p for p in model.classifier.parameters() if p.requires_grad],
               "lr": base_lr}]
''',
        }},
    "fine_tuning.q3": {
        "right": ['''
def setup_partial_finetune(model, lr):
    head = [p for p in model.parameters() if p.requires_grad]
    block = list(model.features[24:].parameters())
    for p in block:
        p.requires_grad_(True)
    return torch.optim.SGD([{"params": head}, {"params": block}], lr=lr, momentum=0.9)
''', '''
def setup_partial_finetune(model, lr):
    for name, p in model.named_parameters():
        if name.startswith("features.") and int(name.split(".")[1]) >= 24:
            p.requires_grad = True
    trainable = filter(lambda p: p.requires_grad, model.parameters())
    return torch.optim.SGD(trainable, lr=lr, momentum=0.9, dampening=0, weight_decay=0)
'''],
        "wrong": {
            "Adam instead of SGD": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
''',
            "SGD with weight decay": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                           lr=lr, momentum=0.9, weight_decay=5e-4)
''',
            "SGD with Nesterov momentum": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                           lr=lr, momentum=0.9, nesterov=True)
''',
            "SGD with dampening": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                           lr=lr, momentum=0.9, dampening=0.1)
''',
            "a frozen tensor in the optimizer (the whole classifier)": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    params = list(model.features[24:].parameters()) + list(model.classifier.parameters())
    return torch.optim.SGD(params, lr=lr, momentum=0.9)
''',
            "the block listed twice": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params + list(model.features[24:].parameters()), lr=lr, momentum=0.9)
''',
            "the block in a second group as well": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    return torch.optim.SGD([{"params": [p for p in model.parameters() if p.requires_grad]},
                            {"params": model.features[24:].parameters()}], lr=lr, momentum=0.9)
''',
            "forgotten return": '''
def setup_partial_finetune(model, lr):
    model.features[24:].requires_grad_(True)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                lr=lr, momentum=0.9)
''',
            "torch.set_grad_enabled(False) left behind": '''
def setup_partial_finetune(model, lr):
    torch.set_grad_enabled(False)
    model.features[24:].requires_grad_(True)
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                           lr=lr, momentum=0.9)
''',
        }},
    "fine_tuning.q5": {
        "right": [{"running_mean": "changes", "bn_weight": "stays", "after_eval": "stays"},
                  {"running_mean": "CHANGES ", "bn_weight": " Stays", "after_eval": "STAYS"}],
        "wrong": {
            "requires_grad=False freezes the statistics too": {
                "running_mean": "stays", "bn_weight": "stays", "after_eval": "stays"},
            "the scale moves with the statistics": {
                "running_mean": "changes", "bn_weight": "changes", "after_eval": "stays"},
            "eval() on one layer is undone by the step": {
                "running_mean": "changes", "bn_weight": "stays", "after_eval": "changes"},
            "everything moves": {"running_mean": "changes", "bn_weight": "changes",
                                 "after_eval": "changes"},
        }},
    "fine_tuning.q6": {
        "right": [{"loss_after": "lower", "frozen_in_optimizer": "stays",
                   "grad_after_zero_grad": "None"},
                  {"loss_after": " LOWER", "frozen_in_optimizer": "Stays",
                   "grad_after_zero_grad": "none "}],
        "wrong": {
            "zero_grad() writes zeros": {"loss_after": "lower", "frozen_in_optimizer": "stays",
                                         "grad_after_zero_grad": "zeros"},
            "momentum and weight decay move a frozen weight": {
                "loss_after": "lower", "frozen_in_optimizer": "changes",
                "grad_after_zero_grad": "None"},
            "a step can raise the loss on its own batch": {
                "loss_after": "higher", "frozen_in_optimizer": "stays",
                "grad_after_zero_grad": "None"},
        }},
}


def _rows(kind: str):
    return [pytest.param(ex_id, what, cell, id=f"{ex_id}-{what}")
            for ex_id, entry in CATALOGUE.items()
            for what, cell in (entry[kind].items() if kind == "wrong"
                               else enumerate(entry[kind]))]


def test_the_catalogue_has_enough_new_answers():
    assert sum(len(e["wrong"]) for e in CATALOGUE.values()) >= 14
    assert all(len(e["right"]) >= 2 for e in CATALOGUE.values())


@pytest.mark.slow
@pytest.mark.parametrize("ex_id, what, cell", _rows("wrong"))
def test_wrong_answer_never_gets_full_marks(ex_id, what, cell):
    ex = ALL[ex_id]
    answer = answer_of(ex, cell)
    public = ex.verdict(answer, 0)
    assert public.score < public.points, f"{what} passes the student's check:\n{public!r}"
    for seed in SEEDS:
        graded = ex.verdict(answer, seed, hidden=True)
        assert graded.score < graded.points, f"{what} gets full marks with seed {seed}"


@pytest.mark.slow
@pytest.mark.parametrize("ex_id, what, cell", _rows("right"))
def test_right_answer_in_another_style_gets_full_marks(ex_id, what, cell):
    ex = ALL[ex_id]
    answer = answer_of(ex, cell)
    for seed in SEEDS:
        verdict = ex.verdict(answer, seed, hidden=True)
        assert verdict.passed and verdict.score == verdict.points, repr(verdict)
