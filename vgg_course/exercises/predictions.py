"""Predict-then-verify exercises: the prediction is recorded, the verify cell shows the truth.

The student commits to numbers (or names) before running anything. ``check()`` only
records them (nothing in the student's copy of the kit holds the answer or any function of
it: no digest, no key); the verify cell then computes what really happens with real code
and ends with ``ex.qN.reveal(key=value, ...)``, which shows the recorded prediction beside
the truth, ✔ or ✘ (in strict mode a mismatch raises). The instructor's grader judges a
prediction from the instructor's solution: :meth:`Exercise.cases` attaches the solution's
values as each case's ``"expected"`` data, with what a typical wrong value says
(``MISTAKES`` in ``vgg_course.exercises.instructor.<lesson>``).
"""

from __future__ import annotations

import html
import inspect
import math
from dataclasses import dataclass
from typing import Any

from vgg_course import config
from vgg_course.exercises.answers import field, is_int, plain, type_name
from vgg_course.exercises.core import MISSING, Exercise, ExerciseFailed, Part, unset
from vgg_course.exercises.verdicts import PartResult, Verdict
from vgg_course.i18n import _

_RECORDED: dict[str, dict[str, Any]] = {}  # exercise id -> the predictions check() recorded


@dataclass(frozen=True)
class Prediction:
    """One predicted value: its key in the answer dict, its part, its kind.

    ``kind`` is ``"int"`` or ``"name"`` (a str compared without case or spaces around);
    ``choices`` lists the names a ``"name"`` prediction may take.
    """

    key: str
    part: str
    kind: str = "int"
    choices: tuple[str, ...] = ()


def normal(value: Any) -> Any:
    """A value as predictions are compared: names stripped and lower-case, whole floats ints.

    Example:
        >>> normal(" None "), normal(12.0), normal(True)
        ('none', 12, True)
    """
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    return value


@dataclass(frozen=True, eq=False)  # Exercise's hash and equality
class PredictionExercise(Exercise):
    """An :class:`Exercise` whose answer is a dict of predictions, one part each."""

    predictions: tuple[Prediction, ...] = ()

    def expectation(self, module=None):
        """The instructor's values (its solution's ``predictions``) and ``MISTAKES``."""
        module = module or self._instructor("expected values")
        values = plain(self.reference())
        mistakes = getattr(module, "MISTAKES", {}).get(self.name, {})

        def expect(case: dict) -> dict:
            said = {str(normal(k)): v for k, v in mistakes.get(case["key"], {}).items()}
            return {"value": values[case["key"]], "mistakes": said}
        return expect

    def check(self, answer: Any = MISSING) -> Verdict:
        """Record the predictions the calling cell defined; the verify cell shows the truth."""
        if answer is MISSING:
            caller = inspect.currentframe().f_back
            answer = caller.f_globals.get(self.answer, MISSING) if caller else MISSING
        recorded, problems = {}, {}
        for p in self.predictions:
            try:
                value = plain(field(answer, p.key)) if answer is not MISSING else ...
            except NotImplementedError:
                value = ...
            except TypeError as exc:
                value, problems[p.part] = None, str(exc)
            if value is ... or p.part in problems:
                continue
            problem = _form_problem(p, value)
            if problem:
                problems[p.part] = problem
            else:
                recorded[p.key] = value
        if answer is MISSING or unset(answer) or not (recorded or problems):
            _RECORDED.pop(self.id, None)
            verdict = Verdict(self.id, self.title, "not attempted", message=_(
                "Fill in `{answer}` in the cell above, run it, then run this cell again.").format(
                    answer=self.answer),
                parts=tuple(PartResult(p.part, 1, False, "not attempted") for p in self.predictions),
                points=self.points)
            if config.settings().strict:
                raise ExerciseFailed(repr(verdict))
            return verdict
        _RECORDED[self.id] = recorded
        parts = tuple(PartResult(p.part, 1, False, "recorded" if p.key in recorded
                                 else problems.get(p.part, _("not answered yet")))
                      for p in self.predictions)
        complete = len(recorded) == len(self.predictions)
        message = (_("Recorded: now run the verify cell below; it shows what really happens "
                     "beside your prediction.") if complete else
                   _("Recorded what could be; fix the rest and run this cell again."))
        verdict = Verdict(self.id, self.title, "recorded" if complete else "failed",
                          parts=parts, message=message, points=self.points)
        if config.settings().strict and not complete:
            raise ExerciseFailed(repr(verdict))
        return verdict

    def reveal(self, **truth: Any) -> "Reveal":
        """The verify cell's last line: each prediction recorded beside what really happens."""
        recorded = _RECORDED.get(self.id, {})
        rows = []
        for p in self.predictions:
            real = plain(truth.get(p.key))
            real = real if isinstance(real, str) else normal(real)  # 12.0 shows as 12
            mine = recorded.get(p.key, ...)
            rows.append((p.key, "—" if mine is ... else mine, real,
                         mine is not ... and normal(mine) == normal(real)))
        shown = Reveal(self.id, tuple(rows), bool(recorded))
        if config.settings().strict and not all(r[3] for r in rows):
            raise ExerciseFailed(repr(shown))
        return shown


