"""The grader's files: ``gradebook.csv``, ``feedback/<student>.md``, ``summary.csv`` / ``.md``.

Every file is replaced atomically, so a grading run that stops half-way leaves complete
files with every grade finished so far. The summary answers "what did my class get
wrong?": per exercise, the class average, how many students got it (full marks), how
many passed its hidden tests, and the most common failure message. ``Submission`` is the
record of one graded notebook these files are written from (``vc.instructor.grading`` fills it).
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vgg_course import tables

# From best to worst; a student's row shows the worst status of their notebooks.
STATUSES = ("ok", "flagged", "error", "timeout", "invalid", "tampered")


@dataclass
class Submission:
    """One graded notebook: the student, the lesson, the status, the verdicts (dicts)."""

    student: str
    path: Path
    lesson: str | None
    seed: int = 0
    status: str = "ok"
    reasons: list[str] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time its sandboxed processes reported using

    @property
    def scores(self) -> dict[str, int]:
        if self.status in ("tampered", "invalid"):
            return {v["exercise"]: 0 for v in self.verdicts}
        return {v["exercise"]: v["score"] for v in self.verdicts}

    @property
    def total(self) -> int:
        return sum(self.scores.values())

    @property
    def hidden_score(self) -> int:
        if self.status in ("tampered", "invalid"):
            return 0
        return sum(v.get("hidden_score", 0) for v in self.verdicts)

    def flag(self, status: str, reason: str) -> None:
        if STATUSES.index(status) > STATUSES.index(self.status):
            self.status = status
        self.reasons.append(reason)


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def safe_name(student: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", student) or "_"


def _csv(rows: list[list]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue()


def _by_student(results: list[Submission]) -> dict[str, list[Submission]]:
    rows: dict[str, list[Submission]] = {}
    for sub in results:
        rows.setdefault(sub.student, []).append(sub)
    return dict(sorted(rows.items()))


def gradebook_csv(results: list[Submission], columns: list[tuple[str, int]]) -> str:
    """One row per student: a column per exercise (points, hidden tests included), then
    ``total``, ``out_of``, ``hidden`` (points from hidden tests, e.g. ``2/3``), ``status``
    (the worst of the student's notebooks) and ``reasons``."""
    rows = [["student", *[c for c, _ in columns], "total", "out_of", "hidden", "status",
             "reasons"]]
    for student, subs in _by_student(results).items():
        scores = {k: v for s in subs for k, v in s.scores.items()}
        got = sum(s.hidden_score for s in subs)
        out_of = sum(v.get("hidden_points", 0) for s in subs for v in s.verdicts)
        rows.append([student, *[scores.get(c, "") for c, _ in columns], sum(scores.values()),
                     sum(p for _, p in columns), f"{got}/{out_of}" if out_of else "",
                     max((s.status for s in subs), key=STATUSES.index),
                     "; ".join(f"{s.path.name}: {r}" for s in subs for r in s.reasons)])
    return _csv(rows)


def feedback_markdown(student: str, results: list[Submission]) -> str:
    """What one student is sent: per notebook the score, the status and its reasons, and
    each exercise's verdict."""
    lines = [f"# Feedback for {student}", ""]
    for sub in results:
        out_of = sum(v["points"] for v in sub.verdicts)
        lines += [f"## {sub.path.name}: {sub.total}/{out_of} ({sub.status})", ""]
        lines += [f"- {reason}" for reason in sub.reasons] + ([""] if sub.reasons else [])
        for v in sub.verdicts:
            if v.get("feedback"):
                lines += ["```", v["feedback"], "```", ""]
    return "\n".join(lines)


def failure(verdict: dict) -> str | None:
    """The one-line reason an exercise did not get full marks (``None`` if it did).

    Example:
        >>> failure({"score": 1, "points": 3, "status": "partial", "parts": [
        ...     {"name": "nothing frozen", "passed": True, "message": ""},
        ...     {"name": "frozen layers", "passed": False, "message": "too few"}]})
        'frozen layers: too few'
    """
    if verdict.get("problem"):
        return verdict["problem"]
    if verdict["score"] == verdict["points"]:
        return None
    if verdict["status"] == "not attempted":
        return "not attempted"
    failed = [p for p in verdict.get("parts", []) if not p["passed"]]
    return f"{failed[0]['name']}: {failed[0]['message']}" if failed else verdict["status"]


def summary_rows(results: list[Submission], columns: list[tuple[str, int]]) -> list[dict]:
    """Per exercise: points, students, average, got it, hidden tests passed, and the most
    common failure with how many students had it."""
    rows = []
    for exercise, points in columns:
        verdicts = [v for s in results for v in s.verdicts if v["exercise"] == exercise]
        scores = [s.scores.get(exercise, 0) for s in results
                  if any(v["exercise"] == exercise for v in s.verdicts)]
        hidden = [v for v in verdicts if v.get("hidden_points")]
        failures = Counter(f for v in verdicts if (f := failure(v)) is not None)
        (common, count), = failures.most_common(1) or [("", 0)]
        rows.append({"exercise": exercise, "points": points, "students": len(scores),
                     "average": round(sum(scores) / len(scores), 2) if scores else 0.0,
                     "got_it": sum(1 for s in scores if s == points),
                     "hidden_passed": (f"{sum(v['hidden_score'] == v['hidden_points'] for v in hidden)}"
                                       f"/{len(hidden)}" if hidden else ""),
                     "most_common_failure": common, "failure_count": count})
    return rows


def summary_csv(rows: list[dict]) -> str:
    keys = ["exercise", "points", "students", "average", "got_it", "hidden_passed",
            "most_common_failure", "failure_count"]
    return _csv([keys, *[[row[k] for k in keys] for row in rows]])


def summary_markdown(rows: list[dict]) -> str:
    """The summary as a table to read: what did my class get wrong?"""
    cells = [[r["exercise"], f"{r['average']} / {r['points']}", f"{r['got_it']} of {r['students']}",
              r["hidden_passed"] or "—",
              f"{r['most_common_failure']} ({r['failure_count']} of {r['students']})"
              if r["failure_count"] else "—"] for r in rows]
    table = tables.Table(["exercise", "average", "got it", "hidden tests passed",
                          "most common failure"], cells)
    return f"# What did the class get wrong?\n\n{table.markdown()}\n"


def write_all(out: Path, results: list[Submission], columns: list[tuple[str, int]],
              student: str | None = None) -> None:
    """Rewrite the gradebook and the summary, and the feedback of ``student`` (or everyone's)."""
    atomic_write(out / "gradebook.csv", gradebook_csv(results, columns))
    rows = summary_rows(results, columns)
    atomic_write(out / "summary.csv", summary_csv(rows))
    atomic_write(out / "summary.md", summary_markdown(rows))
    for name, subs in _by_student(results).items():
        if student is None or name == student:
            atomic_write(out / "feedback" / f"{safe_name(name)}.md", feedback_markdown(name, subs))
