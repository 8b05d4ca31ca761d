"""Tests for vgg_course.compare: every recipe under one budget, its files, its CLI."""

from __future__ import annotations

import csv
import json
import re
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
                  "finetune_pretrained_classifier": 51_330, "finetune_imagenet_rows": 51_330,
                  "partial_finetune": 79_074,
                  "full_finetune": 109_158, "from_scratch": 109_158}


@pytest.fixture(scope="module")
def practice(tmp_path_factory):
    return vc.datasets.practice_dataset(tmp_path_factory.mktemp("data") / "practice")


SMALL_SCRATCH = compare.ScratchBudget(epochs=2, image_size=None)


@pytest.fixture(scope="module")
def tiny_run(practice, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    starts, caches = [], []
    real_apply, real_cache = vc.recipes.apply, vc.features.cache

    def spy_apply(name, model, num_classes, **kw):  # the weights each application starts from
        starts.append((name, model.features[0].weight.detach().clone()))
        return real_apply(name, model, num_classes, **kw)

    def spy_cache(*args, **kwargs):
        caches.append(args[0])
        return real_cache(*args, **kwargs)

    vc.recipes.apply, vc.features.cache = spy_apply, spy_cache
    try:
        # ImageNet's 1,000 outputs: finetune_imagenet_rows has rows 310 and 309 to start from
        result = compare.run(vc.models.tiny_vgg(1000), practice,
                             budget=compare.Budget(epochs=2, repeats=2, scratch=SMALL_SCRATCH,
                                                   device="cpu"),
                             transforms=(SMALL, SMALL), progress=False, out=out)
    finally:
        vc.recipes.apply, vc.features.cache = real_apply, real_cache
    return result, out, starts, caches


def test_every_recipe_runs_with_its_trainable_count(tiny_run):
    result, _, _, _ = tiny_run
    assert [r.recipe for r in result.results] == list(vc.recipes.RECIPES)
    assert {r.recipe: r.trainable_params for r in result.results} == TINY_TRAINABLE
    for r in result.results:
        assert r.epochs == 2 and r.seeds == [0, 1] and len(r.curves["val_acc"]) == 2
        assert r.final_val_acc == pytest.approx(sum(r.val_acc_runs) / 2)
        assert r.val_acc_runs == [run.curves["val_acc"][-1] for run in r.runs]
        assert 0 < r.s_per_epoch <= r.total_s and r.images_per_s > 0
        assert r.peak_gpu_mb is None and r.device == "cpu"
        if vc.memory.resident_peak().bytes is None:  # e.g. Windows without psutil
            assert r.peak_cpu_mb is None
        else:
            assert r.peak_cpu_mb > 50
        assert r.precision in {"fp32", "bfloat16"} and r.failure is None
    assert result.n_train == 80 and result.n_val == 40 and result.classes == ["ants", "bees"]


def test_recipes_with_a_frozen_prefix_cache_it_once_for_every_seed(tiny_run):
    result, _, _, caches = tiny_run
    cached = {r.recipe for r in result.results if r.cached_features}
    # every recipe with a frozen prefix caches it (the lab names none: cacheable.check decides)
    assert cached == {"transfer_learning", "finetune_new_classifier",
                      "finetune_pretrained_classifier", "finetune_imagenet_rows", "partial_finetune"}
    # three prefixes: up to classifier.1 (TL), up to flatten (the three finetune_* share it),
    # up to features.23 (partial): one caching pass each, whatever the number of seeds
    assert len(caches) == 3
    assert sum(1 for r in result.results if r.setup_s > 0) == 3


def test_every_recipe_and_seed_starts_from_the_same_weights(tiny_run):
    _, _, starts, _ = tiny_run
    reference = starts[0][1]
    assert {name for name, _ in starts} == set(vc.recipes.RECIPES)
    assert all(torch.equal(w, reference) for _, w in starts)


def test_seeds_change_the_runs(tiny_run):
    result, _, _, _ = tiny_run
    full = result.result("full_finetune")
    assert full.runs[0].curves["train_loss"] != full.runs[1].curves["train_loss"]


def test_from_scratch_gets_its_own_settings(tiny_run):
    result, _, _, _ = tiny_run
    scratch = result.result("from_scratch")
    assert scratch.settings == str(SMALL_SCRATCH) and "AdamW" in scratch.settings
    assert "its own settings" in result.to_markdown()


def test_files_written(tiny_run):
    result, out, _, _ = tiny_run
    saved = json.loads((out / "comparison.json").read_text())
    assert saved["budget"]["epochs"] == 2 and saved["budget"]["repeats"] == 2
    assert [r["recipe"] for r in saved["results"]] == list(vc.recipes.RECIPES)
    assert all(r["seeds"] == [0, 1] and len(r["runs"]) == 2 and "val_acc_sd" in r
               for r in saved["results"])
    assert saved["one_image"] == pytest.approx(1 / 40)
    with open(out / "comparison.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(vc.compare.results.ROW_KEYS)
    assert [int(r["trainable_params"]) for r in rows] == list(TINY_TRAINABLE.values())
    assert all(len(r["val_acc_runs"].split(";")) == 2 for r in rows)
    summary = (out / "summary.md").read_text()
    assert all(f"| {name}" in summary for name in vc.recipes.RECIPES)
    assert "mean ± standard deviation over the seeds" in summary
    for name in ("curves", "accuracy_vs_cost", "confusion", "predictions"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    p = saved["predictions"]
    assert p["recipe"] == result.best().recipe and len(p["paths"]) == len(p["preds"]) == 40


def test_repr_and_markdown_list_every_recipe(tiny_run):
    result, _, _, _ = tiny_run
    text, markdown = repr(result), result._repr_markdown_()
    for name in vc.recipes.RECIPES:
        assert name in text and name in markdown
    assert "(cached features)" in markdown and "±" in text


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
    monkeypatch.setattr(vc.models, "load", refuse)


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
    result = compare.run(_FcNet(), practice, budget=compare.Budget(epochs=1, repeats=1,
                                                                   scratch=SMALL_SCRATCH,
                                                                   device="cpu"),
                         transforms=(SMALL, SMALL), progress=False)
    assert [r.recipe for r in result.results] == ["transfer_learning", "full_finetune", "from_scratch"]
    assert set(result.skipped) == {"finetune_new_classifier", "finetune_pretrained_classifier",
                                   "finetune_imagenet_rows", "partial_finetune"}
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
                 "--image-size", "32", "--batch-size", "40", "--device", "cpu", "--repeats", "1",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr()
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    trainable = {r["recipe"]: r["trainable_params"] for r in saved["results"]}
    assert trainable == {"transfer_learning": 8_194, "finetune_new_classifier": 119_554_050,
                         "finetune_pretrained_classifier": 119_554_050,
                         "finetune_imagenet_rows": 119_554_050,  # the same layers, another start
                         "partial_finetune": 126_633_474, "full_finetune": 134_268_738,
                         "from_scratch": 134_268_738}
    assert "RANDOM practice weights" in saved["model_note"]
    assert "| transfer_learning" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.photos
def test_companion_transfer_learning_beats_an_honest_from_scratch_baseline(photos_dir):
    # measured on 2 CPU cores (see README "Results"): transfer learning about 92% +- 1, from
    # scratch with its own settings about 65-70%, well above "always bees" (54.2%)
    result = compare.run("squeezenet", photos_dir, recipe_names=["transfer_learning", "from_scratch"],
                         budget=compare.Budget(epochs=3, device="cpu"), keep_predictions=False,
                         progress=False)
    transfer, scratch = result.result("transfer_learning"), result.result("from_scratch")
    assert transfer.failure is None and scratch.failure is None, result.to_markdown()
    assert transfer.final_val_acc >= 0.90, result.to_markdown()
    assert scratch.final_val_acc > 83 / 153 + 2 / 153, result.to_markdown()  # beats the majority class
    assert transfer.final_val_acc - scratch.final_val_acc >= 0.15, result.to_markdown()
    assert result.differs("transfer_learning", "from_scratch")


def test_a_diverged_run_is_a_failure_with_the_fix_not_an_accuracy(practice, monkeypatch):
    def diverged(model, *args, epochs, **kwargs):
        record = vc.history.EpochRecord(epoch=1, train_loss=float("nan"), train_accuracy=0.5,
                                    val_loss=float("nan"), val_accuracy=0.5, seconds=0.1,
                                    images_per_s=1.0, peak_memory_mb=None, lr=0.1)
        return vc.history.History(records=[record], device="cpu", precision="fp32")

    real_fit = engine.fit
    monkeypatch.setattr(engine, "fit", lambda model, *a, **k: (
        diverged(model, *a, **k) if k.get("scheduler") is not None else real_fit(model, *a, **k)))
    result = compare.run(vc.models.tiny_vgg(2), practice,
                         recipe_names=["transfer_learning", "from_scratch"],
                         budget=compare.Budget(epochs=1, repeats=2, scratch=SMALL_SCRATCH,
                                               device="cpu"),
                         transforms=(SMALL, SMALL), keep_predictions=False,
                         progress=False)
    scratch = result.result("from_scratch")
    assert scratch.failure and "diverged" in scratch.failure and "smaller learning rate" in scratch.failure
    markdown = result.to_markdown()
    row = next(line for line in markdown.splitlines() if line.startswith("| from_scratch"))
    assert "| failed |" in row and "%" not in row.split("|")[3]
    assert "from_scratch FAILED" in markdown
    assert result.best().recipe == "transfer_learning" and scratch not in result.tied_with_best()


def _result(name, accs, trainable=1, n_val=None, settings="", seconds=1.0, untrained=None):
    runs = [vc.compare.results.Run(seed, {"val_acc": [a], "val_loss": [0.5], "train_loss": [0.5],
                                  "train_acc": [a]}, seconds, untrained_val_acc=untrained)
            for seed, a in enumerate(accs)]
    return vc.compare.results.RecipeResult(name, trainable, 1, runs, 0.0, None, None, "cpu", "fp32",
                                   False, 100, settings=settings, n_val=n_val)


def test_differences_inside_the_noise_are_not_wins():
    table = vc.compare.results.Comparison("m", "", "d", ["a", "b"], 100, 100, compare.Budget(), [
        _result("steady", [0.90, 0.91, 0.92]),        # 91% +- 1
        _result("noisy", [0.86, 0.93, 0.95]),         # 91.3% +- 4.7
        _result("worse", [0.80, 0.81, 0.80]),         # 80.3% +- 0.6
        _result("one_image_less", [0.90, 0.90, 0.90]),  # 1 point = one image of 100 below steady
    ])
    assert table.one_image == 0.01
    assert table.best().recipe == "noisy"
    assert not table.differs("steady", "noisy")
    assert table.differs("steady", "worse")
    assert not table.differs("steady", "one_image_less")
    assert [r.recipe for r in table.tied_with_best()] == ["steady", "noisy", "one_image_less"]
    assert "Within that noise of the best: steady, one_image_less" in table.conclusion()


def test_a_platform_without_peak_memory_gets_dashes_and_every_file(tmp_path):
    table = vc.compare.results.Comparison("m", "", "d", ["a", "b"], 100, 100, compare.Budget(), [
        _result("one", [0.90, 0.92]), _result("two", [0.70, 0.72])])
    assert all(r.peak_cpu_mb is None and r.peak_gpu_mb is None for r in table.results)
    row = next(line for line in table.to_markdown().splitlines() if line.startswith("| one"))
    assert row.endswith("| - | - |")
    written = table.save(tmp_path)
    assert {"json", "csv", "markdown", "curves", "accuracy_vs_cost"} <= set(written)
    assert json.loads(written["json"].read_text())["results"][0]["peak_cpu_mb"] is None


def test_recipes_that_train_the_same_parameters_are_one_recipe(practice, monkeypatch):
    squeeze = vc.companion.load_squeezenet(pretrained=False)  # vc.recipes.signature says so
    result = compare.run(squeeze, practice, recipe_names=["transfer_learning",
                                                          "finetune_new_classifier",
                                                          "finetune_pretrained_classifier",
                                                          "finetune_imagenet_rows"],
                         budget=compare.Budget(epochs=1, repeats=1, device="cpu", precision="fp32"),
                         transforms=(SMALL, SMALL), keep_predictions=False,
                         progress=False)
    # the rows recipe trains the same head from other values: a recipe of its own
    assert [r.recipe for r in result.results] == ["transfer_learning", "finetune_imagenet_rows"]
    assert result.results[0].same_as == ["finetune_new_classifier", "finetune_pretrained_classifier"]
    assert result.result("finetune_new_classifier") is result.results[0]
    assert "transfer_learning (= finetune_new_classifier, finetune_pretrained_classifier)" in result.to_markdown()
    # untrained, the rows head is the network's own ImageNet outputs: the baseline, exactly
    rows = result.result("finetune_imagenet_rows")
    assert rows.untrained_val_acc == result.baseline
    # ... which known_classes measures on its own, one image at a time
    val = vc.data.image_folders(practice, train_transform=SMALL, val_transform=SMALL)[1]
    known = vc.imagenet.known_classes(squeeze, torch.utils.data.DataLoader(val, batch_size=1))
    assert result.baseline == pytest.approx(known.accuracy)
    assert "310, 309 ('ant', 'bee')" in result.baseline_note


def _with_bad_files(tmp_path, practice):
    root = tmp_path / "data"
    shutil.copytree(practice, root)
    (root / "train" / "ants" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "val" / "bees" / "notes.txt").write_text("labels to check")
    return root


def test_skipped_files_are_named_in_the_table_files_and_cli(tmp_path, practice, capsys):
    root = _with_bad_files(tmp_path, practice)
    code = main(["compare", "--model", "squeezenet", "--data", str(root), "--epochs", "1",
                 "--repeats", "1", "--image-size", "32", "--recipes", "transfer_learning",
                 "--device", "cpu", "--out", str(tmp_path / "out")])
    assert code == 0
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    before_training = printed.split("| recipe")[0]
    for name in ("train/ants/broken.png", "val/bees/notes.txt", "train/ants/imageNotFound.gif"):
        assert name in before_training, printed
    assert "opened and fully decoded" in before_training
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    paths = {s["path"]: s["reason"] for s in saved["skipped_files"]}
    assert set(paths) == {"train/ants/broken.png", "val/bees/notes.txt",
                          "train/ants/imageNotFound.gif"}
    assert all(paths.values())
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "skipped `train/ants/broken.png`" in summary and "skipped `val/bees/notes.txt`" in summary


def test_the_lab_resolves_one_plan_for_every_recipe_seed_cache_and_prediction(practice, monkeypatch):
    calls, real = [], vc.devices.plan
    monkeypatch.setattr(vc.devices, "plan", lambda *args: calls.append(args) or real(*args))
    result = compare.run(vc.models.tiny_vgg(2), practice,
                         recipe_names=["transfer_learning", "full_finetune", "from_scratch"],
                         budget=compare.Budget(epochs=2, repeats=2, scratch=SMALL_SCRATCH,
                                               device="cpu", precision="fp32"),
                         transforms=(SMALL, SMALL), progress=False)
    assert calls == [("cpu", "fp32")]
    assert {r.precision for r in result.results} == {"fp32"} and result.predictions is not None


@pytest.mark.usefixtures("one_thread")
def test_int8_budget_runs_end_to_end_or_is_refused_when_built(practice):
    """int8: the cached passes in int8, everything that trains (and predicts) at auto's dtype."""
    if vc.devices.int8_engine() is None:
        with pytest.raises(ValueError, match="precision='auto'"):
            compare.Budget(precision="int8")
        return
    result = compare.run(vc.models.tiny_vgg(2), practice,
                         recipe_names=["transfer_learning", "full_finetune"],
                         budget=compare.Budget(epochs=1, repeats=1, device="cpu", precision="int8"),
                         transforms=(SMALL, SMALL), progress=False)
    transfer, full = result.result("transfer_learning"), result.result("full_finetune")
    auto = vc.devices.plan("cpu", "auto").precision
    assert transfer.precision == full.precision == auto
    assert transfer.cached_features and "ran once (int8" in transfer.notes[0]
    assert not full.cached_features and full.failure is None and result.predictions is not None
    assert f"({auto}, cached passes in int8)" in result.to_markdown()


def test_the_cli_passes_its_precision_to_the_budget(tmp_path, monkeypatch, capsys):
    budgets = []
    monkeypatch.setattr(vc.compare.lab, "run", lambda *a, budget, **k: budgets.append(budget) or
                        (_ for _ in ()).throw(ValueError("stop here")))
    assert main(["compare", "--precision", "bf16", "--out", str(tmp_path)]) == 2
    assert budgets[0].precision == "bf16"
    with pytest.raises(SystemExit):
        main(["compare", "--precision", "fp16", "--out", str(tmp_path)])
    assert "invalid choice: 'fp16'" in capsys.readouterr().err


def _twin(recipe: vc.recipes.Recipe, random_start: bool) -> vc.recipes.Recipe:
    """The same recipe function under another name: no name check can know it."""
    return vc.recipes.Recipe(lambda model, n: recipe.apply(model, n), random_start=random_start)


def test_a_recipe_that_starts_from_random_weights_gets_its_own_budget_by_its_flag(practice,
                                                                                   monkeypatch):
    scratch = vc.recipes.get("from_scratch")
    monkeypatch.setitem(vc.recipes.RECIPES, "my_scratch", _twin(scratch, random_start=True))
    monkeypatch.setitem(vc.recipes.RECIPES, "my_finetune",
                        _twin(vc.recipes.get("full_finetune"), random_start=False))
    # from_scratch without its flag: the shared budget, as any pretrained recipe
    monkeypatch.setitem(vc.recipes.RECIPES, "from_scratch", _twin(scratch, random_start=False))
    own = compare.ScratchBudget(epochs=3, image_size=None)
    result = compare.run(vc.models.tiny_vgg(2), practice,
                         recipe_names=["full_finetune", "my_finetune", "from_scratch", "my_scratch"],
                         budget=compare.Budget(epochs=1, repeats=1, scratch=own, device="cpu"),
                         transforms=(SMALL, SMALL), keep_predictions=False, progress=False)
    mine, plain = result.result("my_scratch"), result.result("from_scratch")
    assert mine.settings == str(own) and mine.epochs == 3
    assert plain.settings == "" and plain.epochs == 1
    # a recipe without the flag that trains the same parameters from the same values is one
    # recipe; a random start never is, though it has from_scratch's signature here
    assert result.result("full_finetune").same_as == ["my_finetune"]
    assert result.result("from_scratch").same_as == []
    assert [r.recipe for r in result.results] == ["full_finetune", "from_scratch", "my_scratch"]


# ---------------------------------------------------------------- where results go


def test_quick_and_real_results_and_each_model_get_their_own_folder(tmp_path):
    folders_ = set()
    for mode in ("quick", "real", "practice", "full"):
        with vc.config.use(mode, results_dir=tmp_path):
            folders_ |= {compare.lab.results_folder(m) for m in ("squeezenet", "vgg16")}
    assert len(folders_) == 8 and all(f.parent == tmp_path / "06_comparison" for f in folders_)
    with vc.config.use("quick", results_dir=tmp_path):
        assert compare.lab.results_folder("vgg16", lab="comparison") == tmp_path / "comparison" / "quick-vgg16"


def test_a_quick_run_does_not_overwrite_a_real_one(tmp_path, monkeypatch, capsys):
    """The CLI's default folder follows the mode and the model: the real run's files stay."""
    monkeypatch.setenv("VGG_COURSE_DIR", str(tmp_path))
    monkeypatch.delenv("VGG_COURSE_RESULTS", raising=False)
    monkeypatch.setattr(vc.compare.lab, "run", lambda *a, out, **k: (out.mkdir(parents=True),
                        (out / "comparison.json").write_text(vc.config.settings().mode),
                        (_ for _ in ()).throw(ValueError("stop here"))))
    for mode, flag in (("real", "VGG_COURSE_REAL"), ("quick", "VGG_COURSE_QUICK")):
        for other in ("VGG_COURSE_REAL", "VGG_COURSE_QUICK", "VGG_COURSE_PRACTICE"):
            monkeypatch.delenv(other, raising=False)
        monkeypatch.setenv(flag, "1")
        vc.config.reset()
        assert main(["compare"]) == 2
        assert f"Writing into {tmp_path / 'results' / 'comparison' / f'{mode}-squeezenet'}" in (
            capsys.readouterr().out)
    saved = {p.parent.name: p.read_text() for p in (tmp_path / "results").rglob("comparison.json")}
    assert saved == {"real-squeezenet": "real", "quick-squeezenet": "quick"}


def test_outside_a_course_folder_compare_refuses_unless_out_or_here(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("VGG_COURSE_DIR", "VGG_COURSE_RESULTS"):
        monkeypatch.delenv(name, raising=False)
    outs = []
    monkeypatch.setattr(vc.compare.lab, "run", lambda *a, out, **k: outs.append(out) or
                        (_ for _ in ()).throw(ValueError("stop here")))
    assert main(["compare"]) == 2
    err = capsys.readouterr().err
    assert "--here" in err and "python -m vgg_course lessons DEST" in err and "Nothing was written" in err
    assert outs == [] and list(tmp_path.iterdir()) == []
    # --out names where the results go, not where the course data would be drawn or downloaded
    for name in ("VGG_COURSE_DATA", "VGG_COURSE_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    vc.config.reset()
    assert main(["compare", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"would write into {tmp_path.resolve() / 'data'}" in err and "--here" in err
    assert outs == [] and list(tmp_path.iterdir()) == []
    data = tmp_path.parent / f"{tmp_path.name}-photos"
    assert main(["compare", "--here"]) == 2 and main(
        ["compare", "--out", str(tmp_path / "o"), "--data", str(data)]) == 2
    mode = vc.config.settings().mode
    assert outs == [tmp_path.resolve() / "results" / "comparison" / f"{mode}-squeezenet", tmp_path / "o"]


# ---------------------------------------------------------------- a folder too big for memory


def _flat(tmp_path, practice):
    """The practice images as one folder of class folders: no train/ and val/."""
    root = tmp_path / "flat"
    for split in ("train", "val"):
        for klass in ("ants", "bees"):
            for f in (practice / split / klass).iterdir():
                (root / klass).mkdir(parents=True, exist_ok=True)
                shutil.copy(f, root / klass / f"{split}_{f.name}")
    return root


def _spy_streaming(monkeypatch):
    """Lower the lab's memory limit to 4 KB; record every statistics pass and every InMemory."""
    monkeypatch.setattr(vc.compare.lab, "_PRELOAD_LIMIT", 4096)
    passes, real_stats = [], vc.standardizing.channel_stats
    monkeypatch.setattr(vc.standardizing, "channel_stats",
                        lambda *a, **k: passes.append(len(a[0])) or real_stats(*a, **k))
    monkeypatch.setattr(vc.data.InMemory, "__init__", lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("decoded into memory")))
    return passes


def test_a_folder_too_big_for_memory_trains_every_recipe_streamed(practice, monkeypatch):
    budget = compare.Budget(epochs=1, repeats=1, scratch=SMALL_SCRATCH, device="cpu")
    kept = compare.run(vc.models.tiny_vgg(1000), practice, budget=budget,
                       transforms=(SMALL, SMALL), progress=False)
    passes = _spy_streaming(monkeypatch)
    streamed = compare.run(vc.models.tiny_vgg(1000), practice, budget=budget,
                           transforms=(SMALL, SMALL), progress=False)
    assert [r.recipe for r in streamed.results] == list(vc.recipes.RECIPES)
    assert all(r.failure is None for r in streamed.results), streamed.to_markdown()
    assert passes == [80]  # from_scratch's statistics: one pass over the training images
    assert streamed.result("from_scratch").settings == str(SMALL_SCRATCH)
    # 4 KB holds no feature cache: every frozen prefix runs each epoch instead
    assert not any(r.cached_features for r in streamed.results)
    assert [r.cached_features for r in kept.results] == [True] * 5 + [False] * 2
    # the same training, decoded per batch instead of once: the same numbers
    for a, b in zip(kept.results, streamed.results):
        assert a.curves["train_loss"] == pytest.approx(b.curves["train_loss"], rel=1e-4), a.recipe
        assert a.curves["val_acc"] == pytest.approx(b.curves["val_acc"]), a.recipe
        assert a.untrained_val_acc == pytest.approx(b.untrained_val_acc), a.recipe
    assert kept.baseline == pytest.approx(streamed.baseline)


def test_the_cli_trains_every_recipe_on_a_flat_folder_too_big_for_memory(tmp_path, practice,
                                                                          monkeypatch, capsys):
    passes = _spy_streaming(monkeypatch)
    monkeypatch.setattr(vc.compare.budget, "Budget",  # the CLI's budget, with a short scratch run
                        lambda **k: compare.Budget(**k, scratch=SMALL_SCRATCH))
    code = main(["compare", "--data", str(_flat(tmp_path, practice)), "--val-fraction", "0.25",
                 "--epochs", "1", "--repeats", "1", "--image-size", "32", "--device", "cpu",
                 "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr()
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    # SqueezeNet's head is one layer: transfer_learning = both finetune_* (one run)
    trained = [name for r in saved["results"] for name in [r["recipe"], *r["same_as"]]]
    assert sorted(trained) == sorted(vc.recipes.RECIPES) and "from_scratch" in trained
    assert not any(r.get("failure") for r in saved["results"])
    assert (saved["n_train"], saved["n_val"]) == (90, 30)  # 25% of each class's 60
    assert "25% to val by seed 0" in saved["data_check"] and passes == [90]


def test_a_flat_folder_is_split_by_seed_and_its_error_names_the_option(tmp_path, practice,
                                                                       capsys, no_training):
    flat = _flat(tmp_path, practice)
    with pytest.raises(folders.DataError, match=r"pass val_fraction=0\.2"):
        compare.run(vc.models.tiny_vgg(2), flat, transforms=(SMALL, SMALL), progress=False)
    assert main(["compare", "--data", str(flat), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "pass --val-fraction 0.2" in err and "val_fraction" not in err
    assert main(["compare", "--data", str(flat), "--val-fraction", "1.5",
                 "--out", str(tmp_path / "out")]) == 2
    assert "--val-fraction must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_streamed_lab_caches_features_only_while_all_caches_fit_its_limit(practice, monkeypatch):
    # tiny_vgg at 32 px, 120 images: the decoded images take 1.5 MB; the features cached by
    # transfer_learning 15 KB, partial_finetune 61 KB, finetune_new_classifier 753 KB
    monkeypatch.setattr(vc.compare.lab, "_PRELOAD_LIMIT", 70_000)
    budget = compare.Budget(epochs=1, repeats=1, device="cpu")

    def cached(*names):
        result = compare.run(vc.models.tiny_vgg(2), practice, recipe_names=list(names),
                             budget=budget, transforms=(SMALL, SMALL), progress=False)
        return [result.result(name).cached_features for name in names]

    assert cached("partial_finetune") == [True]  # 61 KB alone fits
    # beside transfer_learning's 15 KB it would not: the limit holds all caches together
    assert cached("transfer_learning", "finetune_new_classifier", "partial_finetune") == [
        True, False, False]


# ---------------------------------------------------------------- the honest reading


def _table(results, n_val=153, classes=("ants", "bees"), baseline=None, note="", majority=None):
    table = vc.compare.results.Comparison("m", "", "d", list(classes), 244, n_val,
                                          compare.Budget(), results, baseline=baseline,
                                          baseline_note=note)
    if majority is not None:
        table.majority_share, table.majority_class = majority, classes[1]
    return table


def test_every_accuracy_gets_its_wilson_interval_on_the_val_images(tiny_run):
    result, out, _, _ = tiny_run
    for r in result.results:
        low, high = compare.stats.wilson(r.final_val_acc * 40, 40)
        assert (r.ci_low, r.ci_high) == (pytest.approx(low), pytest.approx(high))
        assert r.n_val == 40 and 0 <= r.untrained_val_acc <= 1
        assert r.untrained_val_acc == pytest.approx(
            sum(run.untrained_val_acc for run in r.runs) / len(r.runs))
    saved = json.loads((out / "comparison.json").read_text())
    assert {"ci_low", "ci_high", "untrained_val_acc"} <= set(saved["results"][0])
    assert saved["majority_share"] == 0.5 and saved["baseline"] == result.baseline is not None
    with open(out / "comparison.csv") as fh:
        row = next(csv.DictReader(fh))
    assert float(row["ci_low"]) == pytest.approx(result.results[0].ci_low)
    header = next(line for line in result.to_markdown().splitlines() if line.startswith("| recipe"))
    assert "| 95% CI (val images) | untrained |" in header
    best = result.best()
    assert f"{best.ci_low:.1%} - {best.ci_high:.1%}" in result.conclusion()


def test_the_reading_says_when_the_sample_of_images_is_the_larger_noise():
    table = _table([_result("transfer_learning", [0.92, 0.92, 0.93], n_val=153),
                    _result("full_finetune", [0.89, 0.91, 0.91], n_val=153)])
    # sqrt(0.9233 * 0.0767 / 153) = 0.0215; the seed spreads are 0.6 and 1.2 points
    assert table.sampling_sd() == pytest.approx(0.0215, abs=1e-4)
    assert table.dominant_noise() == "sampling"
    text = table.conclusion()
    assert ("The larger noise is the choice of validation images: one accuracy on 153 images has "
            "a standard error of 2.2%, and the largest seed spread is 1.2% (full_finetune)") in text
    assert "picked on the same 153 validation images it is reported on" in text
    low, high = compare.stats.wilson(0.92333 * 153, 153)
    assert f"95% interval on these 153 validation images: {low:.1%} - {high:.1%})" in text
    one_seed = _table([_result("transfer_learning", [0.9], n_val=153)])
    assert "only one seed ran, so the seed spread is not measured" in one_seed.conclusion()


def test_the_reading_says_when_the_seeds_are_the_larger_noise():
    table = _table([_result("transfer_learning", [0.95, 0.95, 0.96], n_val=500),
                    _result("from_scratch", [0.60, 0.75, 0.70], n_val=500)], n_val=500)
    assert table.dominant_noise() == "seeds"
    text = table.conclusion()
    # sqrt(0.9533 * 0.0467 / 500) = 0.0094, below from_scratch's 7.6-point spread ...
    assert ("The larger noise is the seed: from_scratch's runs spread 7.6%, more than the 0.9% "
            "standard error of one accuracy on 500 images") in text
    # ... and above the best recipe's own 0.6: for it, the images weigh more
    assert "for the best recipe the images weigh more (its seeds spread 0.6%)" in text
    steady = _table([_result("transfer_learning", [0.95, 0.95, 0.96], n_val=2000),
                     _result("from_scratch", [0.60, 0.75, 0.70], n_val=2000)], n_val=2000)
    assert "0.5% standard error" in steady.conclusion() and "weigh more" not in steady.conclusion()


def test_a_trained_recipe_beyond_the_noise_above_and_below_the_untrained_baseline():
    above = _table([_result("transfer_learning", [0.95, 0.96, 0.95], n_val=153),
                    _result("full_finetune", [0.86, 0.87, 0.87], n_val=153),
                    _result("partial_finetune", [0.90, 0.91, 0.92], n_val=153)], baseline=0.90)
    text = above.conclusion()
    assert "The untrained baseline, the starting network's own ImageNet outputs for ants, bees, scores 90.0%" in text
    assert ("Above it beyond the noise: transfer_learning. Within the noise of it: partial_finetune. "
            "Below it beyond the noise: full_finetune.") in text
    assert "No recipe's training added accuracy" not in text
    below = _table([_result("transfer_learning", [0.92, 0.92, 0.93], n_val=153)], baseline=0.954)
    assert "Below it beyond the noise: transfer_learning. No recipe's training added accuracy" in below.conclusion()


def test_from_scratch_is_read_next_to_always_answering_one_class():
    own = str(compare.ScratchBudget())
    level = _table([_result("transfer_learning", [0.92, 0.93, 0.92], n_val=153),
                    _result("from_scratch", [0.55, 0.54, 0.56], n_val=153, settings=own)],
                   majority=83 / 153)
    text = level.conclusion()
    assert ("from_scratch, trained from random weights with its own settings at 96 px (the "
            "pretrained recipes see the model's own input size), reaches 55.0% ± 1.0%: no better "
            "than answering 'bees' for every image (54.2%)") in text
    learned = _table([_result("from_scratch", [0.68, 0.70, 0.66], n_val=153, settings=own)],
                     majority=83 / 153)
    assert "above answering 'bees' for every image (54.2%), beyond the noise" in learned.conclusion()
    # a recipe with the shared settings is not read as from scratch
    assert "random weights" not in _table([_result("transfer_learning", [0.6, 0.6])],
                                          majority=0.6).conclusion()


def test_without_a_baseline_the_reading_says_why():
    table = _table([_result("transfer_learning", [0.9, 0.9])], note="the model has random weights")
    assert "No untrained baseline: the model has random weights." in table.conclusion()
    assert "- baseline (untrained): the model has random weights" in table.to_markdown()


@pytest.mark.parametrize("seed", range(20))
def test_the_reading_is_true_whichever_recipe_wins(seed):
    """Random tables: every sentence is checked against the numbers by an independent rule."""
    g = torch.Generator().manual_seed(seed)
    n_val = int(torch.randint(20, 400, (1,), generator=g))
    names = ["transfer_learning", "finetune_imagenet_rows", "full_finetune", "from_scratch"]
    results = [_result(name, [round(float(torch.rand(1, generator=g)) * 0.5 + 0.5, 3)
                              for _ in range(int(torch.randint(1, 4, (1,), generator=g)))],
                       n_val=n_val, settings="own" if name == "from_scratch" else "")
               for name in names]
    baseline = float(torch.rand(1, generator=g)) * 0.5 + 0.5
    table = _table(results, n_val=n_val, baseline=baseline, majority=0.54)
    text = table.conclusion()
    best = max(results, key=lambda r: (r.final_val_acc, -r.total_s))
    assert text.startswith(f"Highest mean accuracy: **{best.recipe}**")
    spread = max(r.val_acc_sd for r in results)
    error = (best.final_val_acc * (1 - best.final_val_acc) / n_val) ** 0.5
    assert ("choice of validation images" in text) == (error > spread)
    for r in results:
        gap, noise = r.final_val_acc - baseline, max(r.val_acc_sd, 1 / n_val)
        side = "Above it" if gap > noise else "Below it" if gap < -noise else "Within the noise of it"
        named = re.search(side + r"[^:.]*: ([^.]*)\.", text).group(1).split(", ")
        assert r.recipe in named, (r.recipe, text)


def test_without_imagenet_rows_the_rows_recipe_is_skipped_and_the_baseline_says_why(tmp_path,
                                                                                     practice):
    budget = compare.Budget(epochs=1, repeats=1, device="cpu")
    names = ["transfer_learning", "finetune_imagenet_rows"]
    # a head with 2 outputs has no row 310: nothing to start from, nothing to score untrained
    small = compare.run(vc.models.tiny_vgg(2), practice, recipe_names=names, budget=budget,
                        transforms=(SMALL, SMALL), keep_predictions=False, progress=False)
    assert [r.recipe for r in small.results] == ["transfer_learning"]
    assert "has 2 outputs, so no row 310" in small.skipped["finetune_imagenet_rows"]
    assert small.baseline is None and "head has 2 outputs" in small.baseline_note
    assert "No untrained baseline: the model's head has 2 outputs" in small.conclusion()
    # classes ImageNet has no output for
    root = tmp_path / "pets"
    for split in ("train", "val"):
        for old, new in (("ants", "cats"), ("bees", "dogs")):
            shutil.copytree(practice / split / old, root / split / new)
    pets = compare.run(vc.models.tiny_vgg(1000), root, recipe_names=names, budget=budget,
                       transforms=(SMALL, SMALL), keep_predictions=False, progress=False)
    assert "have no ImageNet rows" in pets.skipped["finetune_imagenet_rows"]
    assert pets.baseline is None and "cats, dogs have no ImageNet output" in pets.baseline_note
    assert "was not run" in pets.to_markdown()
