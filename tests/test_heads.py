"""Tests for vc.heads: finding the head, replacing it, re-initialising the classifier."""

from __future__ import annotations


import pytest
import torch
import torchvision
from torch import nn

from vgg_course import heads, models


tiny_vgg = models.tiny_vgg  # builds in milliseconds


@pytest.fixture(scope="module")
def squeezenet() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.squeezenet1_1(weights=None)


@pytest.mark.slow
def test_vgg16_head_and_replacement(real_vgg16):
    head = heads.find_head(real_vgg16)
    assert head == heads.Head("classifier.6", "Linear", 4096, 1000)
    assert "4,096 features to 1,000 class scores" in head.explanation
    heads.replace_head(real_vgg16, 2)
    assert isinstance(real_vgg16.classifier[6], nn.Linear)
    assert (real_vgg16.classifier[6].in_features, real_vgg16.classifier[6].out_features) == (4096, 2)
    assert sum(p.numel() for p in real_vgg16.parameters()) == 134_268_738


def test_find_head_on_other_architectures(squeezenet):
    assert heads.find_head(squeezenet) == heads.Head("classifier.1", "Conv2d", 512, 1000)
    assert "kernel_size=1" in heads.find_head(squeezenet).explanation
    resnet = torchvision.models.resnet18(weights=None)
    assert heads.find_head(resnet) == heads.Head("fc", "Linear", 512, 1000)


def test_replace_linear_head_gives_new_trainable_layer_and_right_output():
    model = tiny_vgg(10)
    for p in model.parameters():
        p.requires_grad = False
    old = model.classifier[6]
    heads.replace_head(model, 3)
    assert model.classifier[6] is not old
    assert all(p.requires_grad for p in model.classifier[6].parameters())
    assert not model.classifier[3].weight.requires_grad
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 3)


def test_replace_conv_head_on_squeezenet(squeezenet):
    model = torchvision.models.squeezenet1_1(weights=None)
    heads.replace_head(model, 2)
    layer = model.classifier[1]
    assert isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1)
    assert (layer.in_channels, layer.out_channels, model.num_classes) == (512, 2, 2)
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 2)


def test_replace_head_keeps_dtype():
    model = tiny_vgg(10).double()
    heads.replace_head(model, 4)
    assert model.classifier[6].weight.dtype == torch.float64
    assert model(torch.randn(1, 3, 32, 32, dtype=torch.float64)).shape == (1, 4)


@pytest.mark.parametrize("bad, error, message", [
    (0, ValueError, "at least 1, got 0"),
    (-3, ValueError, "at least 1"),
    (2.0, TypeError, "must be an int, got float"),
    (True, TypeError, "must be an int, got bool"),
])
def test_bad_num_classes(bad, error, message):
    with pytest.raises(error, match=message):
        heads.replace_head(tiny_vgg(2), bad)
    with pytest.raises(error, match=message):
        heads.new_classifier(tiny_vgg(2), bad)


def test_model_without_a_head_is_refused():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with pytest.raises(ValueError, match=r"last layer with parameters.*`1`.*BatchNorm1d.*not a Linear"):
        heads.replace_head(model, 2)
    with pytest.raises(ValueError, match="no layer with parameters"):
        heads.find_head(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="has no `classifier`.*replace_head"):
        heads.new_classifier(torchvision.models.resnet18(weights=None), 2)


def test_set_head_checks_in_features():
    model = tiny_vgg(2)
    with pytest.raises(ValueError, match=r"takes 64 inputs but `classifier.6` receives 32.*Linear\(32"):
        heads.set_head(model, nn.Linear(64, 2))
    layer = nn.Linear(32, 7)
    assert heads.set_head(model, layer).classifier[6] is layer


def test_new_classifier_reinitialises_every_layer_and_unfreezes_it():
    model = tiny_vgg(10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for p in model.parameters():
        p.requires_grad = False
    heads.new_classifier(model, 2)
    after = model.state_dict()
    for i in (0, 3):
        assert after[f"classifier.{i}.weight"].shape == before[f"classifier.{i}.weight"].shape
        assert not torch.equal(after[f"classifier.{i}.weight"], before[f"classifier.{i}.weight"])
    assert torch.equal(after["features.0.weight"], before["features.0.weight"])
    assert model.classifier[6].out_features == 2
    assert all(p.requires_grad for p in model.classifier.parameters())
    assert not any(p.requires_grad for p in model.features.parameters())
