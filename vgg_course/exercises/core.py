"""The exercise machinery: an exercise, its cases, its probe, its judge and the verdict.

A grade never depends on code the student could have changed, and the student's side never
needs solution code: (1) ``ex.cases(seed, hidden=False)`` (TRUSTED) makes fresh random cases,
plain JSON data; ``hidden=True`` adds the instructor-only cases of
``vgg_course.exercises.instructor`` (a student release lacks it: :class:`SolutionsUnavailable`).
(2) ``ex.probe(answer, cases)`` (UNTRUSTED, the student's process or sandbox) calls the answer
on each case and returns one JSON observation per case (``{"value"}``, ``{"error"}``,
``{"stub"}`` or ``{"unset"}``); one case raising never stops the others. (3)
``ex.judge(cases, observations)`` (TRUSTED) never runs student code and never raises; it gives
points per :class:`Part`, each marked ``hidden`` or not.

``ex.verdict(answer, seed=0)`` does the three in one process; ``ex.check()`` is that for the
student's instant feedback, in the student's language (``vgg_course.i18n``). The grader calls
``vgg_course.exercises.lesson_cases / probe_namespace / judge_lesson`` (``grade_namespace``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import random
import re
import textwrap
from dataclasses import dataclass
from typing import Any, Callable

import torch

from vgg_course import config
from vgg_course.exercises import integrity, public, zoo
from vgg_course.exercises.integrity import one_thread
from vgg_course.exercises.parts import Hidden, Part  # noqa: F401  (re-exported)
from vgg_course.exercises.solutions import solution_cell, strip_solution_markers  # noqa: F401
from vgg_course.exercises.verdicts import PartResult, Text, Verdict  # noqa: F401  (re-exported)
from vgg_course.i18n import N_, _

SETUP_IMPORTS = "import torch\nimport torchvision\nfrom torch import nn\n\nimport vgg_course as vc"  # every section

MISSING = object()
_INSTRUCTOR = "vgg_course.exercises.instructor"
_CASES: dict[tuple, str] = {}  # (exercise, seed, hidden, instructor module) -> cases as JSON

# What a student build lacks, said when it is asked for (``Exercise._instructor``).
_UNAVAILABLE = {
    "solutions": N_("this build of the kit has no solutions: they come from your instructor"),
    "hidden tests": N_("this build of the kit has no hidden tests: they come from your instructor"),
    "expected values": N_("this build of the kit has no expected values: they come from your "
                          "instructor"),
}
HINT, SOLUTION = N_("Hint"), N_("Solution")  # a Text's kind, shown translated


class ExerciseFailed(AssertionError):
    """Raised by ``check()`` in strict mode (``VGG_COURSE_STRICT=1``) when a check fails."""


class SolutionsUnavailable(LookupError):
    """This build of the kit has no solutions or hidden cases (a student release)."""


def instructor_module(lesson: str):
    """``vgg_course.exercises.instructor.<lesson>``, or ``None`` in a student release."""
    try:
        return importlib.import_module(f"{_INSTRUCTOR}.{lesson}")
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == _INSTRUCTOR or exc.name.startswith(_INSTRUCTOR + ".")
                         or _INSTRUCTOR.startswith(exc.name)):
            return None
        raise


@dataclass(frozen=True)
class Exercise:
    """A graded exercise: the student defines ``answer`` in a cell, ``check()`` grades it.

    Args:
        id: ``"<module>.<q>"``, e.g. ``"state_dict.q1"``; a gradebook column.
        title: a few words shown in the banner and the verdict.
        task: the markdown that tells the student what to do.
        answer: the name the student's cell must define (a value or a function).
        parts: the public graded parts.
        make_cases: ``rng -> [case, ...]`` (trusted); each case is plain JSON data with a
            ``"part"`` (the part it counts for) and an optional ``"label"`` (shown with a problem).
        assess: ``(case, observed) -> None`` when right, else what is wrong (trusted: it
            never sees the answer, only what ``observe`` returned, as plain data).
        hint_text: a nudge that does not give the answer away.
        observe: ``(answer, case) -> JSON data``, run on the student's side (untrusted). The
            default, ``zoo.call_answer``, calls the answer on the case's ``"model"`` (a zoo
            spec) and ``"args"`` and returns the result; write one only to observe more.
        kind: ``"function"`` (the answer must be callable) or ``"value"``.
        verify: for a predict-then-verify exercise, a cell that shows the real result.

    Example:
        >>> from vgg_course.exercises import state_dict as ex
        >>> ex.q2.check(lambda model, key: model.get_submodule(key.rpartition(".")[0])).status
        'passed'
        >>> ex.q2.check(...).status
        'not attempted'
    """

    id: str
    title: str
    task: str
    answer: str
    parts: tuple[Part, ...]
    make_cases: Callable[[random.Random], list[dict]]
    assess: Callable[[dict, Any], str | None]
    hint_text: str
    observe: Callable[[Any, dict], Any] = zoo.call_answer
    kind: str = "function"
    verify: str = ""

    @property
    def points(self) -> int:
        return sum(p.points for p in self.parts)

    @property
    def name(self) -> str:
        return self.id.rsplit(".", 1)[-1]

    @property
    def lesson(self) -> str:
        return self.id.split(".", 1)[0]

    # --- instructor-only material ---------------------------------------------------

    def _instructor(self, what: str):
        module = instructor_module(self.lesson)
        if module is None:
            raise SolutionsUnavailable(_(_UNAVAILABLE[what]))
        return module

    @property
    def cell(self) -> str:
        """The solution cell, with ``### BEGIN/END SOLUTION`` markers (instructor only): made
        from the instructor module's function named like ``answer`` (``exercises.solutions``)."""
        module = self._instructor("solutions")
        solution = getattr(module, self.answer, None)
        if not callable(solution):
            raise LookupError(f"{module.__name__} has no solution function `{self.answer}`")
        return solution_cell(solution, kind=self.kind)

    def hidden(self) -> Hidden | None:
        """The instructor-only parts and cases (instructor only)."""
        return getattr(self._instructor("hidden tests"), "HIDDEN", {}).get(self.name)

    # --- the three steps ------------------------------------------------------------

    def cases(self, seed: int = 0, *, hidden: bool = False) -> list[dict]:
        """Cases from ``seed`` (plain JSON, each with its ``"part"`` and the instructor's
        ``"expected"`` data, never sent to a sandbox); a student build has seed 0 only."""
        module = instructor_module(self.lesson)
        if module is None:
            if hidden or seed != 0:
                raise SolutionsUnavailable(_("fresh and hidden cases come from your instructor's "
                                             "grader in this build of the kit"))
            return public.cases(self.id, lambda: self.make_cases(random.Random(f"{self.id}/0")))
        key = (self.id, seed, hidden, id(module))
        if key not in _CASES:  # the same seed always gives the same cases: made once
            if len(_CASES) >= 256:
                _CASES.pop(next(iter(_CASES)))
            _CASES[key] = json.dumps(self._fresh_cases(module, seed, hidden))
        return json.loads(_CASES[key])

    def _fresh_cases(self, module, seed: int, hidden: bool) -> list[dict]:
        cases = [dict(c, hidden=False) for c in self.make_cases(random.Random(f"{self.id}/{seed}"))]
        extra = self.hidden() if hidden else None
        if extra is not None:
            rng = random.Random(f"{self.id}/{seed}/hidden")
            cases += [dict(c, hidden=True) for c in extra.make_cases(rng)]
        cases = json.loads(json.dumps(cases))  # a copy, and proof that it is plain data
        expect = self.expectation(module)
        if expect is not None:
            with one_thread():  # tiny reference models: one thread is faster on a busy machine
                for case in cases:
                    case["expected"] = json.loads(json.dumps(
                        expect(without_expected([case])[0])))
        return cases

    def expectation(self, module=None) -> Callable[[dict], Any] | None:
        """The instructor's ``expect_<q>(case)``, or ``None`` (instructor only)."""
        module = module or self._instructor("expected values")
        return getattr(module, f"expect_{self.name}", None)

    def probe(self, answer: Any, cases: list[dict]) -> list[dict]:
        """Run ``answer`` on every case (student side); JSON observations, never raises.

        The global state is compared after each case (``integrity.global_state``): an
        answer that leaves it changed is observed as a ``side_effect``, and it is restored."""
        if answer is MISSING or unset(answer):
            return [{"unset": True} for _case in cases]
        if self.kind == "function" and not callable(answer):
            what = type(answer).__name__
            return [{"error": _("expected a function, got {type}").format(type=what)}
                    for _case in cases]
        observations = []
        with one_thread():
            for case in without_expected(cases):
                before = integrity.global_state()
                try:
                    value = self.observe(answer, case)
                    observations.append({"value": json.loads(json.dumps(value))})
                except NotImplementedError:
                    observations.append({"stub": True})
                except (Exception, SystemExit) as exc:  # the student's code failed: record it
                    observations.append({"error": f"{type(exc).__name__}: {_short(exc)}"})
                changed = integrity.state_changes(before, integrity.global_state())
                if changed:
                    integrity.restore(before)
                    observations[-1] = {"side_effect": "; ".join(changed)}
        return observations

    def judge(self, cases: list[dict], observations: Any) -> Verdict:
        """Points per part from the observations (trusted side); never raises."""
        parts = list(self.parts)
        if any(c.get("hidden") for c in cases):
            extra = self.hidden()
            parts += list(extra.parts) if extra else []
        base = dict(exercise=self.id, title=self.title, points=sum(p.points for p in parts))
        try:
            with one_thread():
                return self._judge(cases, observations, parts, base)
        except Exception as exc:  # malformed observations: never a crash, never a grade
            return Verdict(status="failed", message=(
                _("the observations of this answer could not be read ({error_type})").format(
                    error_type=type(exc).__name__)),
                parts=tuple(PartResult(p.name, p.points, False, "not checked", p.hidden)
                            for p in parts), **base)

    def _judge(self, cases, observations, parts, base) -> Verdict:
        if not isinstance(observations, list) or len(observations) != len(cases):
            raise ValueError("one observation per case")
        kinds = [next(iter(o)) if isinstance(o, dict) and len(o) == 1 else "bad"
                 for o in observations]
        if kinds and all(k == "unset" for k in kinds):
            return Verdict(status="not attempted", message=(
                _("Define `{answer}` in the cell above, run it, then run this cell again.").format(
                    answer=self.answer)),
                parts=tuple(PartResult(p.name, p.points, False, "not attempted", p.hidden)
                            for p in parts), **base)
        if kinds and all(k == "stub" for k in kinds):
            return Verdict(status="not attempted", message=(
                _("Replace the stub in `{answer}` (`...` or `raise NotImplementedError()`), "
                  "run the cell, then run this cell again.").format(answer=self.answer)),
                parts=tuple(PartResult(p.name, p.points, False, "not attempted", p.hidden)
                            for p in parts), **base)
        problems: dict[str, str] = {}
        for case, kind, obs in zip(cases, kinds, observations):
            name = case["part"]
            if name in problems:
                continue  # the first problem of a part is the one shown
            if kind == "value":
                try:
                    problem = self.assess(case, obs["value"])
                except Exception as exc:
                    problem = _("its result could not be checked ({error_type})").format(
                        error_type=type(exc).__name__)
            elif kind == "error":
                problem = _("raised {error}").format(error=_clip(str(obs["error"])))
            elif kind == "stub":
                problem = _("not answered yet (still the stub)")
            elif kind == "side_effect":
                problem = _("changed global state: {changes}").format(
                    changes=_clip(str(obs["side_effect"])))
            else:
                problem = _("no result")
            if problem:
                label = case.get("label")  # data (a case's words), shown translated if it can be
                problems[name] = f"{_(str(label))}: {problem}" if label else str(problem)
        seen = {c["part"] for c in cases}
        results = tuple(PartResult(p.name, p.points, p.name in seen and p.name not in problems,
                                   problems.get(p.name, "" if p.name in seen else "not checked"),
                                   p.hidden) for p in parts)
        score = sum(r.score for r in results)
        status = "passed" if score == base["points"] else "partial" if score else "failed"
        return Verdict(status=status, parts=results, **base)

    def verdict(self, answer: Any = MISSING, seed: int = 0, *, hidden: bool = False) -> Verdict:
        """``judge(cases, probe(answer, cases))`` in one process; never raises."""
        cases = self.cases(seed, hidden=hidden)
        observations = json.loads(json.dumps(self.probe(answer, cases)))  # as over a pipe
        return self.judge(cases, observations)

    def check_source(self, module_alias: str = "ex") -> str:
        """The canonical source of this exercise's check cell."""
        return (f"{module_alias}.{self.name}.check()\n"
                f"# {module_alias}.{self.name}.hint()      # a nudge\n"
                f"# {module_alias}.{self.name}.solution()  # the reference answer")

    def check(self, answer: Any = MISSING) -> Verdict:
        """Grade the student's answer, found by name in the calling notebook's namespace.

        In strict mode (``VGG_COURSE_STRICT=1``) anything short of "passed" raises
        :class:`ExerciseFailed`, so CI can prove that the solutions pass.
        """
        if answer is MISSING:
            caller = inspect.currentframe().f_back  # the notebook cell that called check()
            answer = caller.f_globals.get(self.answer, MISSING) if caller else MISSING
        verdict = self.verdict(answer)
        if config.settings().strict and not verdict.passed:
            raise ExerciseFailed(repr(verdict))
        return verdict

    def hint(self) -> Text:
        return Text(HINT, _(self.hint_text))

    def solution(self) -> Text:
        try:
            code = strip_solution_markers(self.cell).strip()
        except SolutionsUnavailable:
            return Text(SOLUTION, _("solutions come from your instructor in this build of "
                                    "the kit. Try `hint()`, and re-read the task."))
        return Text(SOLUTION, f"\n```python\n{code}\n```")

    def reference(self) -> Any:
        """Run the solution cell in a fresh namespace and return the reference answer.

        The namespace holds what the exercise section imports first (``SETUP_IMPORTS``);
        solution cells use nothing else (a test checks it).
        """
        namespace: dict[str, Any] = {}
        exec(SETUP_IMPORTS, namespace)  # noqa: S102
        exec(compile(self.cell, f"<solution {self.id}>", "exec"), namespace)  # noqa: S102
        return namespace[self.answer]


# --- helpers the exercise modules share ---------------------------------------------

def without_expected(cases: list[dict]) -> list[dict]:
    """Copies of ``cases`` without their ``"expected"`` data: what the answer's side sees."""
    return [{k: v for k, v in json.loads(json.dumps(c)).items() if k != "expected"}
            for c in cases]


def unset(answer: Any) -> bool:
    """``...`` (the stub's placeholder), or a dict whose every value is still ``...``."""
    if isinstance(answer, dict) and answer:
        return all(v is Ellipsis for v in answer.values())
    return answer is Ellipsis


def _short(exc: BaseException, limit: int = 120) -> str:
    return _clip(" ".join(str(exc).split()) or _("(no message)"), limit)


def _clip(text: str, limit: int = 160) -> str:
    text = re.sub(r"0x[0-9a-fA-F]+", "0x…", " ".join(text.split()))  # no addresses in outputs
    return textwrap.shorten(text, limit, placeholder=" …") if text else _("(no message)")
