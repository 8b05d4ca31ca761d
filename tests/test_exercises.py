"""Tests for vgg_course.exercises: the cases / probe / judge contract, verdicts, hidden tests.

The catalogue of wrong answers (each must score below full marks) is tests/test_wrong_answers.py.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from vgg_course import exercises
from vgg_course.instructor import authoring
from vgg_course.exercises import (comparison_lab, core, fine_tuning, freezing, other_networks,
                                  predictions, state_dict, transfer_learning, zoo)

ALL = [ex for name in exercises.MODULES for ex in exercises.exercises(name)]
KINDS = {"predict": [ex for ex in ALL if ex.verify],
         "bug": [ex for ex in ALL if ex.title.startswith("find the bug")]}


def _reread_settings() -> None:
    """``vc.config`` reads the environment once: a variable set inside a test needs a re-read."""
    from vgg_course import config

    config.reset()


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_reference_passes_in_strict_mode_public_and_hidden(ex, monkeypatch):
    monkeypatch.setenv("VGG_COURSE_STRICT", "1")
    reference = ex.reference()
    verdict = ex.check(reference)
    assert verdict.passed and verdict.score == verdict.points == ex.points
    for seed in (1, 2):  # fresh random cases, hidden ones included
        verdict = ex.verdict(reference, seed, hidden=True)
        assert verdict.passed, repr(verdict)


def test_solution_cells_need_only_the_setup_imports():
    """reference() runs a solution with SETUP_IMPORTS alone: no `ex.` (the lesson's module)."""
    import re

    for ex in ALL:
        assert not re.search(r"\bex\.", core.strip_solution_markers(ex.cell)), ex.id


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_student_stub_is_not_attempted_and_raises_only_in_strict_mode(ex, monkeypatch):
    monkeypatch.delenv("VGG_COURSE_STRICT", raising=False)
    namespace = {"ex": exercises.load(ex.lesson)}
    exec(core.SETUP_IMPORTS, namespace)
    exec(authoring.clear_solutions(ex.cell, keep=(ex.answer,)), namespace)  # the student's cell
    verdict = ex.check(namespace[ex.answer])
    assert verdict.status == "not attempted" and verdict.score == 0, repr(verdict)
    assert ex.check(...).status == "not attempted"
    monkeypatch.setenv("VGG_COURSE_STRICT", "1")
    _reread_settings()
    with pytest.raises(core.ExerciseFailed, match="not attempted"):
        ex.check(namespace[ex.answer])


def test_every_lesson_has_three_exercises_a_prediction_and_lessons_04_on_a_bug_to_find():
    for name in exercises.MODULES:
        module = exercises.load(name)
        assert len(module.EXERCISES) >= 3, name
        assert [e.id for e in module.EXERCISES] == [
            f"{name}.q{i}" for i in range(1, len(module.EXERCISES) + 1)]
        assert all(getattr(module, e.name) is e for e in module.EXERCISES)
        assert any(e in KINDS["predict"] for e in module.EXERCISES), name
        if name not in ("state_dict", "freezing"):
            assert any(e in KINDS["bug"] for e in module.EXERCISES), name
    assert len({e.id for e in ALL}) == len(ALL)


@pytest.mark.parametrize("ex", [e for e in ALL if e.kind == "function"], ids=lambda e: e.id)
def test_cases_are_fresh_per_seed_plain_json_and_hidden_ones_are_extra(ex):
    public = ex.cases(0)
    assert json.loads(json.dumps(public)) == public
    assert all(c["part"] in {p.name for p in ex.parts} and not c["hidden"] for c in public)
    assert ex.cases(0) == public  # deterministic
    assert any(ex.cases(seed) != public for seed in range(1, 4)), "the same cases for every seed"
    hidden = ex.cases(0, hidden=True)
    assert hidden[:len(public)] == public
    extra = ex.hidden()
    if extra is not None:
        assert len(hidden) > len(public) and all(c["hidden"] for c in hidden[len(public):])
        assert all(p.hidden for p in extra.parts)


def test_no_check_uses_only_the_notebooks_tiny_vgg():
    """Every function exercise runs on something other than tiny_vgg(width=4, hidden=32)."""
    for ex in (e for e in ALL if e.kind == "function"):
        specs = [c.get("model") for c in ex.cases(0)]
        others = [s for s in specs if s and (s["arch"] != "tiny_vgg" or s["width"] != 4)]
        tables = [c for c in ex.cases(0) if "rows" in c or "weights" in c]
        assert others or tables, ex.id


def test_probe_returns_json_observations_and_one_failing_case_does_not_stop_the_others():
    ex = state_dict.q2
    cases = ex.cases(0)
    calls = []

    def sometimes(model, key):
        calls.append(key)
        if len(calls) == 2:
            raise ValueError("only the second case fails")
        return model.get_submodule(key.rpartition(".")[0])

    observations = ex.probe(sometimes, cases)
    assert len(calls) == len(cases) == len(observations)
    assert json.loads(json.dumps(observations)) == observations
    assert observations[1] == {"error": "ValueError: only the second case fails"}
    assert all("value" in o for i, o in enumerate(observations) if i != 1)
    verdict = ex.judge(cases, observations)
    assert verdict.status == "partial" and "raised ValueError" in repr(verdict)


@pytest.mark.parametrize("observations", [
    None, "nonsense", [], [{"value": 1}], [{"value": {"names": 3}}] * 4,
    [{"value": None}] * 4, [{"bogus": 1}] * 4, [{"value": 1, "error": "x"}] * 4,
])
def test_judge_never_raises_and_never_passes_malformed_observations(observations):
    ex = freezing.q1
    verdict = ex.judge(ex.cases(0), observations)
    assert verdict.score == 0 and verdict.status in ("failed", "not attempted")


def test_judge_needs_observations_that_only_a_right_answer_gives():
    """Faked observations that claim success in general terms do not pass: the judge
    compares with what these cases (random widths, names) must give."""
    ex = freezing.q1
    cases = ex.cases(3)
    fake = [{"value": {"names": ["features.0.weight"], "trainable": []}} for _ in cases]
    assert ex.judge(cases, fake).score == 0
    real = ex.probe(ex.reference(), cases)
    assert ex.judge(cases, real).passed
    assert ex.judge(ex.cases(4), real).score < ex.points  # other seed, other models


def test_hidden_parts_are_marked_in_the_verdict_and_the_gradebook_dict():
    verdict = state_dict.q3.verdict(state_dict.q3.reference(), hidden=True)
    hidden = [p for p in verdict.parts if p.hidden]
    assert hidden and verdict.hidden_points == sum(p.points for p in hidden)
    assert "[hidden]" in repr(verdict)
    data = json.loads(exercises.verdicts_json([verdict]))[0]
    assert data["hidden_points"] == verdict.hidden_points == data["hidden_score"]
    assert [p["hidden"] for p in data["parts"]] == [p.hidden for p in verdict.parts]
    public = state_dict.q3.verdict(state_dict.q3.reference())
    assert not any(p.hidden for p in public.parts) and "[hidden]" not in repr(public)


def test_a_student_release_has_no_solutions_no_hidden_cases_but_still_grades(monkeypatch):
    monkeypatch.setattr(core, "instructor_module", lambda lesson: None)
    ex = state_dict.q2
    assert "come from your instructor" in ex.solution().text
    with pytest.raises(core.SolutionsUnavailable):
        ex.cell
    with pytest.raises(core.SolutionsUnavailable):
        ex.cases(0, hidden=True)
    assert ex.check(lambda m, k: m.get_submodule(k.rpartition(".")[0])).passed
    assert ex.check(lambda m, k: m).status == "failed"


def test_lesson_level_steps_for_the_grader():
    cases = exercises.lesson_cases("02_state_dict", 5, hidden=True)
    assert set(cases) == {e.id for e in state_dict.EXERCISES}
    namespace = {"section_sizes": state_dict.q3.reference()}
    observations = json.loads(json.dumps(exercises.probe_namespace(namespace, "02_state_dict", cases)))
    verdicts = exercises.judge_lesson("02_state_dict", cases, observations)
    assert [v.status for v in verdicts] == ["not attempted", "not attempted", "passed"]
    assert verdicts[2].hidden_points > 0
    broken = exercises.judge_lesson("02_state_dict", cases, {"state_dict.q3": "garbage"})
    assert [v.score for v in broken] == [0, 0, 0]
    assert [v.status for v in exercises.grade_namespace(namespace, "02_state_dict")] == [
        "not attempted", "not attempted", "passed"]


def test_check_finds_the_answer_in_the_callers_namespace():
    module_of = state_dict.q2.reference()  # noqa: F841  (a local is not a notebook global)
    assert state_dict.q2.check().status == "not attempted"
    namespace = {"module_of": state_dict.q2.reference()}
    exec("verdict = ex.check()", {"ex": state_dict.q2, **namespace}, namespace)
    assert namespace["verdict"].passed


def test_prediction_digests_match_torch_itself():
    """The stored digests are those of the values torch gives (oracles, not hand-typed)."""
    with torch.device("meta"):
        bn, vgg = torch.nn.Module(), None
        from torchvision.models import mobilenet_v3_small, resnet18, squeezenet1_1, vgg11_bn, vgg16
        bn, vgg, resnet = vgg11_bn(weights=None), vgg16(weights=None), resnet18(weights=None)
        squeeze, mobile = squeezenet1_1(weights=None), mobilenet_v3_small(weights=None)
    import vgg_course as vc
    tiny = vc.models.tiny_vgg(num_classes=5, width=2, hidden=16)
    vc.freezing.freeze_up_to(tiny, "conv4")
    tiny(torch.randn(2, 3, 32, 32)).sum().backward()

    def head(model):
        layer = model.get_submodule(other_networks.last_scoring_layer(model))
        return layer.weight[0].numel() * 5 + 5

    total = sum(p.numel() for p in vgg.parameters())
    conv5 = sum(p.numel() for p in vgg.features[24:].parameters())
    truth = {
        state_dict.q1: {"state_dict_entries": len(bn.state_dict()),
                        "parameters": len(list(bn.parameters()))},
        freezing.q3: {"trainable": vc.freezing.trainable_count(tiny),
                      "first_conv_grad": repr(tiny.features[0].weight.grad),
                      "tensors_with_grad": sum(p.grad is not None for p in tiny.parameters())},
        transfer_learning.q1: {"resnet_trainable": head(resnet),
                               "vgg_total": total - vgg.classifier[6].weight.numel() - 1000 + 4096 * 10 + 10},
        fine_tuning.q4: {"sgd_momentum": 12, "adamw": 16, "frozen": 4},
        comparison_lab.q4: {"fewest": "transfer_learning", "same_as_full": "from_scratch",
                            "conv5": conv5},
        other_networks.q4: {"squeezenet": head(squeeze), "mobilenet": head(mobile)},
    }
    assert set(truth) == set(KINDS["predict"])
    for ex, values in truth.items():
        assert ex.verdict(values).passed, ex.id
        assert ex.verdict({k: 1 for k in values}).score == 0


def test_memory_prediction_oracle_measures_optimizer_state():
    """fine_tuning.q4's 12 and 16 bytes per parameter, measured on a real optimizer step."""
    def measured(make):
        layer = nn.Linear(20, 5)
        optimizer = make(layer.parameters())
        layer(torch.randn(3, 20)).sum().backward()
        optimizer.step()
        state = [t for s in optimizer.state.values() for t in s.values() if t.numel() > 1]
        tensors = [*layer.parameters(), *(p.grad for p in layer.parameters()), *state]
        return sum(t.numel() * t.element_size() for t in tensors) / 105
    assert measured(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)) == 12
    assert measured(lambda ps: torch.optim.AdamW(ps)) == 16


