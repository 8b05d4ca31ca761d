"""The exercise machinery: an exercise, its parts, and the verdict its check returns.

An :class:`Exercise` names the value or function a student defines in a notebook cell
(``answer``), the solution cell that defines it (with nbgrader's ``### BEGIN SOLUTION`` /
``### END SOLUTION`` markers), and :class:`Part` tests that run the student's answer on a
fresh tiny VGG-shaped model and compare it with torch itself. ``check()`` never raises
into the student's face (unless ``VGG_COURSE_STRICT=1``), never prints the answer, and
returns a :class:`Verdict` whose text is deterministic, so stored outputs can be compared.
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from vgg_course import config, models

# What every exercise section imports before its first exercise (and reference() too).
SETUP_IMPORTS = "import torch\nimport torchvision\nfrom torch import nn\n\nimport vgg_course as vc"

_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$")
_MISSING = object()

# One look for every exercise: the status decides the symbol and the colour.
_STYLE = {
    "passed": ("✔", "#2e7d32", "#e8f5e9"),
    "partial": ("◐", "#b26a00", "#fff8e1"),
    "failed": ("✘", "#c62828", "#ffebee"),
    "not attempted": ("○", "#546e7a", "#eceff1"),
}


class ExerciseFailed(AssertionError):
    """Raised by ``check()`` in strict mode (``VGG_COURSE_STRICT=1``) when a check fails."""


@dataclass(frozen=True)
class Part:
    """One graded part: ``test(answer)`` returns ``None`` when right, else what is wrong."""

    name: str
    test: Callable[[Any], str | None]
    points: int = 1


@dataclass(frozen=True)
class PartResult:
    name: str
    points: int
    passed: bool
    message: str = ""

    @property
    def score(self) -> int:
        return self.points if self.passed else 0


@dataclass(frozen=True)
class Verdict:
    """What a check found: a status, a score out of ``points``, and one line per part."""

    exercise: str
    title: str
    status: str  # "passed" | "partial" | "failed" | "not attempted"
    parts: tuple[PartResult, ...] = ()
    message: str = ""
    points: int = 0

    @property
    def score(self) -> int:
        return sum(p.score for p in self.parts)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def lines(self) -> list[str]:
        symbol = _STYLE[self.status][0]
        head = f"{symbol} Exercise {self.exercise} ({self.title}): {self.status}, {self.score}/{self.points}"
        out = [head]
        if self.message:
            out.append(f"  {self.message}")
        if self.status != "not attempted" and (
                len(self.parts) > 1 or (self.parts and not self.parts[0].passed)):
            for part in self.parts:
                mark = "✔" if part.passed else "✘"
                detail = "" if part.passed else f": {part.message}"
                out.append(f"  {mark} {part.name} ({part.score}/{part.points}){detail}")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        _, colour, background = _STYLE[self.status]
        head, *rest = self.lines()
        body = "".join(f"<div>{html.escape(line.strip())}</div>" for line in rest)
        return (f'<div style="border-left:6px solid {colour};background:{background};'
                f'padding:6px 10px"><b>{html.escape(head)}</b>{body}</div>')

    def as_dict(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "status": self.status, "score": self.score,
                "points": self.points, "feedback": "\n".join(self.lines())}


@dataclass(frozen=True)
class Text:
    """A hint or a solution: markdown that displays in a cell."""

    kind: str
    text: str

    def __repr__(self) -> str:
        return f"{self.kind}: {self.text}"

    def _repr_markdown_(self) -> str:
        return f"**{self.kind}:** {self.text}"


def strip_solution_markers(source: str) -> str:
    """The solution cell without its ``### BEGIN/END SOLUTION`` lines."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))


