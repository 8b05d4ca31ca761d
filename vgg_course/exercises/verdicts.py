"""What a check says: a verdict per exercise, a line per part, hints and solutions shown in a cell.

The text is deterministic (stored notebook outputs are compared), and ``Verdict.as_dict()``
is what the grader writes to the gradebook, hidden parts marked.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from vgg_course.i18n import N_, _

# One look for every exercise: the status decides the symbol and the colour.
_STYLE = {
    "passed": ("✔", "#2e7d32", "#e8f5e9"),
    "partial": ("◐", "#b26a00", "#fff8e1"),
    "failed": ("✘", "#c62828", "#ffebee"),
    "not attempted": ("○", "#546e7a", "#eceff1"),
    "recorded": ("●", "#1565c0", "#e3f2fd"),  # a prediction, before its verify cell
}

# The words shown for a status, and for the part messages that are also data ("not checked",
# "not attempted"): ``status`` and ``PartResult.message`` stay English (the gradebook's
# values, compared in code); a verdict's lines translate them when shown.
_SHOWN_WORDS = (N_("passed"), N_("partial"), N_("failed"), N_("not attempted"), N_("not checked"))


@dataclass(frozen=True)
class PartResult:
    name: str
    points: int
    passed: bool
    message: str = ""
    hidden: bool = False

    @property
    def score(self) -> int:
        return self.points if self.passed else 0


@dataclass(frozen=True)
class Verdict:
    """What a check found: a status, a score out of ``points``, and one line per part."""

    exercise: str
    title: str
    status: str  # "passed" | "partial" | "failed" | "not attempted" | "recorded"
    parts: tuple[PartResult, ...] = ()
    message: str = ""
    points: int = 0

    @property
    def score(self) -> int:
        return sum(p.score for p in self.parts)

    @property
    def hidden_score(self) -> int:
        return sum(p.score for p in self.parts if p.hidden)

    @property
    def hidden_points(self) -> int:
        return sum(p.points for p in self.parts if p.hidden)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def lines(self) -> list[str]:
        symbol = _STYLE[self.status][0]
        title = _(self.title)
        head = _("Exercise {exercise} ({title}): {status}, {score}/{points}").format(
            exercise=self.exercise, title=title, status=_(self.status), score=self.score,
            points=self.points)
        if self.status == "recorded":
            head = _("Exercise {exercise} ({title}): your predictions are recorded").format(
                exercise=self.exercise, title=title)
        out = [f"{symbol} {head}"]
        if self.message:
            out.append(f"  {_(self.message)}")
        if self.status != "not attempted" and (
                len(self.parts) > 1 or (self.parts and not self.parts[0].passed)):
            for part in self.parts:
                mark = "✔" if part.passed else "●" if part.message == "recorded" else "✘"
                tag = " " + _("[hidden]") if part.hidden else ""
                detail = "" if part.passed or part.message == "recorded" else f": {_(part.message)}"
                score = "" if part.message == "recorded" else f" ({part.score}/{part.points})"
                out.append(f"  {mark} {_(part.name)}{tag}{score}{detail}")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        _symbol, colour, background = _STYLE[self.status]
        head, *rest = self.lines()
        body = "".join(f"<div>{html.escape(line.strip())}</div>" for line in rest)
        return (f'<div style="border-left:6px solid {colour};background:{background};'
                f'padding:6px 10px"><b>{html.escape(head)}</b>{body}</div>')

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the gradebook's columns, and every part (hidden ones marked)."""
        return {"exercise": self.exercise, "status": self.status, "score": self.score,
                "points": self.points, "hidden_score": self.hidden_score,
                "hidden_points": self.hidden_points, "feedback": "\n".join(self.lines()),
                "parts": [{"name": p.name, "points": p.points, "score": p.score,
                           "passed": p.passed, "hidden": p.hidden, "message": p.message}
                          for p in self.parts]}


@dataclass(frozen=True)
class Text:
    """A hint or a solution: markdown that displays in a cell (``kind``, ``"Hint"`` or
    ``"Solution"``, is shown in the current language)."""

    kind: str
    text: str

    def __repr__(self) -> str:
        return f"{_(self.kind)}: {self.text}"

    def _repr_markdown_(self) -> str:
        return f"**{_(self.kind)}:** {self.text}"
