"""Tests for vc.freezing: block maps, freeze/unfreeze by module, pattern and block, counts."""

from __future__ import annotations


import pytest
import torchvision
from torch import nn

from vgg_course import freezing, models

VGG16_SPANS = {
    "conv1": "features[0:5]", "conv2": "features[5:10]", "conv3": "features[10:17]",
    "conv4": "features[17:24]", "conv5": "features[24:31]",
    "fc6": "classifier[0:3]", "fc7": "classifier[3:6]", "fc8": "classifier[6]",
}


tiny_vgg = models.tiny_vgg  # builds in milliseconds


def manual_counts(model: nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    return trainable, frozen


@pytest.mark.slow
def test_vgg16_blocks_match_the_documented_indices_and_counts(real_vgg16):
    blocks = freezing.blocks(real_vgg16)
    assert {b.name: b.span for b in blocks} == VGG16_SPANS
    assert freezing.blocks(real_vgg16)[2].paths == tuple(f"features.{i}" for i in range(10, 17))
    table = {r.name: r.total for r in freezing.block_table(real_vgg16).rows}
    assert table == {"conv1": 38_720, "conv2": 221_440, "conv3": 1_475_328, "conv4": 5_899_776,
                     "conv5": 7_079_424, "fc6": 102_764_544, "fc7": 16_781_312, "fc8": 4_097_000}
    assert sum(table.values()) == 138_357_544
    # every parameter belongs to exactly one block
    assert sum(len(list(real_vgg16.get_submodule(p).parameters()))
               for b in blocks for p in b.paths) == len(list(real_vgg16.parameters())) == 32


@pytest.mark.slow
def test_freeze_up_to_conv4_on_vgg16(real_vgg16):
    change = freezing.freeze_up_to(real_vgg16, "conv4")
    assert change.before == freezing.Counts(138_357_544, 0)
    assert change.after.frozen == 38_720 + 221_440 + 1_475_328 + 5_899_776
    assert freezing.frozen_blocks(real_vgg16) == ["conv1", "conv2", "conv3", "conv4"]
    assert real_vgg16.features[16].__class__ is nn.MaxPool2d
    assert not real_vgg16.features[21].weight.requires_grad
    assert real_vgg16.features[24].weight.requires_grad


def test_freeze_whole_model_matches_the_plain_loop():
    helper, loop = tiny_vgg(2), tiny_vgg(2)
    change = freezing.freeze(helper)
    for param in loop.parameters():
        param.requires_grad = False
    assert [p.requires_grad for p in helper.parameters()] == [p.requires_grad for p in loop.parameters()]
    assert (change.after.trainable, change.after.frozen) == manual_counts(loop) == (0, 109_158)
    assert change.tensors_changed == 32
    assert freezing.freeze(helper).tensors_changed == 0  # freezing again changes nothing


def test_freeze_a_part_reports_counts_of_the_whole_model():
    model = tiny_vgg(2)
    change = freezing.freeze(model.features, model=model)
    assert (change.after.trainable, change.after.frozen) == manual_counts(model)
    assert change.after.trainable == 50_208 + 1_056 + 66
    assert all(p.requires_grad for p in model.classifier.parameters())
    unfreeze = freezing.unfreeze(model.features[0], model=model)
    assert unfreeze.tensors_changed == 2 and model.features[0].weight.requires_grad
    assert freezing.trainable_count(model) == manual_counts(model)[0]


def test_change_repr_reads_well():
    change = freezing.freeze_up_to(tiny_vgg(2), "conv5")
    assert repr(change) == ("freeze_up_to('conv5'): trainable 109,158 -> 51,330, frozen 0 -> 57,828 "
                            "(of 109,158; 26 tensors changed)")
    assert "<table>" in change._repr_html_() and "57,828" in change._repr_html_()


def test_freeze_matching_uses_glob_patterns():
    model = tiny_vgg(2)
    change = freezing.freeze_matching(model, "*.bias")
    assert change.tensors_changed == 16
    assert all(p.requires_grad == (not name.endswith(".bias")) for name, p in model.named_parameters())
    freezing.unfreeze_matching(model, "classifier.*")
    assert model.classifier[0].bias.requires_grad and not model.features[0].bias.requires_grad
    with pytest.raises(ValueError, match=r"no parameter name matches 'clasifier\.\*'.*features\.0\.weight"):
        freezing.freeze_matching(model, "clasifier.*")


def test_freeze_up_to_sets_the_whole_state_whatever_it_was():
    model = tiny_vgg(2)
    freezing.freeze_blocks(model, "fc7", "conv3")
    freezing.freeze_up_to(model, "conv2")
    assert freezing.frozen_blocks(model) == ["conv1", "conv2"]
    assert freezing.block_state(model)["fc7"] is False
    freezing.freeze_up_to(model, "fc8")
    assert freezing.counts(model).trainable == 0
    freezing.freeze_up_to(model, None)
    assert freezing.counts(model).frozen == 0


def test_block_state_reports_mixed_blocks():
    model = tiny_vgg(2)
    model.features[0].weight.requires_grad_(False)
    state = freezing.block_state(model)
    assert state["conv1"] is None and state["conv2"] is False
    freezing.freeze_blocks(model, "conv1")
    assert freezing.block_state(model)["conv1"] is True
    freezing.unfreeze_blocks(model, "conv1")
    assert freezing.block_state(model)["conv1"] is False


def test_block_errors_name_the_valid_blocks():
    model = tiny_vgg(2)
    with pytest.raises(ValueError, match="unknown block 'conv6'.*conv1, conv2.*fc8"):
        freezing.freeze_blocks(model, "conv6")
    with pytest.raises(ValueError, match="name at least one block"):
        freezing.freeze_blocks(model)
    with pytest.raises(TypeError, match="no `features` Sequential.*freeze_matching"):
        freezing.blocks(nn.Sequential(nn.Linear(2, 2)))


def test_squeezenet_blocks_cut_after_each_pool():
    model = torchvision.models.squeezenet1_1(weights=None)
    blocks = freezing.blocks(model)
    assert [(b.name, b.span) for b in blocks] == [
        ("block1", "features[0:3]"), ("block2", "features[3:6]"), ("block3", "features[6:9]"),
        ("block4", "features[9:13]"), ("classifier", "classifier[0:4]")]
    rows = {r.name: r.total for r in freezing.block_table(model).rows}
    assert rows["block4"] == 602_080 and sum(rows.values()) == 1_235_496


def test_block_table_text():
    model = tiny_vgg(2)
    freezing.freeze_up_to(model, "fc7")
    assert repr(freezing.block_table(model)).splitlines()[::4] == [
        "block  modules          trainable  parameters   share",
        "conv4  features[17:24]          0      23,136   21.2%",
        "fc8    classifier[6]           66          66    0.1%",
    ]
    assert freezing.block_table(model).counts == freezing.counts(model)


def test_counts_text():
    c = freezing.Counts(8_194, 134_260_544)
    assert str(c) == "trainable 8,194 | frozen 134,260,544 | total 134,268,738"  # the widget label
    assert repr(c) == "Counts(trainable=8,194, frozen=134,260,544, total=134,268,738)"