@dataclass(frozen=True)
class Exercise:
    """A graded exercise: the student defines ``answer`` in a cell, ``check()`` grades it.

    Args:
        id: ``"<module>.<q>"``, e.g. ``"state_dict.q1"``; a gradebook column.
        title: a few words shown in the banner and the verdict.
        task: the markdown that tells the student what to do.
        answer: the name the student's cell must define (a value or a function).
        cell: the solution cell, with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers.
        parts: the graded parts; each part's points add up to the exercise's points.
        hint_text: a nudge that does not give the answer away.

    Example:
        >>> from vgg_course.exercises import state_dict as ex
        >>> ex.q1.check(14).status
        'passed'
        >>> ex.q1.check(...).status
        'not attempted'
    """

    id: str
    title: str
    task: str
    answer: str
    cell: str
    parts: tuple[Part, ...]
    hint_text: str

    @property
    def points(self) -> int:
        return sum(p.points for p in self.parts)

    @property
    def name(self) -> str:
        return self.id.rsplit(".", 1)[-1]

    def check_source(self, module_alias: str = "ex") -> str:
        """The canonical source of this exercise's check cell."""
        return (f"{module_alias}.{self.name}.check()\n"
                f"# {module_alias}.{self.name}.hint()      # a nudge\n"
                f"# {module_alias}.{self.name}.solution()  # the reference answer")

    def verdict(self, answer: Any = _MISSING) -> Verdict:
        """Grade ``answer`` (``...`` or missing means not attempted); never raises."""
        base = dict(exercise=self.id, title=self.title, points=self.points)
        if answer is _MISSING or _unset(answer):
            return Verdict(status="not attempted", message=(
                f"Define `{self.answer}` in the cell above, run it, then run this cell again."),
                parts=tuple(PartResult(p.name, p.points, False, "not attempted")
                            for p in self.parts), **base)
        results, stubs = [], 0
        for part in self.parts:
            try:
                problem = part.test(answer)
            except NotImplementedError:
                stubs += 1
                problem = "not answered yet (still the stub)"
            except Exception as exc:  # the student's code failed: say so, do not raise
                problem = f"raised {type(exc).__name__}: {_short(exc)}"
            results.append(PartResult(part.name, part.points, problem is None, problem or ""))
        if stubs == len(self.parts):
            return Verdict(status="not attempted", message=(
                f"Replace the `raise NotImplementedError()` stub in `{self.answer}`, "
                "run the cell, then run this cell again."),
                parts=tuple(PartResult(r.name, r.points, False, "not attempted")
                            for r in results), **base)
        score = sum(r.score for r in results)
        status = ("passed" if score == self.points else "partial" if score else "failed")
        return Verdict(status=status, parts=tuple(results), **base)

    def check(self, answer: Any = _MISSING) -> Verdict:
        """Grade the student's answer, found by name in the calling notebook's namespace.

        In strict mode (``VGG_COURSE_STRICT=1``) anything short of "passed" raises
        :class:`ExerciseFailed`, so CI can prove that the solutions pass.
        """
        if answer is _MISSING:
            caller = inspect.currentframe().f_back  # the notebook cell that called check()
            answer = caller.f_globals.get(self.answer, _MISSING) if caller else _MISSING
        verdict = self.verdict(answer)
        if config.settings().strict and not verdict.passed:
            raise ExerciseFailed(repr(verdict))
        return verdict

    def hint(self) -> Text:
        return Text("Hint", self.hint_text)

    def solution(self) -> Text:
        code = strip_solution_markers(self.cell).strip()
        return Text("Solution", f"\n```python\n{code}\n```")

    def reference(self) -> Any:
        """Run the solution cell in a fresh namespace and return the reference answer."""
        module = importlib.import_module(f"vgg_course.exercises.{self.id.split('.')[0]}")
        namespace: dict[str, Any] = {"ex": module}
        exec(SETUP_IMPORTS, namespace)  # noqa: S102
        exec(compile(self.cell, f"<solution {self.id}>", "exec"), namespace)  # noqa: S102
        return namespace[self.answer]


def tiny_model(num_classes: int = 10) -> nn.Module:
    """A fresh ``vc.models.tiny_vgg(num_classes)`` for one check (students may mutate it)."""
    return models.tiny_vgg(num_classes=num_classes)


def _unset(answer: Any) -> bool:
    """``...`` (the stub's placeholder), or a dict whose every value is still ``...``."""
    if isinstance(answer, dict) and answer:
        return all(v is Ellipsis for v in answer.values())
    return answer is Ellipsis


def _short(exc: BaseException, limit: int = 120) -> str:
    text = " ".join(str(exc).split())
    text = re.sub(r"0x[0-9a-fA-F]+", "0x…", text)  # no addresses in stored outputs
    return textwrap.shorten(text, limit, placeholder=" …") if text else "(no message)"
