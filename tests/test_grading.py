"""Tests for vgg_course.grading: one grader run over every kind of submission."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import nbformat
import pytest

from vgg_course import authoring, grading

LESSON = "03_freezing"  # q1: 2 points, q2: 3 points
CORRECT_Q1 = "def freeze_features(model):\n    model.features.requires_grad_(False)"


def _solution() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 03 Freezing (exercises only)")]
    nb.cells += authoring.exercise_cells(LESSON)
    return nb


def _cell(nb, role: str, exercise: str):
    return next(c for c in nb.cells if c.metadata.get("vgg_course", {}).get("role") == role
                and c.metadata["vgg_course"].get("exercise") == exercise)


def _student(answers: dict[str, str]) -> nbformat.NotebookNode:
    nb = authoring.student_version(_solution())
    for exercise, source in answers.items():
        _cell(nb, "answer", exercise).source = source
    return nb


def _write(root: Path, student: str, nb) -> None:
    (root / student).mkdir(parents=True)
    path = root / student / f"{LESSON}.ipynb"
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("submissions")
    _write(root, "alice", _solution())  # correct
    _write(root, "bob", _student({  # partly correct: q2 counts frozen parameters too
        "freezing.q1": CORRECT_Q1,
        "freezing.q2": "def count_trainable(model):\n    return sum(p.numel() for p in model.parameters())"}))
    _write(root, "carol", _student({"freezing.q1": CORRECT_Q1, "freezing.q2": "1 / 0"}))
    _write(root, "dave", _student({"freezing.q1": CORRECT_Q1, "freezing.q2": "while True:\n    pass"}))
    _write(root, "erin", "this is not a notebook {")
    frank = _student({"freezing.q1": CORRECT_Q1,
                      "freezing.q2": "def count_trainable(model):\n    return 0"})
    check = _cell(frank, "check", "freezing.q2")
    check.source = 'print("✔ Exercise freezing.q2: passed, 3/3")'
    check.outputs = [nbformat.v4.new_output("stream", text="✔ passed, 3/3\n")]  # a stored lie
    frank.cells.remove(_cell(frank, "check", "freezing.q1"))
    _write(root, "frank", frank)
    _write(root, "grace", _student({  # right answers, and a patched checker
        "freezing.q1": CORRECT_Q1 + "\nex.q2.check = lambda: print('passed')"}))
    out = tmp_path_factory.mktemp("grades")
    rows_seen = []

    def log(line: str) -> None:  # after each notebook, its grade is already on disk
        with open(out / "gradebook.csv", newline="") as f:
            rows_seen.append(len(list(csv.DictReader(f))))

    results = grading.grade(root, out, cell_timeout=5, notebook_timeout=60, log=log)
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"results": {r.student: r for r in results}, "rows": rows, "out": out,
            "rows_seen": rows_seen}


@pytest.mark.parametrize("student, q1, q2, status, reason", [
    ("alice", 2, 3, "ok", ""),
    ("bob", 2, 1, "ok", ""),
    ("carol", 2, 0, "error", "raised ZeroDivisionError"),
    ("dave", 2, 0, "timeout", "stopped by the cell time limit (5 s)"),
    ("erin", 0, 0, "invalid", "not a valid notebook"),
    ("frank", 2, 0, "flagged", "check cell of freezing.q2 was edited"),
    ("grace", 0, 0, "tampered", "changes an exercise object"),
])
def test_each_submission_is_graded_as_it_deserves(graded, student, q1, q2, status, reason):
    row = graded["rows"][student]
    assert (int(row["freezing.q1"]), int(row["freezing.q2"])) == (q1, q2), row
    assert (int(row["total"]), int(row["out_of"]), row["status"]) == (q1 + q2, 5, status), row
    assert reason in row["reasons"]


def test_gradebook_columns_and_incremental_writes(graded):
    with open(graded["out"] / "gradebook.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["student", "freezing.q1", "freezing.q2", "total", "out_of", "status", "reasons"]
    assert graded["rows_seen"] == [1, 2, 3, 4, 5, 6, 7]


def test_deleted_check_cells_and_stored_outputs_are_not_trusted(graded):
    frank = graded["results"]["frank"]
    assert any("check cell of freezing.q1 was deleted" in r for r in frank.reasons)
    assert [v["status"] for v in frank.verdicts] == ["passed", "failed"]


def test_feedback_files_say_what_is_wrong_without_the_answer(graded):
    bob = (graded["out"] / "feedback" / "bob.md").read_text()
    assert bob.startswith("# Feedback for bob") and "03_freezing.ipynb: 3/5 (ok)" in bob
    assert "that counts frozen parameters too" in bob and "numel" not in bob
    dave = (graded["out"] / "feedback" / "dave.md").read_text()
    assert "time limit" in dave and "not attempted" in dave
    assert sorted(p.name for p in (graded["out"] / "feedback").iterdir()) == [
        f"{s}.md" for s in ("alice", "bob", "carol", "dave", "erin", "frank", "grace")]


def test_discover_layouts_and_lessons(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "03_freezing.ipynb").write_text("{}")
    (tmp_path / "ben.ipynb").write_text("{}")
    (tmp_path / "ann" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "ann" / ".ipynb_checkpoints" / "03_freezing-checkpoint.ipynb").write_text("{}")
    assert grading.discover(tmp_path, lesson="02_state_dict") == [
        ("ann", tmp_path / "ann" / "03_freezing.ipynb", "03_freezing"),
        ("ben", tmp_path / "ben.ipynb", "02_state_dict")]
    sub = grading.grade_notebook("ben", tmp_path / "ben.ipynb", None)
    assert sub.status == "invalid" and "--lesson" in sub.reasons[0]


def test_cli_rejects_a_missing_folder(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    grading.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "g")])
    assert args.func(args) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "subs").mkdir()
    args = parser.parse_args(["grade", str(tmp_path / "subs"), "--lesson", "99_nothing"])
    assert args.func(args) == 2
    assert "lessons with exercises" in capsys.readouterr().err