def test_prediction_messages_name_the_mistake_not_the_answer():
    verdict = state_dict.q1.check({"state_dict_entries": 38, "parameters": 62})
    text = repr(verdict)
    assert verdict.score == 0 and "BatchNorm" in text and "buffers" in text
    assert "62" not in text.replace("62,", "") and "38" not in text
    assert predictions.digest("x.q1", "k", " None ") == predictions.digest("x.q1", "k", "none")


def test_verdict_text_is_deterministic_and_has_no_addresses():
    def leaky(model, key):
        raise ValueError(f"bad {object()!r}")
    text = repr(state_dict.q2.check(leaky))
    assert text == repr(state_dict.q2.check(leaky)) and "0x…" in text
    html = state_dict.q2.check(leaky)._repr_html_()
    assert html.startswith("<div") and "failed" in html
    assert repr(freezing.q2.check(freezing.q2.reference())).startswith(
        "✔ Exercise freezing.q2 (count trainable parameters): passed, 3/3")


def test_hint_and_solution_display():
    assert freezing.q1.hint()._repr_markdown_().startswith("**Hint:**")
    solution = state_dict.q2.solution()._repr_markdown_()
    assert "get_submodule" in solution and "BEGIN SOLUTION" not in solution


def test_zoo_builds_what_the_specs_say():
    spec = {"arch": "tiny_vgg", "width": 3, "hidden": 10, "num_classes": 4, "seed": 1,
            "frozen": ["features"], "tie": ["features.26", "features.28"]}
    model = zoo.build(spec)
    assert model.classifier[6].out_features == 4 and model.classifier[3].in_features == 10
    assert model.features[26].weight is model.features[28].weight
    assert not any(p.requires_grad for p in model.features.parameters())
    assert zoo.build(spec) is not model  # a fresh copy every time
    assert [zoo.fingerprint(p) for p in zoo.build(spec).parameters()] == [
        zoo.fingerprint(p) for p in model.parameters()]
    meta = zoo.build({"arch": "resnet", "layers": [1, 1, 1, 1], "bottleneck": True}, meta=True)
    assert meta.fc.in_features == 2048 and meta.fc.weight.is_meta
    net = zoo.build({"arch": "tinynet", "head": "scores", "width": 4, "num_classes": 3})
    assert net(torch.zeros(2, 3, 16, 16)).shape == (2, 3)


