"""A stand-in for the sandboxed grading of one notebook, for tests of the class-level plumbing.

``grading.grade_notebook`` is replaced by :func:`fake_grade_notebook`: it reads the file
the way the grader does (``submissions.read``: never through a link, regular files only)
and turns the notebook's ``metadata["fake"]`` (``{exercise id: "right" | "visible" |
"hidden" | "missing"}``) into verdicts shaped like the real ones, in milliseconds. Each
verdict's hidden part carries a message with :data:`SECRET` in it, as a real hidden
case's message may: it must never reach a student's feedback.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import nbformat

from vgg_course import exercises
from vgg_course.instructor import grading, submissions
from vgg_course.instructor.gradebook import Submission

LESSON = "03_freezing"
SECRET = "SECRET-CASE-4242"
CALLS: list[str] = []  # the files the fake was asked to grade (escaped)


def notebook(answers: dict[str, str] | None = None, note: str = "") -> str:
    """A valid notebook whose fake verdicts are ``answers`` (default: all right)."""
    nb = nbformat.v4.new_notebook(metadata={"fake": answers or {}})
    nb.cells = [nbformat.v4.new_markdown_cell(note or "answers")]
    return nbformat.writes(nb)


def put(root: Path, rel: str | bytes, text: str) -> Path:
    """Write ``text`` at ``root/rel`` (``rel`` may be bytes that are not UTF-8)."""
    path = os.path.join(os.fsencode(root), os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(os.fsdecode(path))


def _verdict(ex: exercises.Exercise, how: str) -> dict:
    points = grading._points(ex)
    visible_ok, hidden_ok = how in ("right", "hidden"), how == "right"
    parts = [{"name": "returns a new value", "points": points - 1, "score": (points - 1) * visible_ok,
              "passed": visible_ok, "hidden": False,
              "message": "" if visible_ok else "returned the argument it changed in place"},
             {"name": "ties count as not more", "points": 1, "score": int(hidden_ok),
              "passed": hidden_ok, "hidden": True,
              "message": "" if hidden_ok else f"case {{'scores': [{SECRET}]}} gave True"}]
    score = sum(p["score"] for p in parts)
    return {"exercise": ex.id, "status": "passed" if score == points else "partial",
            "score": score, "points": points, "hidden_score": parts[1]["score"],
            "hidden_points": 1, "feedback": f"{ex.id}: {SECRET}", "parts": parts, "problem": ""}


class Concurrency:
    """How many fake gradings ran at once; the first ``meet`` wait for each other."""

    def __init__(self, meet: int = 1, pause: float = 0.0) -> None:
        self.active = self.most = 0
        self.lock = threading.Lock()
        self.barrier = threading.Barrier(meet) if meet > 1 else None
        self.pause, self.started = pause, 0

    def __enter__(self) -> None:
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
            self.started += 1
            first = self.started <= (self.barrier.parties if self.barrier else 0)
        if first:
            self.barrier.wait(timeout=20)  # BrokenBarrierError: fewer ran at once
        time.sleep(self.pause)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.active -= 1


TRACK = Concurrency()


def fake_grade_notebook(found: submissions.Found, *, seed: int = 0, exercise_timeout: int = 60,
                        limits=None, sandboxed: bool = True,
                        notebook_timeout: float = 300) -> Submission:
    CALLS.append(found.file)
    sub = Submission(found.student, found.path, found.lesson, seed=seed)
    with TRACK:
        if found.lesson is None:
            sub.flag("invalid", "cannot tell which lesson this is")
            return sub
        try:
            nb = submissions.read(found.path)
        except submissions.InvalidSubmission as exc:
            sub.flag("invalid", str(exc))
            return sub
        wanted = nb.metadata.get("fake", {})
        if wanted.get("surrogate"):
            sub.flag("error", f"cell 3 raised ValueError: {wanted['surrogate']}\ud800")
        sub.verdicts = [_verdict(ex, wanted.get(ex.id, "right"))
                        for ex in exercises.exercises(found.lesson)
                        if wanted.get(ex.id) != "missing"]
    return sub


def install(monkeypatch, track: Concurrency | None = None) -> None:
    """Grade with the fake: no sandbox is started (preflight passes at once)."""
    global TRACK
    TRACK = track or Concurrency()
    CALLS.clear()
    monkeypatch.setattr(grading, "grade_notebook", fake_grade_notebook)
    monkeypatch.setattr(grading, "preflight", lambda *a, **k: None)


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def make_class(root: Path, outside: Path) -> dict[str, str]:
    """A class as a platform's zip may give it, every odd file kind included; returns
    ``{what: folder name}`` for the tests to find each student's row."""
    secret = outside / "secret.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("TOPSECRET-LINE from a file outside the submissions\n")
    nb = notebook
    put(root, "alice/03_freezing_student.ipynb", nb())
    put(root, "bob/03_freezing.ipynb", nb({"freezing.q2": "visible", "freezing.q3": "hidden"}))
    put(root, b"caf\xe9/03_freezing_student.ipynb", nb({"freezing.q1": "visible"}))  # not UTF-8
    put(root, "-rf/03_freezing_student.ipynb", nb())
    put(root, "\u0430lice/03_freezing_student.ipynb", nb({"freezing.q1": "hidden"}))  # Cyrillic а
    put(root, "Zo\u00eb/03_freezing_student.ipynb", nb())
    put(root, "Zo\u00e9/03_freezing_student.ipynb", nb({"freezing.q2": "visible"}))
    put(root, "line\nbreak/03_freezing_student.ipynb", nb({"surrogate": "x"}))
    put(root, "dana/03_freezing.ipynb", nb(note="the first try"))  # two different copies
    put(root, "dana/03_freezing_student.ipynb", nb({"freezing.q1": "visible"}, note="the second"))
    same = nb({"freezing.q2": "visible"})
    put(root, "ida/03_freezing.ipynb", same)  # two identical copies
    put(root, "ida/ps1/03_freezing_student.ipynb", same)
    put(root, "stray/03_freezing_student.ipynb", nb())  # and a notebook of another lesson
    put(root, "stray/02_state_dict_student.ipynb", nb())
    put(root, "nina/03_freezing_student.ipynb", nb({"freezing.q3": "missing"}))
    put(root, "erin/03_freezing_student.ipynb", "this is not a notebook {")
    (root / "mallory").mkdir()
    (root / "mallory" / "03_freezing_student.ipynb").symlink_to("../alice/03_freezing_student.ipynb")
    (root / "eve").mkdir()
    (root / "eve" / "03_freezing_student.ipynb").symlink_to(secret)
    (root / "trudy").symlink_to(root / "alice", target_is_directory=True)
    (root / "fifi").mkdir()
    os.mkfifo(root / "fifi" / "03_freezing_student.ipynb")
    (root / "hugo").mkdir()
    with open(root / "hugo" / "03_freezing_student.ipynb", "wb") as f:
        f.truncate(21 * 2**20)  # sparse: 21 MiB that take no room
    kinds = {"link to a peer": "mallory", "link outside": "eve", "linked folder": "trudy",
             "fifo": "fifi", "huge": "hugo"}
    try:
        (root / "dev").mkdir()
        os.mknod(root / "dev" / "03_freezing_student.ipynb", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
        kinds["device"] = "dev"
    except (PermissionError, OSError):
        (root / "dev").rmdir()
    return kinds
