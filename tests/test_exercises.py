"""Tests for vgg_course.exercises: every reference passes its check, wrong answers do not."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import vgg16

from vgg_course import authoring, exercises
from vgg_course.exercises import (comparison_lab, core, fine_tuning, freezing, other_networks,
                                  state_dict, transfer_learning)

ALL = [ex for name in exercises.MODULES for ex in exercises.exercises(name)]


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_reference_passes_in_strict_mode(ex, monkeypatch):
    monkeypatch.setenv("VGG_COURSE_STRICT", "1")
    verdict = ex.check(ex.reference())
    assert verdict.passed and verdict.score == verdict.points == ex.points


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.id)
def test_student_stub_is_not_attempted_and_raises_only_in_strict_mode(ex, monkeypatch):
    monkeypatch.delenv("VGG_COURSE_STRICT", raising=False)
    namespace = {"ex": exercises.load(ex.id.split(".")[0])}
    exec(core.SETUP_IMPORTS, namespace)
    exec(authoring.clear_solutions(ex.cell, keep=(ex.answer,)), namespace)  # the student's cell
    verdict = ex.check(namespace[ex.answer])
    assert verdict.status == "not attempted" and verdict.score == 0, repr(verdict)
    assert ex.check(...).status == "not attempted"
    monkeypatch.setenv("VGG_COURSE_STRICT", "1")
    with pytest.raises(core.ExerciseFailed, match="not attempted"):
        ex.check(namespace[ex.answer])


def test_ids_are_unique_and_named_after_their_module():
    ids = [ex.id for ex in ALL]
    assert len(ids) == len(set(ids))
    for name in exercises.MODULES:
        module = exercises.load(name)
        assert len(module.EXERCISES) >= 2
        assert [e.id for e in module.EXERCISES] == [f"{name}.q{i}" for i in range(1, len(module.EXERCISES) + 1)]
        assert all(getattr(module, e.name) is e for e in module.EXERCISES)


def test_load_accepts_the_notebook_stem_and_rejects_unknown_lessons():
    assert exercises.load("03_freezing") is freezing
    with pytest.raises(KeyError, match="lessons with exercises"):
        exercises.load("99_nothing")


def test_check_finds_the_answer_in_the_callers_namespace():
    third_256_conv = 14  # noqa: F841  (check() looks it up in the calling frame's globals)
    assert state_dict.q1.check().status == "not attempted"  # a local is not a notebook global
    namespace = {"third_256_conv": 14}
    exec("verdict = ex.check()", {"ex": state_dict.q1, **namespace}, namespace)
    assert namespace["verdict"].passed


def test_oracle_third_256_conv_is_index_14_in_torchvision():
    with torch.device("meta"):
        features = vgg16(weights=None).features
    convs = [i for i, m in enumerate(features) if isinstance(m, nn.Conv2d) and m.out_channels == 256]
    assert convs[2] == 14 == state_dict.q1.reference()
    assert state_dict.q1.check(convs[1]).status == "failed"


def test_wrong_answers_fail_with_a_reason_that_does_not_give_the_answer():
    verdict = state_dict.q1.check(13)
    assert verdict.status == "failed" and "ReLU" in repr(verdict) and "14" not in repr(verdict)
    verdict = state_dict.q3.check({"n_keys": 32, "classifier_params": 138_357_544})
    assert (verdict.status, verdict.score) == ("partial", 1)
    assert "whole model" in repr(verdict) and "123642856" not in repr(verdict).replace(",", "")


def test_partial_credit_counts_the_parts_that_pass():
    def count_all(model):
        return sum(p.numel() for p in model.parameters())  # ignores freezing
    verdict = freezing.q2.check(count_all)
    assert (verdict.status, verdict.score, verdict.points) == ("partial", 1, 3)
    assert [p.passed for p in verdict.parts] == [True, False, False]

    def freeze_everything(model):
        model.requires_grad_(False)
    assert freezing.q1.check(freeze_everything).score == 1


def test_a_student_exception_becomes_a_verdict_not_a_crash():
    def broken(model, num_classes):
        return model.classifier[99]
    verdict = transfer_learning.q1.check(broken)
    assert verdict.status == "failed" and "IndexError" in repr(verdict)


def test_hard_coded_4096_head_fails_on_the_tiny_model():
    def hard_coded(model, num_classes):
        model.classifier[6] = nn.Linear(4096, num_classes)
        return model
    verdict = transfer_learning.q1.check(hard_coded)
    assert verdict.status == "failed" and "hard-code" in repr(verdict)


def test_optimizer_params_and_discriminative_lrs():
    assert transfer_learning.q2.check(lambda m: list(m.parameters())).score == 1
    flat = fine_tuning.q2.check(lambda m, lr: [{"params": [p for p in m.parameters() if p.requires_grad]}])
    assert [p.passed for p in flat.parts] == [True, False, True]
    assert fine_tuning.q1.check(lambda m: m.requires_grad_(True)).score == 1


def test_comparison_lab_is_computed_from_the_given_table():
    best = max(comparison_lab.RESULTS, key=lambda r: r["val_acc"])["recipe"]
    assert comparison_lab.q1.check(best).passed
    assert comparison_lab.q1.check("full_finetune").status == "failed"
    assert comparison_lab.q1.check("not a recipe").status == "failed"
    memorised = comparison_lab.q2.check(lambda rows, tol: "finetune_pretrained_classifier")
    assert [p.passed for p in memorised.parts] == [True, False, False]
    most_accurate = comparison_lab.q2.check(lambda rows, tol: max(rows, key=lambda r: r["val_acc"])["recipe"])
    assert most_accurate.score == 0 and "faster one is within tolerance" in repr(most_accurate)


def test_other_networks_head_paths():
    assert other_networks.q1.check(lambda m: "classifier.6").score == 1
    assert other_networks.q2.check(lambda m, n: m).status == "failed"


def test_verdict_text_is_deterministic_and_has_no_addresses():
    def leaky(model, key):
        raise ValueError(f"bad {object()!r}")
    text = repr(state_dict.q2.check(leaky))
    assert text == repr(state_dict.q2.check(leaky)) and "0x…" in text
    html = state_dict.q2.check(leaky)._repr_html_()
    assert html.startswith("<div") and "failed" in html
    assert repr(state_dict.q1.check(14)) == "✔ Exercise state_dict.q1 (find a layer by its index): passed, 1/1"


def test_hint_and_solution_display():
    assert freezing.q1.hint()._repr_markdown_().startswith("**Hint:**")
    solution = state_dict.q2.solution()._repr_markdown_()
    assert "get_submodule" in solution and "BEGIN SOLUTION" not in solution


def test_grade_namespace_and_json():
    verdicts = exercises.grade_namespace({"third_256_conv": 14}, "02_state_dict")
    assert [v.status for v in verdicts] == ["passed", "not attempted", "not attempted"]
    assert '"score": 1' in exercises.verdicts_json(verdicts)
