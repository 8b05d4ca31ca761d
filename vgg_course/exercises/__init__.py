"""Graded exercises with instant feedback: one module of exercises per lesson notebook.

In a notebook::

    from vgg_course.exercises import freezing as ex
    ex.q1.check()       # grades the `freeze_features` the student defined above
    ex.q1.hint()
    ex.q1.solution()    # in a student release: "solutions come from your instructor"

Each module (named after its notebook without the number: ``03_freezing.ipynb`` ->
``vgg_course.exercises.freezing``) defines ``EXERCISES``, a tuple of
:class:`~vgg_course.exercises.core.Exercise` also bound as ``q1``, ``q2``, ... . How a
check is split between the trusted grader and the student's process is described in
:mod:`vgg_course.exercises.core`; for a whole lesson the grader calls
:func:`lesson_cases` (trusted), :func:`probe_namespace` (in the student's kernel or
sandbox) and :func:`judge_lesson` (trusted), or :func:`grade_namespace` for all three.
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any, Mapping

from vgg_course.exercises.core import (  # noqa: F401  (the public surface)
    Exercise, ExerciseFailed, Hidden, Part, PartResult, SolutionsUnavailable, Verdict,
    strip_solution_markers,
)
from vgg_course.i18n import _

# Lesson notebook stem without its number -> module of exercises, in course order.
MODULES = ("state_dict", "freezing", "transfer_learning", "fine_tuning",
           "comparison_lab", "other_networks")


def load(name: str) -> ModuleType:
    """The exercise module for a lesson: ``"freezing"`` or ``"03_freezing"``.

    Example:
        >>> [e.id for e in load("03_freezing").EXERCISES][:1]
        ['freezing.q1']
    """
    key = name.split("_", 1)[1] if name[:2].isdigit() and "_" in name else name
    if key not in MODULES:
        raise KeyError(_("No exercises for {name}; lessons with exercises: {lessons}").format(
            name=repr(name), lessons=", ".join(MODULES)))
    return importlib.import_module(f"{__name__}.{key}")


def exercises(name: str) -> tuple[Exercise, ...]:
    """The exercises of one lesson, in notebook order."""
    return load(name).EXERCISES


def lesson_cases(name: str, seed: int = 0, *, hidden: bool = False) -> dict[str, list[dict]]:
    """TRUSTED: every exercise's cases, ``{exercise id: cases}`` (plain JSON data)."""
    return {ex.id: ex.cases(seed, hidden=hidden) for ex in exercises(name)}


def probe_namespace(namespace: Mapping[str, Any], name: str,
                    cases: Mapping[str, list[dict]]) -> dict[str, list[dict]]:
    """UNTRUSTED side: run the names a notebook defined on the cases; never raises."""
    return {ex.id: ex.probe(namespace.get(ex.answer, ...), cases[ex.id])
            for ex in exercises(name) if ex.id in cases}


def judge_lesson(name: str, cases: Mapping[str, list[dict]],
                 observations: Mapping[str, Any]) -> list[Verdict]:
    """TRUSTED: one verdict per exercise; a missing observation counts as not attempted."""
    verdicts = []
    for ex in exercises(name):
        ex_cases = cases.get(ex.id) or ex.cases(0)
        got = observations.get(ex.id) if isinstance(observations, Mapping) else None
        verdicts.append(ex.judge(ex_cases, got if got is not None
                                 else [{"unset": True} for _case in ex_cases]))
    return verdicts


def grade_namespace(namespace: Mapping[str, Any], name: str, *, seed: int = 0,
                    hidden: bool = False) -> list[Verdict]:
    """All three steps in one process (self-study, tests); never raises."""
    cases = json.loads(json.dumps(lesson_cases(name, seed, hidden=hidden)))
    observations = json.loads(json.dumps(probe_namespace(namespace, name, cases)))
    return judge_lesson(name, cases, observations)


def verdicts_json(verdicts: list[Verdict]) -> str:
    """The verdicts as one line of JSON (what the grader reads back from a kernel)."""
    return json.dumps([v.as_dict() for v in verdicts], ensure_ascii=True)