@pytest.mark.parametrize("name", ["exercises", "exercises.zoo", "exercises.predictions",
                                  "exercises.solutions", "instructor.release"])
def test_docstring_examples_of_the_exercise_modules(name):
    import doctest
    import importlib
    module = importlib.import_module(f"vgg_course.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name != "instructor.release":
        assert result.attempted > 0


# --- generated material: solution functions and prediction keys --------------------------------

def test_the_prediction_keys_are_current():
    """keys.py is what `python -m vgg_course exercises sync` computes from the solutions now."""
    from vgg_course.exercises import keys

    found = authoring.prediction_keys()
    assert found == keys.KEYS, "run `python -m vgg_course exercises sync` and commit keys.py"
    assert not authoring.write_keys(found, check=True)  # the file's text, not only its values
    assert set(found) == {ex.id for ex in KINDS["predict"]}


def test_a_stale_key_is_caught_and_costs_the_prediction(monkeypatch):
    from vgg_course.exercises import keys

    stale = {**keys.KEYS, "freezing.q3": {**keys.KEYS["freezing.q3"], "trainable": "0" * 64}}
    assert authoring.write_keys(stale, check=True)
    monkeypatch.setattr(keys, "KEYS", stale)
    assert authoring.prediction_keys() != keys.KEYS
    verdict = freezing.q3.verdict(freezing.q3.reference())
    assert verdict.status == "partial" and not verdict.parts[0].passed
    monkeypatch.setattr(keys, "KEYS", {})
    assert "exercises sync" in repr(freezing.q3.verdict(freezing.q3.reference()))


def test_no_digest_is_pasted_into_an_exercise_module():
    import re
    from pathlib import Path

    folder = Path(exercises.__file__).parent
    pasted = [p.name for p in folder.rglob("*.py")
              if p.name != "keys.py" and re.search(r"[0-9a-fA-F]{64}", p.read_text())]
    assert pasted == []


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_each_solution_is_a_function_of_the_instructor_module_and_its_cell_is_its_source(ex):
    import inspect

    module = core.instructor_module(ex.lesson)
    solution = getattr(module, ex.answer)
    assert inspect.isfunction(solution) and solution.__module__ == module.__name__
    assert not hasattr(module, "SOLUTIONS")  # no code in strings any more
    cell = ex.cell
    assert "### BEGIN SOLUTION" in cell and "### END SOLUTION" in cell
    if ex.kind == "function":
        assert cell == inspect.getsource(solution).strip("\n")
    else:  # the body: no def line, no docstring, no `return`
        assert not cell.startswith("def ") and f"return {ex.answer}" not in cell
        assert cell.splitlines()[-1].strip() in inspect.getsource(solution)
