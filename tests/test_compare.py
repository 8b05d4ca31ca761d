"""Tests for vgg_course.compare: every recipe under one budget, its files, its CLI."""

from __future__ import annotations

import csv
import json
import shutil

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from torch import nn
from torchvision.transforms import v2

import vgg_course as vc
from vgg_course import compare, engine, folders
from vgg_course.__main__ import main

SMALL = v2.Compose([v2.Resize((32, 32)), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
# trainable parameters of each recipe on tiny_vgg with 2 classes (see vc.recipes' doctests)
TINY_TRAINABLE = {"transfer_learning": 66, "finetune_new_classifier": 51_330,
                  "finetune_pretrained_classifier": 51_330, "partial_finetune": 79_074,
                  "full_finetune": 109_158, "from_scratch": 109_158}


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    return vc.datasets.practice_dataset(tmp_path_factory.mktemp("data") / "practice")


@pytest.fixture(scope="module")
def tiny_run(practice, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    starts = {}
    real_fit = engine.fit

    def spy(model, *args, **kwargs):  # record the weights each recipe starts from
        starts[len(starts)] = model.features[0].weight.detach().clone()
        return real_fit(model, *args, **kwargs)

    engine.fit = spy
    try:
        result = compare.run(vc.models.tiny_vgg(2), practice, budget=compare.Budget(epochs=2),
                             transforms=(SMALL, SMALL), device="cpu", progress=False, out=out)
    finally:
        engine.fit = real_fit
    return result, out, starts


def test_every_recipe_runs_with_its_trainable_count(tiny_run):
    result, _, _ = tiny_run
    assert [r.recipe for r in result.results] == list(vc.recipes.RECIPES)
    assert {r.recipe: r.trainable_params for r in result.results} == TINY_TRAINABLE
    for r in result.results:
        assert r.epochs == 2 and len(r.curves["val_acc"]) == 2
        assert r.best_val_acc == max(r.curves["val_acc"]) and r.final_val_acc == r.curves["val_acc"][-1]
        assert 0 < r.s_per_epoch <= r.total_s and r.images_per_s > 0
        assert r.peak_cpu_mb > 50 and r.peak_gpu_mb is None and r.device == "cpu"
        assert r.precision in {"fp32", "bfloat16"}
    assert result.n_train == 80 and result.n_val == 40 and result.classes == ["ants", "bees"]


def test_frozen_backbone_recipes_use_cached_features(tiny_run):
    result, _, _ = tiny_run
    cached = {r.recipe for r in result.results if r.cached_features}
    assert cached == set(compare.FROZEN_BACKBONE)
    assert all(r.setup_s > 0 for r in result.results if r.cached_features)


def test_every_recipe_starts_from_the_same_weights(tiny_run):
    _, _, starts = tiny_run
    names = list(vc.recipes.RECIPES)
    reference = starts[0]
    for i, name in enumerate(names):
        same = torch.equal(starts[i], reference)
        assert same == (name != "from_scratch"), name


def test_files_written(tiny_run):
    result, out, _ = tiny_run
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["budget"]["epochs"] == 2
    assert [r["recipe"] for r in saved["results"]] == list(vc.recipes.RECIPES)
    with open(out / "comparison.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(vc.results.ROW_KEYS)
    assert [int(r["trainable_params"]) for r in rows] == list(TINY_TRAINABLE.values())
    summary = (out / "summary.md").read_text()
    assert all(f"| {name}" in summary for name in vc.recipes.RECIPES)
    for name in ("curves", "accuracy_vs_cost", "confusion", "predictions"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    p = saved["predictions"]
    assert p["recipe"] == result.best().recipe and len(p["paths"]) == len(p["preds"]) == 40


def test_repr_and_markdown_list_every_recipe(tiny_run):
    result, _, _ = tiny_run
    text, markdown = repr(result), result._repr_markdown_()
    for name in vc.recipes.RECIPES:
        assert name in text and name in markdown
    assert "(cached features)" in markdown


def _one_class(tmp_path, practice):
    root = tmp_path / "one"
    for split in ("train", "val"):
        shutil.copytree(practice / split / "ants", root / split / "ants")
    return root


@pytest.fixture()
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(engine, "fit", refuse)
    monkeypatch.setattr(compare, "load_model", refuse)


def test_one_class_is_refused_before_training(tmp_path, practice, no_training):
    with pytest.raises(folders.DataError, match="only one class"):
        compare.run("squeezenet", _one_class(tmp_path, practice), progress=False)


def test_val_class_missing_from_train_is_refused_before_training(tmp_path, practice, no_training):
    root = tmp_path / "extra"
    shutil.copytree(practice, root)
    shutil.copytree(practice / "val" / "bees", root / "val" / "wasps")
    with pytest.raises(folders.DataError, match=r"\['wasps'\] that train/ lacks"):
        compare.run("squeezenet", root, progress=False)


def test_bad_names_are_refused_early(practice, no_training):
    with pytest.raises(ValueError, match="Did you mean 'transfer_learning'"):
        compare.run("squeezenet", practice, recipe_names=["transfer_lerning"])
    with pytest.raises(ValueError, match="vgg16, squeezenet"):
        compare.run("resnet", practice)
    with pytest.raises(ValueError, match="transforms="):
        compare.run(vc.models.tiny_vgg(2), practice)
    with pytest.raises(ValueError, match="epochs"):
        compare.Budget(epochs=0)


class _FcNet(nn.Module):
    """ResNet's shape: no features/classifier sections, an `fc` head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


def test_recipes_that_do_not_fit_the_model_are_skipped_with_the_reason(practice):
    result = compare.run(_FcNet(), practice, budget=compare.Budget(epochs=1),
                         transforms=(SMALL, SMALL), device="cpu", progress=False)
    assert [r.recipe for r in result.results] == ["transfer_learning", "full_finetune", "from_scratch"]
    assert set(result.skipped) == {"finetune_new_classifier", "finetune_pretrained_classifier",
                                   "partial_finetune"}
    assert "`features` section" in result.skipped["partial_finetune"]
    assert result.result("transfer_learning").trainable_params == 4 * 2 + 2
    assert "was not run" in result.to_markdown()


def test_cli_reports_bad_data_clearly(tmp_path, practice, capsys, no_training):
    code = main(["compare", "--model", "squeezenet", "--data", str(_one_class(tmp_path, practice)),
                 "--epochs", "1", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "only one class" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_runs_the_vgg16_comparison_in_quick_mode(tmp_path, practice, capsys, monkeypatch):
    monkeypatch.setenv("VGG_COURSE_QUICK", "1")  # practice weights: nothing to download
    code = main(["compare", "--model", "vgg16", "--data", str(practice), "--epochs", "1",
                 "--image-size", "32", "--batch-size", "40", "--device", "cpu",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr()
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    trainable = {r["recipe"]: r["trainable_params"] for r in saved["results"]}
    assert trainable == {"transfer_learning": 8_194, "finetune_new_classifier": 119_554_050,
                         "finetune_pretrained_classifier": 119_554_050,
                         "partial_finetune": 126_633_474, "full_finetune": 134_268_738,
                         "from_scratch": 134_268_738}
    assert "RANDOM practice weights" in saved["model_note"]
    assert "| transfer_learning" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.photos
def test_companion_transfer_learning_beats_training_from_scratch(photos_dir):
    # measured on 2 CPU cores: transfer learning 88.2%, 90.8%, 92.8% after epochs 1-3;
    # from scratch 45.8% (it diverges with Caffe-scale inputs)
    result = compare.run("squeezenet", photos_dir, recipe_names=["transfer_learning", "from_scratch"],
                         budget=compare.Budget(epochs=3), device="cpu", keep_predictions=False,
                         progress=False)
    transfer, scratch = result.result("transfer_learning"), result.result("from_scratch")
    assert transfer.best_val_acc >= 0.90, result.to_markdown()
    assert transfer.best_val_acc - scratch.best_val_acc >= 0.25, result.to_markdown()


def test_a_diverged_run_is_reported(practice, monkeypatch):
    def diverged(model, *args, epochs, **kwargs):
        record = engine.EpochRecord(epoch=1, train_loss=float("nan"), train_accuracy=0.5,
                                    val_loss=float("nan"), val_accuracy=0.5, seconds=0.1,
                                    images_per_s=1.0, peak_memory_mb=None, lr=0.1)
        return engine.History(records=[record], device="cpu", precision="fp32")

    monkeypatch.setattr(engine, "fit", diverged)
    result = compare.run(vc.models.tiny_vgg(2), practice, recipe_names=["from_scratch"],
                         budget=compare.Budget(epochs=1), transforms=(SMALL, SMALL),
                         device="cpu", keep_predictions=False, progress=False)
    assert "training diverged" in result.to_markdown()
