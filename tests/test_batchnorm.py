"""Tests for vgg_course.batchnorm and the training loop's use of it: frozen means frozen."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

import vgg_course as vc
from vgg_course import batchnorm, engine


def _batches(n: int = 3, size: int = 32, classes: int = 2) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(8, 3, size, size, generator=g) * 2 + 1, torch.arange(8) % classes)
            for _ in range(n)]


def _fit(model: nn.Module, epochs: int = 1) -> None:
    data = _batches()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    engine.fit(model, data, data[:1], optimizer, epochs=epochs, device="cpu", precision="fp32",
               progress=False)


@pytest.fixture()
def resnet(one_thread):
    torch.manual_seed(0)
    return resnet18(weights=None)


def test_transfer_learning_on_resnet18_leaves_every_running_statistic_unchanged(resnet):
    vc.recipes.apply("transfer_learning", resnet, 2)
    assert vc.freezing.trainable_count(resnet) == 1_026  # fc: 512 x 2 + 2
    before, head = batchnorm.running_stats(resnet), resnet.fc.weight.detach().clone()
    assert len(before) == 20  # ResNet-18's BatchNorm layers
    _fit(resnet)
    assert batchnorm.changed(before, batchnorm.running_stats(resnet)) == []
    assert not torch.equal(head, resnet.fc.weight)  # the head did train


def test_plain_model_train_would_have_moved_them(resnet):
    # The bug the kit avoids: requires_grad=False alone, and model.train() in the loop.
    vc.recipes.apply("transfer_learning", resnet, 2)
    before = batchnorm.running_stats(resnet)
    resnet.train()
    with torch.no_grad():
        resnet(_batches(1)[0][0])
    assert len(batchnorm.changed(before, batchnorm.running_stats(resnet))) == 20


def test_only_the_unfrozen_blocks_statistics_update(resnet):
    vc.recipes.apply("transfer_learning", resnet, 2)
    vc.freezing.unfreeze(resnet.layer4, model=resnet)
    before = batchnorm.running_stats(resnet)
    _fit(resnet)
    moved = batchnorm.changed(before, batchnorm.running_stats(resnet))
    layer4 = sorted(n for n in before if n.startswith("layer4."))
    assert sorted(moved) == layer4 and len(layer4) == 5  # 2 blocks x 2 + the downsample's


def test_frozen_batchnorms_finds_layers_and_follows_the_owner_for_affine_false():
    net = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, affine=False), nn.ReLU()),
        nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4)),
        nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4, affine=False)),
    )
    assert batchnorm.frozen_batchnorms(net) == []
    net[0].requires_grad_(False)
    net[1][1].requires_grad_(False)  # a frozen BatchNorm after a trainable conv
    assert batchnorm.frozen_batchnorms(net) == ["0.1", "1.1"]
    assert batchnorm.train_mode(net) == ["0.1", "1.1"]
    assert [net[i][1].training for i in range(3)] == [False, False, True]
    assert net.training and net[0][0].training


def test_evaluation_still_uses_eval_mode_everywhere(resnet):
    vc.recipes.apply("full_finetune", resnet, 2)
    before = batchnorm.running_stats(resnet)
    engine.evaluate(resnet, _batches(1), device="cpu", precision="fp32")
    assert batchnorm.changed(before, batchnorm.running_stats(resnet)) == []


def test_a_fully_trainable_model_updates_all_statistics(resnet):
    vc.recipes.apply("full_finetune", resnet, 2)
    before = batchnorm.running_stats(resnet)
    _fit(resnet)
    assert len(batchnorm.changed(before, batchnorm.running_stats(resnet))) == 20
