"""Predict-then-verify exercises: a prediction is checked against a digest of the truth.

The student commits to numbers (or names) before running anything; the check grades
those values, and a verify cell after it shows the real result. The kit stores only a
salted SHA-256 digest of each expected value (and of a few typical wrong ones, to say
what the likely mistake was), so neither the package nor a student release holds the
answer in readable form. ``tests/`` computes each expected value from torch itself and
checks the digests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from vgg_course.exercises.answers import field, is_int, plain, type_name
from vgg_course.exercises.core import Exercise, Part


def digest(exercise_id: str, key: str, value: Any) -> str:
    """The salted digest the kit stores instead of ``value``.

    Example:
        >>> digest("demo.q1", "answer", 42)[:8]
        'bde66a06'
    """
    text = json.dumps(value.strip().lower() if isinstance(value, str) else value)
    return hashlib.sha256(f"vgg-course/{exercise_id}/{key}/{text}".encode()).hexdigest()


@dataclass(frozen=True)
class Prediction:
    """One predicted value: its part, the digest of the truth, and known wrong answers.

    ``kind`` is ``"int"`` or ``"name"`` (a str compared without case or spaces around);
    ``mistakes`` maps the digest of a typical wrong value to what it says about the
    reasoning (never the right value).
    """

    key: str
    part: str
    expected: str
    kind: str = "int"
    mistakes: Mapping[str, str] = None  # type: ignore[assignment]
    choices: tuple[str, ...] = ()


def prediction_exercise(*, id: str, title: str, task: str, answer: str,
                        predictions: tuple[Prediction, ...], hint_text: str,
                        verify: str) -> Exercise:
    """An :class:`Exercise` whose answer is a dict of predictions, one part each."""
    by_key = {p.key: p for p in predictions}

    def make_cases(rng) -> list[dict]:
        return [{"part": p.part, "key": p.key} for p in predictions]

    def observe(answers: Any, case: dict) -> Any:
        return plain(field(answers, case["key"]))

    def assess(case: dict, value: Any) -> str | None:
        p = by_key[case["key"]]
        if p.kind == "int" and not is_int(value):
            return f"expected a whole number (an int), got {type_name(value)}"
        if p.kind == "name":
            if not isinstance(value, str):
                return f"expected a name (a str), got {type_name(value)}"
            if p.choices and value.strip().lower() not in [c.lower() for c in p.choices]:
                return f"{value!r} is not one of the choices: {', '.join(p.choices)}"
        mine = digest(id, p.key, value)
        if mine == p.expected:
            return None
        return (p.mistakes or {}).get(mine, "that is not what happens: check your reasoning, "
                                            "then run the verify cell to see why")

    return Exercise(id=id, title=title, task=task, answer=answer,
                    parts=tuple(Part(p.part) for p in predictions), make_cases=make_cases,
                    observe=observe, assess=assess, hint_text=hint_text, kind="value",
                    verify=verify)
