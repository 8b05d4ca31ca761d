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


def test_rows_for_finds_each_class_by_name_in_class_order():
    assert imagenet.rows_for(["ants", "bees"]) == (imagenet.ANT, imagenet.BEE) == (310, 309)
    assert imagenet.rows_for(("bees", "ants")) == (309, 310)
    assert imagenet.rows_for(["Ant", "BEE"]) == (310, 309)  # case and plural do not matter
    assert imagenet.rows_for(["golden_retriever", "tabby"]) == (207, 281)
    for rows in [(207, 281), (310, 309)]:
        names = [imagenet.CATEGORIES[r] for r in rows]
        assert imagenet.rows_for(names) == rows  # the oracle: ImageNet's own category names


def test_rows_for_is_none_when_a_class_has_no_row_or_no_single_one():
    assert imagenet.rows_for(["cats", "dogs"]) is None  # no category of either name
    assert imagenet.rows_for(["ants", "wasps"]) is None  # one of the two is enough
    assert imagenet.rows_for(["ants", "ant"]) is None  # two classes on one row
    # 'Cardigan' (264, the corgi) and 'cardigan' (474, the sweater): case ignored, two rows
    assert [c.lower() for c in imagenet.CATEGORIES].count("cardigan") == 2
    assert imagenet.rows_for(["cardigan", "bees"]) is None
