"""Tests for vc.widgets: the freeze-layers panel, driven by setting widget values."""

from __future__ import annotations


import pytest
import torchvision
from matplotlib.figure import Figure

from vgg_course import freezing, models, recipes, widgets

BLOCKS = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
tiny_vgg = models.tiny_vgg  # builds in milliseconds


def flags(panel: widgets.FreezeWidget) -> dict[str, bool]:
    return {name: toggle.value for name, toggle in panel.toggles.items()}


def test_controls_have_stable_descriptions_and_css_classes():
    panel = widgets.freeze_widget(tiny_vgg(2), chart=True)
    assert [t.description for t in panel.toggles.values()] == BLOCKS
    assert [t._dom_classes for t in panel.toggles.values()] == [(f"vgg-freeze-{n}",) for n in BLOCKS]
    assert panel.up_to.description == "freeze up to" and panel.up_to._dom_classes == ("vgg-freeze-up-to",)
    assert panel.counts._dom_classes == ("vgg-freeze-counts",)
    assert panel.chart._dom_classes == ("vgg-freeze-chart",)
    assert panel._dom_classes == ("vgg-freeze-widget",)
    assert panel.up_to.options == (widgets.NONE, *BLOCKS, widgets.CUSTOM)
    assert panel.chart.value[:4] == b"\x89PNG"


def test_initial_block_name_freezes_up_to_it():
    model = tiny_vgg(2)
    panel = widgets.freeze_widget(model, initial="conv5", chart=False)
    assert freezing.frozen_blocks(model) == BLOCKS[:5]
    assert flags(panel) == {n: n.startswith("conv") for n in BLOCKS}
    assert panel.up_to.value == "conv5"
    assert panel.counts_text == "trainable 51,330 | frozen 57,828 | total 109,158"


def test_clicking_a_toggle_changes_the_model_and_the_counts():
    model = tiny_vgg(2)
    panel = widgets.freeze_widget(model, initial="conv5", chart=False)
    panel.toggles["fc6"].value = True
    assert not model.classifier[0].weight.requires_grad and model.classifier[3].weight.requires_grad
    assert panel.up_to.value == "fc6"
    assert panel.counts_text == f"trainable {1_056 + 66:,} | frozen {109_158 - 1_122:,} | total 109,158"
    panel.toggles["conv2"].value = False
    assert model.features[5].weight.requires_grad and not model.features[0].weight.requires_grad
    assert panel.up_to.value == widgets.CUSTOM
    assert panel.toggles["conv2"].icon == "unlock" and panel.toggles["conv1"].icon == "lock"
    assert panel.counts_text == str(freezing.counts(model))


def test_dropdown_sets_the_whole_state():
    model = tiny_vgg(2)
    panel = widgets.freeze_widget(model, initial={"conv3": True, "fc8": True}, chart=False)
    assert panel.up_to.value == widgets.CUSTOM
    panel.up_to.value = "conv2"
    assert freezing.frozen_blocks(model) == ["conv1", "conv2"]
    assert flags(panel) == {n: n in ("conv1", "conv2") for n in BLOCKS}
    panel.up_to.value = widgets.NONE
    assert freezing.counts(model).frozen == 0 and not any(flags(panel).values())
    panel.up_to.value = "fc8"
    assert freezing.counts(model).trainable == 0
    assert panel.counts_text == "trainable 0 | frozen 109,158 | total 109,158"


def test_mixed_block_shows_as_partly_frozen_and_chart_follows():
    model = tiny_vgg(2)
    panel = widgets.freeze_widget(model)
    before = panel.chart.value
    model.features[0].weight.requires_grad_(False)
    panel.refresh()
    assert panel.toggles["conv1"].tooltip == "partly frozen" and panel.toggles["conv1"].value is False
    assert panel.up_to.value == widgets.CUSTOM
    panel.toggles["fc6"].value = True
    assert panel.chart.value != before


def test_bad_initial_values():
    with pytest.raises(ValueError, match="initial must be '\\(none\\)' or a block name: conv1"):
        widgets.freeze_widget(tiny_vgg(2), initial="conv9", chart=False)
    with pytest.raises(ValueError, match=r"unknown blocks in initial: \['fc9'\]"):
        widgets.freeze_widget(tiny_vgg(2), initial={"fc9": True}, chart=False)


def test_block_chart_returns_a_figure():
    fig = widgets.block_chart(torchvision.models.squeezenet1_1(weights=None))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
        "classifier", "block4", "block3", "block2", "block1"]
    assert fig.axes[0].get_title() == "trainable: 1,235,496 of 1,235,496"
    assert isinstance(fig, Figure) and fig._repr_png_()[:4] == b"\x89PNG"  # displays without pyplot


@pytest.mark.slow
def test_vgg16_panel_shows_the_transfer_learning_counts(real_vgg16):
    recipes.transfer_learning(real_vgg16, 2)
    panel = widgets.freeze_widget(real_vgg16)
    assert panel.up_to.value == "fc7"
    assert panel.counts_text == "trainable 8,194 | frozen 134,260,544 | total 134,268,738"
    panel.up_to.value = "conv4"
    assert panel.counts_text == "trainable 126,633,474 | frozen 7,635,264 | total 134,268,738"
