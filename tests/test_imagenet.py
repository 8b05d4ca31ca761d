"""Tests for vgg_course.imagenet: what a pretrained network already knows."""

from __future__ import annotations

import pytest
import torch
from torchvision.datasets import ImageFolder

from vgg_course import companion, imagenet


def test_known_classes_counts_per_class():
    model = companion.load_squeezenet(pretrained=False)
    torch.manual_seed(0)
    images, labels = torch.randn(6, 3, 64, 64), torch.tensor([0, 0, 1, 1, 1, 0])
    with torch.no_grad():
        pred = model.eval()(images)[:, [310, 309]].argmax(1)
    result = imagenet.known_classes(model, [(images[:4], labels[:4]), (images[4:], labels[4:])])
    assert result.total == (3.0, 3.0)
    assert sum(result.correct) == int((pred == labels).sum())
    assert f"{result.accuracy:.1%}" in repr(result)


def test_top_k_is_sorted_and_refuses_a_replaced_head():
    model = companion.load_squeezenet(pretrained=False)
    tops = imagenet.top_k(model, torch.randn(2, 3, 64, 64))
    for t in tops:
        assert len(t.classes) == 5 and list(t.probs) == sorted(t.probs, reverse=True)
        assert all(c in imagenet.CATEGORIES for c in t.classes)
    model.classifier[1] = torch.nn.Conv2d(512, 2, 1)
    with pytest.raises(ValueError, match="pretrained head"):
        imagenet.top_k(model, torch.randn(1, 3, 64, 64))


@pytest.mark.slow
@pytest.mark.photos
def test_the_pretrained_companion_already_knows_ants_and_bees(photos_dir):
    model = companion.load_squeezenet()
    val = ImageFolder(photos_dir / "val", transform=companion.WEIGHTS.transforms())
    assert val.classes == ["ants", "bees"]
    result = imagenet.known_classes(model, torch.utils.data.DataLoader(val, batch_size=32))
    ants, bees = result.per_class
    assert ants >= 0.93 and bees >= 0.93, result  # measured: 94.3% / 96.4%
    first_bee = next(i for i, (_, y) in enumerate(val.samples) if y == 1)
    # val/ants' first photo is a swarm on a trunk (read as a starfish); its second is one ant
    tops = imagenet.top_k(model, torch.stack([val[1][0], val[first_bee][0]]))
    assert tops[0].classes[0] == "ant" and tops[1].classes[0] == "bee", tops
