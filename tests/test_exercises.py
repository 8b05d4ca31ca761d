"""Tests for vgg_course.exercises: the cases / probe / judge contract, verdicts, hidden tests.

The catalogue of wrong answers (each must score below full marks) is tests/test_wrong_answers.py.
"""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from vgg_course import compare as vc_compare
from vgg_course.compare import reading
from vgg_course import config as vc_config
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
    if ex.verify:  # a prediction is recorded by the check, judged by the grader
        assert verdict.status == "recorded", repr(verdict)
    else:
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
        tables = [c for c in ex.cases(0) if "rows" in c or "weights" in c or "comparison" in c]
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
    """The instructor's prediction values are those torch gives (oracles, not hand-typed)."""
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
        from vgg_course.exercises.instructor.other_networks import head_path

        layer = model.get_submodule(head_path(model))
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
        fine_tuning.q5: _frozen_batchnorm_step(),
        fine_tuning.q6: _one_optimizer_step(),
        comparison_lab.q4: {"fewest": "transfer_learning", "same_as_full": "from_scratch",
                            "conv5": conv5},
        other_networks.q4: {"squeezenet": head(squeeze), "mobilenet": head(mobile)},
    }
    assert set(truth) == set(KINDS["predict"])
    for ex, values in truth.items():
        assert ex.verdict(values).passed, ex.id
        assert ex.verdict({k: 1 for k in values}).score == 0


