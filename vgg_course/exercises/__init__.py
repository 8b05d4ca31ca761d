"""Graded exercises with instant feedback: one module of exercises per lesson notebook.

In a notebook::

    from vgg_course.exercises import freezing as ex
    ex.q1.check()       # grades the `freeze_features` the student defined above
    ex.q1.hint()
    ex.q1.solution()

Each module (named after its notebook without the number: ``03_freezing.ipynb`` ->
``vgg_course.exercises.freezing``) defines ``EXERCISES``, a tuple of
:class:`~vgg_course.exercises.core.Exercise` also bound as ``q1``, ``q2``, ... .
The instructor's grader calls :func:`grade_namespace` on a student's kernel namespace.
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any, Mapping

from vgg_course.exercises.core import (  # noqa: F401  (the public surface)
    Exercise, ExerciseFailed, Part, PartResult, Verdict, strip_solution_markers,
)

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
        raise KeyError(f"No exercises for {name!r}; lessons with exercises: {', '.join(MODULES)}")
    return importlib.import_module(f"{__name__}.{key}")


def exercises(name: str) -> tuple[Exercise, ...]:
    """The exercises of one lesson, in notebook order."""
    return load(name).EXERCISES


def grade_namespace(namespace: Mapping[str, Any], name: str) -> list[Verdict]:
    """Grade every exercise of a lesson on the names a notebook defined; never raises."""
    return [ex.verdict(namespace.get(ex.answer, ...)) for ex in exercises(name)]


def verdicts_json(verdicts: list[Verdict]) -> str:
    """The verdicts as one line of JSON (what the grader reads back from a kernel)."""
    return json.dumps([v.as_dict() for v in verdicts], ensure_ascii=True)
