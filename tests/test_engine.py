"""Tests for vgg_course.engine: the loop against hand-written PyTorch, seeds, checkpoints, resume."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import vgg_course as vc
from vgg_course import checkpoints, engine


pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n: int = 24, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 3, 32, 32, generator=g) + y.view(-1, 1, 1, 1) * 0.5  # class 1 brighter
    return TensorDataset(x, y)


def _loaders(batch_size: int = 8):
    # Its own shuffling generator, as vc.data.make_loaders builds: resume must handle it.
    return (DataLoader(_data(24, 0), batch_size=batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(5)),
            DataLoader(_data(16, 1), batch_size=batch_size))


def _model_and_opt(lr: float = 0.05):
    model = vc.models.tiny_vgg(2)
    return model, torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr,
                                  momentum=0.9)


def _params(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_evaluate_matches_a_hand_computed_oracle():
    model = vc.models.tiny_vgg(2)
    _, val = _loaders()
    result = engine.evaluate(model, val, device="cpu", precision="fp32")
    x, y = val.dataset.tensors
    model.eval()
    with torch.no_grad():
        logits = model(x)
    assert result.n == 16
    assert result.loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert result.accuracy == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert not model.training


def test_train_one_epoch_is_the_textbook_loop():
    train, _ = _loaders()
    model, opt = _model_and_opt()
    twin, twin_opt = copy.deepcopy(model), None
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9)
    torch.manual_seed(3)
    train.generator.manual_seed(5)
    result = engine.train_one_epoch(model, train, opt, device="cpu", precision="fp32")
    torch.manual_seed(3)
    train.generator.manual_seed(5)
    twin.train()
    for x, y in train:  # the loop from the PyTorch tutorials, written out
        twin_opt.zero_grad()
        loss = nn.functional.cross_entropy(twin(x), y)
        loss.backward()
        twin_opt.step()
    assert result.n == 24 and model.training
    for (name, a), b in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, msg=name)


def test_same_seed_same_numbers_other_seed_other_numbers():
    runs = []
    for seed in (0, 0, 1):
        model, opt = _model_and_opt()
        train, val = _loaders()
        history = engine.fit(model, train, val, opt, epochs=2, device="cpu", precision="fp32",
                             seed=seed, progress=False)
        runs.append(([(r.train_loss, r.val_loss) for r in history.records], _params(model)))
    assert runs[0][0] == runs[1][0] and _same(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


class _StopButton(TensorDataset):
    """Training data whose n-th read raises KeyboardInterrupt (the Jupyter stop button)."""

    def __init__(self, data: TensorDataset, stop_at: int):
        super().__init__(*data.tensors)
        self.reads, self.stop_at = 0, stop_at

    def __getitem__(self, i):
        self.reads += 1
        if self.reads == self.stop_at:
            raise KeyboardInterrupt
        return super().__getitem__(i)


def test_resume_after_interruption_matches_an_uninterrupted_run(tmp_path):
    model, opt = _model_and_opt()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    train, val = _loaders()
    full = engine.fit(model, train, val, opt, epochs=4, device="cpu", precision="fp32",
                      scheduler=sched, progress=False)
    expected = _params(model)

    model, opt = _model_and_opt()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    stopping = DataLoader(_StopButton(train.dataset, stop_at=2 * 24 + 10), batch_size=8,
                          shuffle=True, generator=torch.Generator().manual_seed(5))
    with pytest.raises(KeyboardInterrupt):  # in the middle of epoch 3
        engine.fit(model, stopping, val, opt, epochs=4, device="cpu",
                   precision="fp32", scheduler=sched, checkpoint=tmp_path, progress=False)
    # A fresh process: new model and optimizer, then resume from the folder.
    model, opt = _model_and_opt()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    resumed = engine.fit(model, train, val, opt, epochs=4, device="cpu", precision="fp32",
                         scheduler=sched, checkpoint=tmp_path, resume=True, progress=False)
    assert [r.epoch for r in resumed.records] == [1, 2, 3, 4]
    assert [r.val_loss for r in resumed.records] == [r.val_loss for r in full.records]
    assert [r.lr for r in resumed.records] == pytest.approx([0.05, 0.05, 0.005, 0.005])
    assert any("resumed after epoch 2" in n for n in resumed.notes)
    assert _same(_params(model), expected)


def test_best_checkpoint_holds_the_best_epoch_and_checks_the_model(tmp_path):
    model, opt = _model_and_opt()
    model.features.requires_grad_(False)
    train, val = _loaders()
    history = engine.fit(model, train, val, opt, epochs=3, device="cpu", precision="fp32",
                         checkpoint=tmp_path, progress=False)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["epoch"] == history.best_epoch
    assert best["accuracy"] == history.best_accuracy
    assert not any(k.startswith("features.") for k in best["model"])  # frozen: not re-saved
    fresh = vc.models.tiny_vgg(2)
    state = checkpoints.load(fresh, tmp_path / "last.pt")
    assert state["epoch"] == 3 and _same(_params(fresh), _params(model))
    other = vc.models.tiny_vgg(2, seed=1)  # different frozen weights
    with pytest.raises(ValueError, match="different frozen weights"):
        checkpoints.load(other, tmp_path / "best.pt")
    with pytest.raises(FileNotFoundError):
        checkpoints.load(fresh, tmp_path / "nope.pt")


def test_resume_refuses_a_differently_frozen_model(tmp_path):
    model, opt = _model_and_opt()
    train, val = _loaders()
    engine.fit(model, train, val, opt, epochs=1, device="cpu", precision="fp32",
               checkpoint=tmp_path, progress=False)
    model, _ = _model_and_opt()
    model.features.requires_grad_(False)
    opt = torch.optim.SGD(model.classifier.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="trainable now"):
        engine.fit(model, train, val, opt, epochs=2, device="cpu", checkpoint=tmp_path,
                   resume=True, progress=False)


def test_bad_arguments_are_refused_clearly():
    model, opt = _model_and_opt()
    train, val = _loaders()
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        engine.fit(model, train, val, opt, epochs=0, device="cpu", progress=False)
    with pytest.raises(ValueError, match="needs checkpoint"):
        engine.fit(model, train, val, opt, epochs=1, device="cpu", resume=True, progress=False)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="nothing would train"):
        engine.fit(model, train, val, opt, epochs=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="no batches"):
        engine.evaluate(model, [], device="cpu")


def test_history_displays_and_round_trips_through_json():
    model, opt = _model_and_opt()
    train, val = _loaders()
    history = engine.fit(model, train, val, opt, epochs=2, device="cpu", precision="fp32",
                         progress=False)
    text = repr(history)
    assert text.startswith("History: 2 epochs on cpu (fp32), best val accuracy ")
    assert text.splitlines()[1].split() == list(vc.history.COLUMNS)
    assert "<table>" in history._repr_html_() and "val_accuracy" in history._repr_html_()
    data = json.loads(json.dumps(history.to_dict()))
    assert vc.history.History.from_dict(data).records == history.records
    record = history.records[0]
    assert record.images_per_s == pytest.approx(40 / record.seconds)
    assert record.peak_memory_mb is None or record.peak_memory_mb > 0


def test_a_platform_without_a_peak_shows_a_dash_and_the_reason(monkeypatch):
    monkeypatch.setattr(vc.memory, "resident_peak", lambda: vc.memory.ResidentPeak(
        None, "not measured: psutil is not installed (pip install psutil)", False))
    model, opt = _model_and_opt()
    train, val = _loaders()
    history = engine.fit(model, train, val, opt, epochs=2, device="cpu", precision="fp32",
                         progress=False)
    assert [r.peak_memory_mb for r in history.records] == [None, None]
    assert history.notes == ["peak memory not measured: psutil is not installed (pip install psutil)"]
    last = repr(history).splitlines()[-1].split()
    assert last[0] == "2" and last[-1] == "-"
    assert "<td>-</td>" in history._repr_html_().replace(' style="text-align:right"', "")
    assert vc.history.History.from_dict(json.loads(json.dumps(history.to_dict()))).records == history.records


def test_predict_matches_the_softmax_of_the_model_in_eval_mode():
    model = vc.models.tiny_vgg(2)
    _, val = _loaders()
    model.train()
    labels, preds, probs = engine.predict(model, val, device="cpu", precision="fp32")
    x, y = val.dataset.tensors
    model.eval()
    with torch.no_grad():
        p = model(x).softmax(1)
    assert labels == y.tolist() and preds == p.argmax(1).tolist()
    assert probs == pytest.approx(p.max(1).values.tolist(), rel=1e-5)
    assert not model.training


def _counting_plans(monkeypatch) -> list[tuple]:
    calls, real = [], vc.devices.plan
    monkeypatch.setattr(vc.devices, "plan", lambda *args: calls.append(args) or real(*args))
    return calls


def test_predict_defaults_to_auto_like_everything_else(monkeypatch):
    calls = _counting_plans(monkeypatch)
    _, val = _loaders()
    engine.predict(vc.models.tiny_vgg(2), val, device="cpu")
    assert calls == [("cpu", "auto")]


@pytest.mark.parametrize("precision", vc.devices.PRECISIONS)
def test_every_precision_trains_through_fit_or_is_refused_at_the_edge(precision):
    """int8 trains as auto (only a cached pass runs in int8); where it cannot run, fit refuses."""
    model, opt = _model_and_opt()
    train, val = _loaders()
    if precision == "int8" and vc.devices.int8_engine() is None:
        with pytest.raises(ValueError, match="precision='auto'"):
            engine.fit(model, train, val, opt, epochs=1, device="cpu", precision=precision)
        return
    history = engine.fit(model, train, val, opt, epochs=1, device="cpu", precision=precision,
                         progress=False)
    trains_as = "auto" if precision == "int8" else precision
    assert history.precision == vc.devices.plan("cpu", trains_as).precision
    assert history.records[-1].train_loss == history.records[-1].train_loss  # not NaN


def test_fit_resolves_its_plan_once_and_hands_it_down(monkeypatch):
    calls = _counting_plans(monkeypatch)
    model, opt = _model_and_opt()
    train, val = _loaders()
    engine.fit(model, train, val, opt, epochs=3, device="cpu", precision="fp32", progress=False)
    assert calls == [("cpu", "fp32")]  # not once more per epoch for training and validation
    ready = vc.devices.plan("cpu", "fp32")
    engine.fit(model, train, val, opt, epochs=1, plan=ready, progress=False)
    assert len(calls) == 2  # the ready plan: no new one
    with pytest.raises(ValueError, match="not both"):
        engine.fit(model, train, val, opt, epochs=1, plan=ready, precision="bf16")


@pytest.mark.parametrize("before", [True, False])
def test_no_global_flag_is_left_flipped_after_fit_or_predict(monkeypatch, before):
    """cudnn.benchmark is the plan's while the loop runs (off on a CPU), and as it was after."""
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", before)
    model, opt = _model_and_opt()
    seen = []
    model.register_forward_hook(lambda *_: seen.append(torch.backends.cudnn.benchmark))
    train, val = _loaders()
    engine.fit(model, train, val, opt, epochs=1, device="cpu", progress=False)
    assert torch.backends.cudnn.benchmark is before
    engine.predict(model, val, device="cpu")
    assert torch.backends.cudnn.benchmark is before
    assert seen and set(seen) == {False}