@dataclass(frozen=True)
class Reveal:
    """What the verify cell shows: per prediction, yours, the truth, and whether they match."""

    exercise: str
    rows: tuple[tuple[str, Any, Any, bool], ...]
    recorded: bool

    def lines(self) -> list[str]:
        right = sum(r[3] for r in self.rows)
        head = (_("Exercise {exercise}: {right} of {total} predictions right").format(
                    exercise=self.exercise, right=right, total=len(self.rows))
                if self.recorded else
                _("Exercise {exercise}: no prediction recorded (run the check cell first)").format(
                    exercise=self.exercise))
        row = _("{key}: you predicted {mine}, it is {real}")
        return [head, *["  {} {}".format("✔" if ok else "✘",
                                         row.format(key=key, mine=mine, real=real))
                        for key, mine, real, ok in self.rows]]

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        head, *rest = self.lines()
        rows = "".join(f"<tr><td>{'✔' if ok else '✘'}</td><td><code>{html.escape(k)}</code></td>"
                       f"<td>{html.escape(str(m))}</td><td>{html.escape(str(r))}</td></tr>"
                       for k, m, r, ok in self.rows)
        titles = "".join(f"<th>{html.escape(t)}</th>"
                         for t in (_("prediction"), _("yours"), _("what happens")))
        return f"<b>{html.escape(head)}</b><table><tr><th></th>{titles}</tr>{rows}</table>"


def _form_problem(p: Prediction, value: Any) -> str | None:
    """What is wrong with a prediction's form (never with its value)."""
    if p.kind == "int" and not is_int(value):
        return _("expected a whole number (an int), got {type}").format(type=type_name(value))
    if p.kind == "name":
        if not isinstance(value, str):
            return _("expected a name (a str), got {type}").format(type=type_name(value))
        if p.choices and value.strip().lower() not in [c.lower() for c in p.choices]:
            return _("{value} is not one of the choices: {choices}").format(
                value=repr(value), choices=", ".join(p.choices))
    return None


def prediction_exercise(*, id: str, title: str, task: str, answer: str,
                        predictions: tuple[Prediction, ...], hint_text: str,
                        verify: str) -> PredictionExercise:
    """An exercise whose answer is a dict of predictions, one part each; the grader judges
    them against the instructor's solution."""
    by_key = {p.key: p for p in predictions}

    def make_cases(rng) -> list[dict]:
        return [{"part": p.part, "key": p.key} for p in predictions]

    def observe(answers: Any, case: dict) -> Any:
        return plain(field(answers, case["key"]))

    def assess(case: dict, value: Any) -> str | None:
        problem = _form_problem(by_key[case["key"]], value)
        if problem:
            return problem
        expected = case.get("expected")
        if expected is None:
            return _("predictions are judged by your instructor's grader")
        if normal(value) == normal(expected["value"]):
            return None
        said = expected["mistakes"].get(str(normal(value)))
        return _(said) if said is not None else _(
            "that is not what happens: check your reasoning, then run the verify cell to see why")

    return PredictionExercise(id=id, title=title, task=task, answer=answer,
                              parts=tuple(Part(p.part) for p in predictions),
                              make_cases=make_cases, observe=observe, assess=assess,
                              hint_text=hint_text, kind="value", verify=verify,
                              predictions=predictions)
