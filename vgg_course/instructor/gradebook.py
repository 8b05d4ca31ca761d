"""The grader's files: ``gradebook.csv``, ``feedback/<student id>.md``, ``summary.csv`` / ``.md``.

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
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vgg_course import tables
from vgg_course.instructor import students

# From best to worst; a row shows the worst status of its notebooks. The last three are
# not graded: a duplicate (two different notebooks of one lesson), a file that could not
# be read (or a link, a FIFO, a huge file), a notebook that changed the kit.
STATUSES = ("ok", "flagged", "error", "timeout", "duplicate", "invalid", "tampered")
UNGRADED = ("duplicate", "invalid", "tampered")
# {lesson: [(exercise id, points with its hidden parts), ...]}: every lesson in the
# submissions, each with all its exercises (never only the ones a student handed in).
Columns = dict[str, list[tuple[str, int]]]


@dataclass
class Submission:
    """One graded notebook: the student's id, the lesson, the status, the verdicts (dicts).

    ``name`` and ``file`` are the student's folder name and the notebook's path below the
    submissions folder, escaped for printing; ``seconds`` and ``cpu_seconds`` are for the
    log only (the files written here hold nothing that changes from run to run)."""

    student: str
    path: Path
    lesson: str | None
    seed: int = 0
    status: str = "ok"
    reasons: list[str] = field(default_factory=list)
    verdicts: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time its sandboxed processes reported using
    name: str = ""
    file: str = ""

    @property
    def scores(self) -> dict[str, int]:
        if self.status in UNGRADED:
            return {v["exercise"]: 0 for v in self.verdicts}
        return {v["exercise"]: v["score"] for v in self.verdicts}

    @property
    def total(self) -> int:
        return sum(self.scores.values())

    @property
    def hidden_score(self) -> int:
        if self.status in UNGRADED:
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


def _csv(rows: list[list]) -> str:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([[students.cell(c) for c in row] for row in rows])
    return out.getvalue()


def sort_key(sub: Submission) -> tuple:
    """Rows, notebooks and results are written in this order: id, lesson, file."""
    return sub.student, sub.lesson or "", os.fsencode(sub.file), sub.file


def rows(results: list[Submission]) -> dict[tuple[str, str], list[Submission]]:
    """``{(student id, lesson): notebooks}`` in id order: one gradebook row each."""
    out: dict[tuple[str, str], list[Submission]] = {}
    for sub in sorted(results, key=sort_key):
        out.setdefault((sub.student, sub.lesson or ""), []).append(sub)
    return out


def _status(subs: list[Submission]) -> str:
    return max((s.status for s in subs), key=STATUSES.index)


def _scores(subs: list[Submission], columns: Columns, lesson: str) -> dict[str, int]:
    graded = {k: v for s in subs for k, v in s.scores.items()}
    return {ex: graded.get(ex, 0) for ex, _ in columns.get(lesson, [])}


def failure(verdict: dict) -> str | None:
    """The one-line reason an exercise did not get full marks (``None`` if it did); a
    hidden part is named with "failed" only, never its message (it may hold the case).

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
    failed = sorted((p for p in verdict.get("parts", []) if not p["passed"]),
                    key=lambda p: bool(p.get("hidden")))  # a visible one says more
    if not failed:
        return verdict["status"]
    return f"{failed[0]['name']} [hidden]: failed" if failed[0].get("hidden") \
        else f"{failed[0]['name']}: {failed[0]['message']}"


def gradebook_csv(results: list[Submission], columns: Columns) -> str:
    """One row per student and lesson, in id order: ``id``, ``student`` (the folder's
    name, escaped), ``lesson``, ``notebook``, a column per exercise of every lesson (the
    row's lesson's filled in, hidden tests included), ``total``, ``out_of`` (the
    lesson's points, whatever was handed in), ``hidden`` (points from hidden tests, e.g.
    ``2/3``), ``status`` (the worst of the row's notebooks), ``reasons`` and ``lost``
    (per exercise, why points were lost)."""
    exercises = [ex for lesson in columns.values() for ex, _ in lesson]
    table = [["id", "student", "lesson", "notebook", *exercises, "total", "out_of", "hidden",
              "status", "reasons", "lost"]]
    for (student, lesson), subs in rows(results).items():
        scores, status = _scores(subs, columns, lesson), _status(subs)
        got = sum(s.hidden_score for s in subs)
        out_of = sum(v.get("hidden_points", 0) for s in subs for v in s.verdicts)
        lost = [] if status in UNGRADED else [
            f"{v['exercise']}: {why}" for s in subs for v in s.verdicts if (why := failure(v))]
        table.append([student, subs[0].name or student, lesson, "; ".join(s.file for s in subs),
                      *[scores.get(ex, "") for ex in exercises],
                      sum(scores.values()) if lesson in columns else "",
                      sum(p for _, p in columns[lesson]) if lesson in columns else "",
                      f"{got}/{out_of}" if out_of else "", status,
                      "; ".join(f"{s.file}: {r}" for s in subs for r in s.reasons),
                      "; ".join(lost)])
    return _csv(table)


