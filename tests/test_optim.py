"""Tests for vc.optim: trainable-only param groups, discriminative LRs, checks, memory."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

from vgg_course import freezing, models, optim, recipes


tiny_vgg = models.tiny_vgg  # builds in milliseconds


def train_steps(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int = 3,
                set_to_none: bool = True) -> None:
    torch.manual_seed(0)
    model.train()
    for _ in range(steps):
        x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 1, 0])
        optimizer.zero_grad(set_to_none=set_to_none)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


def ids(params) -> set[int]:
    return {id(p) for p in params}


def test_groups_hold_exactly_the_trainable_parameters_with_their_rates():
    model = recipes.partial_finetune(tiny_vgg(), 2)
    opt = optim.make_optimizer(model, lr=1e-3, head_lr=1e-2, weight_decay=5e-4)
    head, backbone = opt.param_groups
    assert (head["name"], head["lr"], backbone["name"], backbone["lr"]) == ("head", 1e-2, "backbone", 1e-3)
    assert ids(head["params"]) == ids(model.classifier[6].parameters())
    assert ids(head["params"]) | ids(backbone["params"]) == ids(p for p in model.parameters() if p.requires_grad)
    assert not ids(head["params"]) & ids(backbone["params"])
    assert isinstance(opt, torch.optim.SGD) and head["momentum"] == 0.9 and head["weight_decay"] == 5e-4


def test_head_path_and_backbone_lr_and_adamw():
    model = recipes.finetune_new_classifier(tiny_vgg(), 2)
    opt = optim.make_optimizer(model, lr=1e-3, backbone_lr=1e-5, head="classifier", kind="AdamW")
    assert isinstance(opt, torch.optim.AdamW)
    assert [(g["name"], g["lr"]) for g in opt.param_groups] == [("head", 1e-3)]  # features frozen
    assert ids(opt.param_groups[0]["params"]) == ids(model.classifier.parameters())


def test_transfer_learning_gives_a_single_head_group():
    model = recipes.transfer_learning(tiny_vgg(), 2)
    opt = optim.make_optimizer(model, lr=0.01)
    assert [g["name"] for g in opt.param_groups] == ["head"]
    assert sum(p.numel() for p in opt.param_groups[0]["params"]) == 66


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
@pytest.mark.parametrize("recipe", ["transfer_learning", "finetune_pretrained_classifier", "partial_finetune"])
def test_frozen_tensors_are_bit_identical_after_training_steps(kind, recipe):
    model = recipes.apply(recipe, tiny_vgg(), 2)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trainable = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    opt = optim.make_optimizer(model, lr=0.05, head_lr=0.1, weight_decay=0.1, kind=kind)
    train_steps(model, opt, set_to_none=False)  # zero tensors as grads: the risky setting
    assert frozen
    for name, before in frozen.items():
        assert torch.equal(model.get_parameter(name), before), name
    assert all(not torch.equal(model.get_parameter(n), before) for n, before in trainable.items()
               if n.endswith("weight"))
    assert optim.check_optimizer(model, opt).ok


def test_naive_optimizer_moves_frozen_weights_and_the_check_says_so():
    # the oracle for the test above: with every parameter in the optimizer, weight decay
    # and momentum do move a frozen tensor once it has a (zero) gradient
    model = tiny_vgg()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    train_steps(model, opt, steps=1, set_to_none=False)
    recipes.transfer_learning(model, 2)  # freezes everything but a new head
    before = model.features[0].weight.detach().clone()
    with pytest.warns(optim.OptimizerMismatchWarning, match="frozen tensors are in the optimizer and have a .grad"):
        check = optim.check_optimizer(model, opt)
    assert not check.ok
    assert "features.0.weight" in check.frozen_with_grad and "classifier.6.weight" in check.missing
    opt.zero_grad(set_to_none=False)
    opt.step()
    assert not torch.equal(model.features[0].weight, before)


def test_check_finds_a_parameter_unfrozen_after_the_optimizer_was_built():
    model = recipes.transfer_learning(tiny_vgg(), 2)
    opt = optim.make_optimizer(model, lr=0.01, weight_decay=1e-4)
    freezing.unfreeze_blocks(model, "fc7")
    with pytest.warns(optim.OptimizerMismatchWarning, match="2 trainable tensors are not in the optimizer"):
        check = optim.check_optimizer(model, opt)
    assert check.missing == ("classifier.3.weight", "classifier.3.bias")
    freezing.freeze_blocks(model, "fc7", "fc8")
    check = optim.check_optimizer(model, opt, warn=False)
    assert check.frozen_with_decay == ("classifier.6.weight", "classifier.6.bias")
    assert "move as soon as they get a .grad" in repr(check)


def test_check_is_quiet_when_all_is_well():
    model = recipes.partial_finetune(tiny_vgg(), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check = optim.check_optimizer(model, optim.make_optimizer(model, lr=0.01))
    assert check.ok and "ok" in repr(check)


def test_bad_arguments():
    model = tiny_vgg()
    freezing.freeze(model)
    with pytest.raises(ValueError, match="nothing to train: every parameter is frozen"):
        optim.make_optimizer(model, lr=0.01)
    freezing.unfreeze(model)
    with pytest.raises(ValueError, match="kind must be 'sgd' or 'adamw', got 'adam'"):
        optim.make_optimizer(model, lr=0.01, kind="adam")
    with pytest.raises(ValueError, match="head_lr must be > 0"):
        optim.make_optimizer(model, lr=0.01, head_lr=0)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        optim.make_optimizer(model, lr=0.01, weight_decay=-1)


@pytest.mark.parametrize("kind, keys", [("sgd", {"momentum_buffer"}), ("adamw", {"exp_avg", "exp_avg_sq"})])
def test_memory_estimate_matches_real_optimizer_state(kind, keys):
    model = recipes.partial_finetune(tiny_vgg(), 2)
    estimate = optim.optimizer_memory(model, kind)
    opt = optim.make_optimizer(model, lr=0.01, kind=kind)
    train_steps(model, opt, steps=1)
    state_bytes = sum(t.numel() * t.element_size() for s in opt.state.values()
                      for k, t in s.items() if k in keys)
    grad_bytes = sum(p.grad.numel() * p.grad.element_size() for p in model.parameters() if p.grad is not None)
    assert estimate.optimizer_state == state_bytes
    assert estimate.gradients == grad_bytes
    assert estimate.parameters == 4 * 109_158
    assert "activations not included" in repr(estimate)


@pytest.mark.slow
def test_vgg16_memory_for_transfer_learning_and_full_finetuning(real_vgg16):
    recipes.transfer_learning(real_vgg16, 2)
    tl = optim.optimizer_memory(real_vgg16, "adamw")
    assert (tl.parameters, tl.gradients, tl.optimizer_state) == (4 * 134_268_738, 4 * 8_194, 8 * 8_194)
    recipes.full_finetune(real_vgg16, 2)
    full = optim.optimizer_memory(real_vgg16, "adamw")
    assert full.total == 16 * 134_268_738
