"""Predict-then-verify exercises: a prediction is checked against a digest of the truth.

The student commits to numbers (or names) before running anything; the check grades
those values, and a verify cell after it shows the real result. The kit stores only a
salted SHA-256 digest of each expected value (and of a few typical wrong ones, to say
what the likely mistake was), so neither the package nor a student release holds the
answer in readable form. Nobody pastes a digest: ``python -m vgg_course exercises sync``
runs each instructor solution, digests its values (:func:`expected_keys`) and writes them
all into the generated module ``vgg_course.exercises.keys`` (:func:`render_keys`); a test
fails when that module is stale, and ``tests/`` also checks each value against torch itself.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

from vgg_course.exercises import keys
from vgg_course.exercises.answers import field, is_int, plain, type_name
from vgg_course.exercises.core import Exercise, Part

_KEYS_DOC = '''"""The digests of the prediction exercises' expected values: GENERATED, never edit by hand.

Written by ``python -m vgg_course exercises sync`` from the instructor's solutions
(``vgg_course.exercises.predictions.render_keys``); ``tests/test_exercises.py`` fails when
it is stale. Exercise id -> prediction key -> salted digest (``predictions.digest``).
"""
'''


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
    """One predicted value: its part, its kind, and known wrong answers.

    ``kind`` is ``"int"`` or ``"name"`` (a str compared without case or spaces around);
    ``mistakes`` maps the digest of a typical wrong value to what it says about the
    reasoning (never the right value). The digest of the right value is generated into
    ``vgg_course.exercises.keys`` from the instructor's solution.
    """

    key: str
    part: str
    kind: str = "int"
    mistakes: Mapping[str, str] = None  # type: ignore[assignment]
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)  # Exercise's hash and equality (its predictions hold dicts)
class PredictionExercise(Exercise):
    """An :class:`Exercise` whose answer is a dict of predictions, one part each."""

    predictions: tuple[Prediction, ...] = ()


def expected_keys(ex: PredictionExercise, values: Mapping[str, Any]) -> dict[str, str]:
    """The digests of the right ``values`` (the instructor solution's ``predictions``).

    Example:
        >>> from vgg_course.exercises import freezing
        >>> expected_keys(freezing.q3, {"trainable": 1, "first_conv_grad": "None",
        ...                             "tensors_with_grad": 2})["trainable"][:8]
        '2ba030e5'
    """
    return {p.key: digest(ex.id, p.key, values[p.key]) for p in ex.predictions}


def render_keys(found: Mapping[str, Mapping[str, str]]) -> str:
    """The text of the generated ``keys`` module for ``{exercise id: {key: digest}}``.

    Example:
        >>> text = render_keys({"demo.q1": {"answer": "ab12"}})
        >>> print(text[text.index("KEYS = "):])
        KEYS = {
            "demo.q1": {
                "answer": "ab12",
            },
        }
        <BLANKLINE>
    """
    lines = ["KEYS = {"]
    for ex_id in sorted(found):
        lines.append(f"    {json.dumps(ex_id)}: {{")
        lines += [f"        {json.dumps(k)}: {json.dumps(v)}," for k, v in found[ex_id].items()]
        lines.append("    },")
    return _KEYS_DOC + "\n" + "\n".join(lines + ["}"]) + "\n"


def prediction_exercise(*, id: str, title: str, task: str, answer: str,
                        predictions: tuple[Prediction, ...], hint_text: str,
                        verify: str) -> PredictionExercise:
    """An exercise whose answer is a dict of predictions, one part each; the right values'
    digests are read from ``vgg_course.exercises.keys`` when a check runs."""
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
        expected = keys.KEYS.get(id, {}).get(p.key)
        if expected is None:
            return ("the kit has no key for this prediction yet: its author runs "
                    "`python -m vgg_course exercises sync`")
        mine = digest(id, p.key, value)
        if mine == expected:
            return None
        return (p.mistakes or {}).get(mine, "that is not what happens: check your reasoning, "
                                            "then run the verify cell to see why")

    return PredictionExercise(id=id, title=title, task=task, answer=answer,
                              parts=tuple(Part(p.part) for p in predictions),
                              make_cases=make_cases, observe=observe, assess=assess,
                              hint_text=hint_text, kind="value", verify=verify,
                              predictions=predictions)