def test_bf16_autocast_trains_on_cpu():
    model, opt = _model_and_opt()
    train, val = _loaders()
    history = engine.fit(model, train, val, opt, epochs=1, device="cpu", precision="bf16",
                         progress=False)
    assert history.precision == "bfloat16"
    assert model.classifier[6].weight.dtype is torch.float32  # master weights stay fp32
    assert torch.isfinite(torch.tensor(history.records[0].train_loss))


def test_training_benchmark_runs_in_quick_mode(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_training.py"
    spec = importlib.util.spec_from_file_location("bench_training", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--quick", "--out", str(tmp_path / "b.json")]) == 0
    result = json.loads((tmp_path / "b.json").read_text())
    names = [r["variant"] for r in result["variants"]]
    int8 = ["TL cached int8 (kit)"] if vc.devices.int8_engine() else []
    assert names == ["B0 tutorial loop", "TL graph (kit)", "TL cached (kit)", *int8,
                     "partial FT (kit)", "full FT (kit)"]
    b0, graph, cached = result["variants"][:3]
    assert cached["cache"].startswith("features cached:") and not cached["extrapolated"]
    assert b0["speedup_vs_b0"] == 1.0 and result["extraction"]["speedup"] > 0
    if int8:
        assert "ran once (int8" in result["variants"][3]["cache"]
        assert result["extraction"]["int8_speedup"] > 0
        assert "cached_int8_final" in result["accuracy_check"]
    # Same batches, same dropout masks: after one epoch the kit's head matches B0's.
    assert abs(graph["accuracies"][0] - b0["accuracies"][0]) <= 0.1