def _small():
    """The verify cells' small network and batch; torch's global seed left as it was (the
    checks spot an answer that re-seeds it by the seed changing)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        return model, torch.randn(8, 3, 16, 16), torch.randint(0, 2, (8,))


def _frozen_batchnorm_step() -> dict:
    """fine_tuning.q5 measured: one step with the conv and BatchNorm frozen."""
    import copy

    said = {}
    for key, bn_eval in (("running_mean", False), ("after_eval", True)):
        model, x, y = _small()
        model[:2].requires_grad_(False)
        optimizer = torch.optim.SGD(model[5].parameters(), lr=0.1)
        model.train()
        if bn_eval:
            model[1].eval()
        before = copy.deepcopy(model[1])
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        said[key] = "stays" if torch.equal(before.running_mean, model[1].running_mean) else "changes"
        if not bn_eval:
            said["bn_weight"] = "stays" if torch.equal(before.weight, model[1].weight) else "changes"
    return said


def _one_optimizer_step() -> dict:
    """fine_tuning.q6 measured: the loss after a small step, a frozen weight, zero_grad()."""
    model, x, y = _small()
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    before = nn.functional.cross_entropy(model(x), y)
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = nn.functional.cross_entropy(model(x), y).item()
    optimizer.zero_grad()
    grad = model[5].weight.grad
    model, x, y = _small()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01)
    model[0].requires_grad_(False)
    conv = model[0].weight.detach().clone()
    nn.functional.cross_entropy(model.eval()(x), y).backward()
    optimizer.step()
    return {"loss_after": "lower" if after < before.item() else "higher",
            "frozen_in_optimizer": "stays" if torch.equal(conv, model[0].weight) else "changes",
            "grad_after_zero_grad": "None" if grad is None else "zeros" if not grad.any() else "values"}


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
    verdict = state_dict.q1.verdict({"state_dict_entries": 38, "parameters": 62}, hidden=True)
    text = repr(verdict)
    assert verdict.score == 0 and "BatchNorm" in text and "buffers" in text
    assert "62" not in text.replace("62,", "") and "38" not in text
    assert predictions.normal(" None ") == predictions.normal("none")


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


# --- generated material: solution functions and public cases ----------------------------------

def test_the_public_cases_are_current():
    """public_cases.json is what `python -m vgg_course exercises sync` computes now."""
    from vgg_course.exercises import public

    found = authoring.public_cases()
    assert not authoring.write_public_cases(found, check=True), \
        "run `python -m vgg_course exercises sync` and commit public_cases.json"
    assert json.loads(public.PATH.read_text()) == json.loads(json.dumps(found))
    assert not set(found) & {ex.id for ex in KINDS["predict"]}  # predictions: never


def test_a_stale_public_case_is_caught(monkeypatch, tmp_path):
    from vgg_course.exercises import public

    found = authoring.public_cases()
    some = next(iter(found))
    stale = {**found, some: found[some][:-1]}
    assert authoring.write_public_cases(stale, check=True)


def _student_side_text() -> str:
    """Everything a student's copy holds: the student-side exercise modules, the public
    cases and the student notebooks."""
    from pathlib import Path

    folder = Path(exercises.__file__).parent
    files = [p for p in folder.rglob("*") if p.is_file() and "instructor" not in p.parts
             and p.suffix in (".py", ".json")]
    files += sorted((Path(__file__).parents[1] / "notebooks").glob("*/student/*.ipynb"))
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def test_the_students_copy_holds_no_prediction_nor_any_digest():
    import re

    text = _student_side_text()
    assert not re.search(r"[0-9a-fA-F]{64}", text)
    assert "hashlib" not in text and "digest(" not in text
    for ex in KINDS["predict"]:
        for key, value in ex.reference().items():
            if isinstance(value, int) and value >= 100:  # small numbers are everywhere
                assert not re.search(rf"(?<![0-9_.]){value}(?![0-9_])", text), (ex.id, key)


def test_predict_then_verify_records_then_reveals(monkeypatch):
    ex = freezing.q3
    right = ex.reference()
    wrong = {**right, "trainable": right["trainable"] + 1}
    recorded = ex.check(wrong)
    assert recorded.status == "recorded" and str(right["trainable"]) not in repr(recorded)
    shown = ex.reveal(**right)
    assert "2 of 3 predictions right" in repr(shown) and str(right["trainable"]) in repr(shown)
    assert "✘ trainable" in repr(shown) and "<table>" in shown._repr_html_()
    monkeypatch.setenv("VGG_COURSE_STRICT", "1")
    vc_config.reset()
    ex.check(right)
    ex.reveal(**right)  # all right: no error
    ex.check(wrong)
    with pytest.raises(core.ExerciseFailed):
        ex.reveal(**right)


def test_the_grader_judges_predictions_from_the_instructors_solution():
    ex = freezing.q3
    right = ex.reference()
    assert ex.verdict(right, 3, hidden=True).passed
    graded = ex.verdict({**right, "first_conv_grad": "zeros"}, 3, hidden=True)
    assert graded.score == graded.points - 1


def test_a_student_build_checks_with_the_public_cases_only(monkeypatch):
    monkeypatch.setattr(core, "instructor_module", lambda lesson: None)
    for ex in ALL:
        if ex in KINDS["predict"]:
            assert ex.check({p.key: 1 for p in ex.predictions}).status in ("recorded", "failed")
            continue
        with pytest.raises(exercises.SolutionsUnavailable):
            ex.cases(1)
        with pytest.raises(exercises.SolutionsUnavailable):
            ex.cases(0, hidden=True)
    monkeypatch.undo()
    answers = {ex.id: ex.reference() for ex in ALL if ex not in KINDS["predict"]}
    monkeypatch.setattr(core, "instructor_module", lambda lesson: None)
    for ex_id, answer in answers.items():
        ex = next(e for e in ALL if e.id == ex_id)
        assert ex.check(answer).passed, ex_id


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


def _student_side_callables() -> dict[str, object]:
    """Every function and class the student-side exercise modules define (what a student
    build ships, and what a sandbox can import: the instructor package is hidden there)."""
    import importlib
    import inspect
    import pkgutil

    found = {}
    for info in pkgutil.iter_modules(exercises.__path__):
        if info.name == "instructor":
            continue
        module = importlib.import_module(f"vgg_course.exercises.{info.name}")
        for name, value in vars(module).items():
            if (inspect.isfunction(value) or inspect.isclass(value)) \
                    and value.__module__ == module.__name__:
                found[f"{info.name}.{name}"] = value
    return found


def _takes(fn, n: int) -> bool:
    import inspect

    try:
        inspect.signature(fn).bind(*[None] * n)
        return True
    except (TypeError, ValueError):
        return False


@pytest.mark.slow
@pytest.mark.parametrize("ex", [e for e in ALL if e.kind == "function"], ids=lambda e: e.id)
def test_no_kit_helper_a_student_can_import_answers_an_exercise(ex):
    """Issue 18: four exercises passed with the kit's own judging helpers as the answer.
    Reference code now lives in the instructor package only."""
    import inspect

    arity = len(inspect.signature(ex.reference()).parameters)
    tried = 0
    for where, fn in _student_side_callables().items():
        if not _takes(fn, arity):
            continue
        tried += 1
        verdict = ex.verdict(fn, 1, hidden=True)
        assert verdict.score < verdict.points, f"{where} answers {ex.id}"
    assert tried > 0


def test_lab_reading_truths_agree_with_the_labs_own_reading():
    """Exercises 5 to 8 of lesson 06 are judged by the lab's own rules: the instructor's truth on
    every built result equals what the real Comparison says (differs, tied_with_best, and its
    above / within / below against a fixed accuracy)."""
    from vgg_course.exercises import lab_results

    checked = 0
    for ex in (comparison_lab.q5, comparison_lab.q6, comparison_lab.q7, comparison_lab.q8):
        for seed in range(3):
            for case in ex.cases(seed, hidden=True):
                if case.get("own"):
                    continue
                result, want = lab_results.build(case["comparison"]), case["expected"]
                assert type(result) is vc_compare.Comparison
                if ex is comparison_lab.q5:
                    tied = result.tied_with_best()
                    assert want["value"] == (result.best().recipe if len(tied) == 1 else None)
                elif ex is comparison_lab.q6:
                    assert want["beyond_noise"] == result.differs(case["a"], case["b"])
                elif ex is comparison_lab.q7 and want["value"] is not None:
                    scratch = result.result("from_scratch")
                    assert want["value"] == reading._against(result, scratch, result.majority_share)
                elif ex is comparison_lab.q8 and want["value"] is not None:
                    assert want["value"] == {r.recipe: reading._against(result, r, result.baseline)
                                             for r in result.trained()}
                checked += 1
    assert checked > 60


def test_the_students_own_lab_result_is_judged_on_its_own_numbers(monkeypatch):
    """An answer right on every built result but wrong on the notebook's own ``result`` loses
    the part that result counts for; without a ``result`` (the lab cell did not run) that case
    is not judged, and in a student build it is left to the instructor's grader."""
    from vgg_course.exercises import lab_results

    ex = comparison_lab.q7
    own = lab_results.spec(77, 40, [{"recipe": "transfer_learning", "runs": [70, 72]},
                                    {"recipe": "from_scratch", "runs": [60, 62]}], baseline=70)
    notebook = {"result": lab_results.build(own), "right": ex.reference()}
    exec("def scratch_vs_majority(result):\n"  # noqa: S102  (right everywhere but on 77 images)
         "    return 'below' if result.n_val == 77 else right(result)\n", notebook)
    answer = notebook["scratch_vs_majority"]
    verdict = ex.verdict(answer, 0, hidden=True)
    assert not verdict.passed and "your own lab `result`" in repr(verdict)
    result = notebook.pop("result")
    assert ex.verdict(answer, 0, hidden=True).passed  # no result: nothing of its own to judge
    notebook["result"] = result
    monkeypatch.setattr(core, "instructor_module", lambda lesson: None)
    assert ex.check(answer).passed  # a student build: the instructor's grader judges it