def _part(part: dict) -> str:
    mark = "✔" if part["passed"] else "✘"
    if part.get("hidden"):  # its name only: its message may hold the hidden case
        return f"- {mark} {part['name']} [hidden] ({part['score']}/{part['points']})" + (
            "" if part["passed"] else ": failed")
    detail = "" if part["passed"] or not part.get("message") else f": {part['message']}"
    return f"- {mark} {part['name']} ({part['score']}/{part['points']}){detail}"


def feedback_markdown(student: str, results: list[Submission],
                      columns: Columns | None = None) -> str:
    """What one student is sent: per lesson the score out of the lesson's points, the
    status and its reasons, and per exercise its parts (a hidden one by name only)."""
    name = results[0].name if results and results[0].name else student
    lines = [f"# Feedback for {name}", ""]
    for (_, lesson), subs in rows(results).items():
        scores, status = _scores(subs, columns or {}, lesson), _status(subs)
        out_of = sum(p for _, p in (columns or {}).get(lesson, []))
        lines += [f"## {lesson or 'not graded'}: {sum(scores.values())}/{out_of} ({status})", ""]
        lines += [f"- {s.file}: {r}" for s in subs for r in s.reasons]
        lines += [""] if any(s.reasons for s in subs) else []
        for v in (v for s in subs if s.status not in UNGRADED for v in s.verdicts):
            lines += [f"### {v['exercise']}: {v['status']}, {v['score']}/{v['points']}", ""]
            lines += [f"{v['problem'] or v.get('message', '')}", ""] if (
                v.get("problem") or v.get("message")) else []
            lines += [_part(p) for p in v.get("parts", [])] + [""]
    return "\n".join(students.display(line) for line in lines)


def summary_rows(results: list[Submission], columns: Columns) -> list[dict]:
    """Per exercise: points, students, average, got it, hidden tests passed, and the most
    common failure with how many students had it."""
    out, by_row = [], rows(results)
    for lesson, exercises in columns.items():
        graded = [(subs, _scores(subs, columns, lesson)) for (_, les), subs in by_row.items()
                  if les == lesson]
        for exercise, points in exercises:
            scores = [score[exercise] for _, score in graded]
            verdicts = [v for subs, _ in graded for s in subs if s.status not in UNGRADED
                        for v in s.verdicts if v["exercise"] == exercise]
            hidden = [v for v in verdicts if v.get("hidden_points")]
            failures = Counter(f for v in verdicts if (f := failure(v)) is not None)
            common, count = min(failures.items(), key=lambda kv: (-kv[1], kv[0]),
                                default=("", 0))
            out.append({"exercise": exercise, "points": points, "students": len(scores),
                        "average": round(sum(scores) / len(scores), 2) if scores else 0.0,
                        "got_it": sum(1 for s in scores if s == points),
                        "hidden_passed": (f"{sum(v['hidden_score'] == v['hidden_points'] for v in hidden)}"
                                          f"/{len(hidden)}" if hidden else ""),
                        "most_common_failure": common, "failure_count": count})
    return out


def summary_csv(rows_: list[dict]) -> str:
    keys = ["exercise", "points", "students", "average", "got_it", "hidden_passed",
            "most_common_failure", "failure_count"]
    return _csv([keys, *[[row[k] for k in keys] for row in rows_]])


def summary_markdown(rows_: list[dict]) -> str:
    """The summary as a table to read: what did my class get wrong?"""
    cells = [[r["exercise"], f"{r['average']} / {r['points']}", f"{r['got_it']} of {r['students']}",
              r["hidden_passed"] or "—",
              students.display(f"{r['most_common_failure']} ({r['failure_count']} of {r['students']})")
              if r["failure_count"] else "—"] for r in rows_]
    table = tables.Table(["exercise", "average", "got it", "hidden tests passed",
                          "most common failure"], cells)
    return f"# What did the class get wrong?\n\n{table.markdown()}\n"


def write_all(out: Path, results: list[Submission], columns: Columns,
              student: str | None = None) -> None:
    """Rewrite the gradebook and the summary, and the feedback of ``student`` (an id) or
    everyone's: ``feedback/<id>.md``. Each is a function of the results alone."""
    atomic_write(out / "gradebook.csv", gradebook_csv(results, columns))
    summary = summary_rows(results, columns)
    atomic_write(out / "summary.csv", summary_csv(summary))
    atomic_write(out / "summary.md", summary_markdown(summary))
    by_student: dict[str, list[Submission]] = {}
    for sub in results:
        by_student.setdefault(sub.student, []).append(sub)
    for name, subs in sorted(by_student.items()):
        if student is None or name == student:
            atomic_write(out / "feedback" / f"{name}.md", feedback_markdown(name, subs, columns))
