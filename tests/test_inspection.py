"""Structure tables and parameter counts, checked against torch itself."""

from __future__ import annotations

import torch
from torchvision.models import vgg16

import vgg_course as vc
from vgg_course import inspection


def _meta_vgg16():
    with torch.device("meta"):
        return vgg16()


def test_module_path_and_resolve_agree_with_torch():
    model = vc.models.tiny_vgg()
    for key in model.state_dict():
        assert inspection.resolve(model, key) is model.get_parameter(key)
        expr = inspection.module_path(key)
        owner = eval(expr, {"model": model})  # noqa: S307 - the expression is ours
        assert getattr(owner, key.rsplit(".", 1)[1]) is model.get_parameter(key)
    assert inspection.module_path("features.2.weight") == "model.features[2]"
    assert inspection.module_path("layer1.0.conv1.weight", root="m") == "m.layer1[0].conv1"


def test_state_dict_table_rows_match_the_state_dict():
    model = _meta_vgg16()
    model.features[0].weight.requires_grad_(False)
    table = inspection.state_dict_table(model)
    sd = model.state_dict()
    assert table.keys() == list(sd)
    assert len(table) == 32
    for row in table.rows:
        assert row.shape == tuple(sd[row.key].shape)
        assert row.numel == sd[row.key].numel()
    assert table.rows[0].requires_grad is False and table.rows[1].requires_grad is True
    assert table.rows[2].layer.startswith("Conv2d(64, 64")
    text = repr(table)
    assert "features.14.weight" in text and "model.features[14]" in text and "589,824" in text
    assert "<table>" in table._repr_html_()


def test_state_dict_table_marks_buffers():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    rows = {r.key: r for r in inspection.state_dict_table(model).rows}
    assert rows["1.running_mean"].requires_grad is None
    assert "buffer" in repr(inspection.state_dict_table(model))


def test_param_counts_match_torch_and_track_freezing():
    model = _meta_vgg16()
    counts = inspection.param_counts(model)
    assert counts.total == sum(p.numel() for p in model.parameters()) == 138_357_544
    assert counts["features"].total == 14_714_688
    assert counts["classifier"].total == 123_642_856
    assert counts["avgpool"].total == 0
    for p in model.features.parameters():
        p.requires_grad_(False)
    counts = inspection.param_counts(model)
    assert counts.trainable == 123_642_856 and counts.frozen == 14_714_688
    assert counts["features"].frozen == 14_714_688
    text = repr(counts)
    assert "138,357,544" in text and "89.4%" in text


def test_conv_indices_and_layer_kinds_of_vgg16():
    model = _meta_vgg16()
    assert inspection.conv_indices(model) == [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]
    assert inspection.layer_kinds(model) == {"Conv2d": 13, "ReLU": 15, "MaxPool2d": 5,
                                             "Linear": 3, "Dropout": 2}


def test_summary_has_a_trainable_column_that_follows_requires_grad():
    model = vc.models.tiny_vgg(num_classes=2)
    for p in model.features.parameters():
        p.requires_grad_(False)
    text = str(inspection.summary(model, input_size=(1, 3, 32, 32)))
    assert "Trainable" in text
    assert "Trainable params: 51,330" in text  # the classifier only
    assert "Total params: 109,158" in text
