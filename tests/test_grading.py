"""Tests for vgg_course.instructor.grading: honest submissions of every kind, graded in the sandbox, and
the grader's refusal (or its unsafe mode) where there is no sandbox."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from submission_factory import (LESSON, cell, in_process_scores, solution_answers,
                                solution_notebook, student_notebook, write)
from vgg_course import exercises
from vgg_course.instructor import fingerprint, grading, sandbox

needs_sandbox = pytest.mark.skipif(
    sandbox.problem() is not None,
    reason=f"no bubblewrap sandbox here ({sandbox.problem()}); Debian: apt-get install bubblewrap")

ANSWERS = solution_answers()
COUNTS_ALL = "def count_trainable(model):\n    return sum(p.numel() for p in model.parameters())"
POINTS = {ex.id: grading._points(ex) for ex in exercises.exercises(LESSON)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if sandbox.problem() is not None:
        pytest.skip(f"no bubblewrap sandbox here ({sandbox.problem()})")
    root = tmp_path_factory.mktemp("submissions")
    write(root, "alice", solution_notebook())  # everything right
    write(root, "bob", student_notebook({**ANSWERS, "freezing.q2": COUNTS_ALL}),
          name=f"{LESSON}.ipynb")  # the student copy's name before the rename
    write(root, "bella", student_notebook({"freezing.q2": COUNTS_ALL}))  # the same mistake
    write(root, "carol", student_notebook({}), name=f"{LESSON}.ipynb")  # untouched
    write(root, "erin", "this is not a notebook {")
    frank = student_notebook({"freezing.q1": ANSWERS["freezing.q1"],
                              "freezing.q2": "def count_trainable(model):\n    return 0"})
    check = cell(frank, "check", "freezing.q2")
    check.source = 'print("✔ Exercise freezing.q2: passed, 4/4")'
    check.outputs = [nbformat.v4.new_output("stream", text="✔ passed, 4/4\n")]  # a stored lie
    frank.cells.remove(cell(frank, "check", "freezing.q1"))
    write(root, "frank", frank)
    gina = student_notebook({**ANSWERS, "freezing.q2": (
        "def count_trainable(model):\n    return _count(model)")})
    helper = nbformat.v4.new_code_cell(  # a cell she added below her answer
        "def _count(model):\n    return sum(p.numel() for p in model.parameters() if p.requires_grad)")
    gina.cells.insert(gina.cells.index(cell(gina, "answer", "freezing.q2")) + 1, helper)
    cell(gina, "answer", "freezing.q1").metadata = {}  # pasted without its metadata
    write(root, "gina", gina)
    out = tmp_path_factory.mktemp("grades")
    rows_seen = []

    def log(line: str) -> None:  # after each notebook, its grade is already on disk
        if "cases from seed 7" in line:
            return  # the run's first line, before any notebook
        with open(out / "gradebook.csv", newline="") as f:
            rows_seen.append(len(list(csv.DictReader(f))))

    results = grading.grade(root, out, seed=7, exercise_timeout=30, log=log)
    with open(out / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    with open(out / "summary.csv", newline="") as f:
        summary = {row["exercise"]: row for row in csv.DictReader(f)}
    return {"results": {r.student: r for r in results}, "rows": rows, "out": out,
            "rows_seen": rows_seen, "summary": summary, "root": root}


def _scores(row) -> dict[str, int]:
    return {ex: int(row[ex]) for ex in POINTS}


@pytest.mark.slow  # the class is graded in bubblewrap sandboxes once a module (~25 s)
@needs_sandbox
@pytest.mark.parametrize("student", ["alice", "bob", "bella", "carol", "gina"])
def test_sandboxed_grades_match_the_same_answers_graded_in_process(graded, student):
    sub = graded["results"][student]
    expected = in_process_scores(sub.path, sub.seed)
    assert _scores(graded["rows"][student]) == expected
    assert graded["rows"][student]["status"] == "ok", graded["rows"][student]["reasons"]


@pytest.mark.slow  # the class is graded in bubblewrap sandboxes once a module (~25 s)
@needs_sandbox
def test_right_wrong_and_untouched_answers(graded):
    rows = graded["rows"]
    assert _scores(rows["alice"]) == POINTS
    assert int(rows["alice"]["total"]) == int(rows["alice"]["out_of"]) == sum(POINTS.values())
    bob = _scores(rows["bob"])
    assert bob["freezing.q1"] == POINTS["freezing.q1"] and 0 < bob["freezing.q2"] < POINTS["freezing.q2"]
    assert _scores(rows["carol"]) == dict.fromkeys(POINTS, 0)
    assert _scores(rows["gina"]) == POINTS  # a helper cell and a pasted answer cell count


@pytest.mark.slow  # the class is graded in bubblewrap sandboxes once a module (~25 s)
@needs_sandbox
def test_a_student_copy_under_its_name_or_its_old_one_is_graded_as_its_lesson(graded):
    results = graded["results"]
    names = {s: results[s].path.name for s in ("alice", "bob", "carol")}
    assert names == {"alice": f"{LESSON}_student.ipynb", "bob": f"{LESSON}.ipynb",
                     "carol": f"{LESSON}.ipynb"}
    assert {results[s].lesson for s in names} == {LESSON}
    assert [graded["rows"][s]["out_of"] for s in names] == [str(sum(POINTS.values()))] * 3
    assert _scores(graded["rows"]["alice"]) == POINTS  # both names graded, not just read
    assert _scores(graded["rows"]["bob"])["freezing.q1"] == POINTS["freezing.q1"]


@pytest.mark.slow  # the class is graded in bubblewrap sandboxes once a module (~25 s)
@needs_sandbox
def test_invalid_and_edited_notebooks(graded):
    erin, frank = graded["rows"]["erin"], graded["rows"]["frank"]
    assert (erin["status"], erin["total"]) == ("invalid", "0")
    assert "not a valid notebook" in erin["reasons"]
    assert frank["status"] == "flagged"
    assert "check cell of freezing.q2 was edited" in frank["reasons"]
    assert "check cell of freezing.q1 was deleted" in frank["reasons"]
    assert _scores(frank)["freezing.q1"] == POINTS["freezing.q1"]
    assert _scores(frank)["freezing.q2"] == 0  # its stored "passed" output is never read


@pytest.mark.slow  # the class is graded in bubblewrap sandboxes once a module (~25 s)
@needs_sandbox
def test_gradebook_columns_hidden_results_and_incremental_writes(graded):
    with open(graded["out"] / "gradebook.csv", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["id", "student", "lesson", "notebook", *POINTS, "total", "out_of", "hidden",
                      "status", "reasons", "lost"]
    assert sorted(graded["rows_seen"]) == graded["rows_seen"] == list(range(1, 8))
    hidden_points = sum(v["hidden_points"] for v in graded["results"]["alice"].verdicts)
    assert hidden_points > 0
    assert graded["rows"]["alice"]["hidden"] == f"{hidden_points}/{hidden_points}"
    assert graded["rows"]["carol"]["hidden"] == f"0/{hidden_points}"
    feedback = (graded["out"] / "feedback" / "alice.md").read_text()
    assert "[hidden]" in feedback


@pytest.mark.slow  # the class is graded in bubblewrap sandboxes once a module (~25 s)
@needs_sandbox
def test_summary_says_what_the_class_got_wrong(graded):
    q2 = graded["summary"]["freezing.q2"]
    full = [s for s, r in graded["rows"].items() if int(r["freezing.q2"]) == POINTS["freezing.q2"]]
    assert int(q2["students"]) == 7 and int(q2["got_it"]) == len(full) == 2  # alice, gina
    mean = sum(int(r["freezing.q2"]) for r in graded["rows"].values()) / 7
    assert float(q2["average"]) == round(mean, 2)
    assert "that counts frozen parameters too" in q2["most_common_failure"]
    assert int(q2["failure_count"]) == 2  # bob and bella
    md = (graded["out"] / "summary.md").read_text()
    assert "| freezing.q2 |" in md and "that counts frozen parameters too" in md


@pytest.mark.slow  # the class is graded in bubblewrap sandboxes once a module (~25 s)
@needs_sandbox
def test_feedback_says_what_is_wrong_without_the_answer(graded):
    bob = (graded["out"] / "feedback" / "bob.md").read_text()
    assert bob.startswith("# Feedback for bob")
    assert "that counts frozen parameters too" in bob and "requires_grad" not in bob
    assert sorted(p.name for p in (graded["out"] / "feedback").iterdir()) == [
        f"{s}.md" for s in ("alice", "bella", "bob", "carol", "erin", "frank", "gina")]


def test_discover_layouts_and_lessons(tmp_path):
    from vgg_course.instructor import submissions

    for name in ("ann/03_freezing.ipynb", "cy/ps1/05_fine_tuning_student.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / "ben.ipynb").write_text("{}")
    (tmp_path / "ann" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "ann" / ".ipynb_checkpoints" / "03_freezing-checkpoint.ipynb").write_text("{}")
    # a student copy is its lesson's under its name (03_freezing_student) and its old one too
    assert submissions.discover(tmp_path, lesson="02_state_dict") == [
        submissions.Found("ann", tmp_path / "ann" / "03_freezing.ipynb", "03_freezing"),
        submissions.Found("ben", tmp_path / "ben.ipynb", "02_state_dict"),
        submissions.Found("cy", tmp_path / "cy" / "ps1" / "05_fine_tuning_student.ipynb",
                          "05_fine_tuning")]
    (tmp_path / "ann" / "99_nope_student.ipynb").write_text("{}")  # no such lesson: --lesson's
    assert submissions.discover(tmp_path / "ann", lesson="02_state_dict")[-1].lesson == "02_state_dict"
    sub = grading.grade_notebook(submissions.Found("ben", tmp_path / "ben.ipynb", None))
    assert sub.status == "invalid" and "--lesson" in sub.reasons[0]


def test_without_a_sandbox_the_grader_refuses_to_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "problem", lambda: "bwrap not found")
    write(tmp_path / "subs", "alice", solution_notebook())
    with pytest.raises(grading.SandboxUnavailable, match="--unsafe-no-sandbox"):
        grading.grade(tmp_path / "subs", tmp_path / "grades")
    assert not (tmp_path / "grades").exists()
    parser = argparse.ArgumentParser()
    grading.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "g")])
    assert args.func(args) == 2
    assert "bwrap not found" in capsys.readouterr().err


def test_cli_rejects_a_missing_folder_and_an_unknown_lesson(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    grading.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["grade", str(tmp_path / "nope"), "--out", str(tmp_path / "g")])
    assert args.func(args) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "subs").mkdir()
    args = parser.parse_args(["grade", str(tmp_path / "subs"), "--lesson", "99_nothing"])
    assert args.func(args) == 2
    assert "lessons with exercises" in capsys.readouterr().err


@pytest.mark.slow
def test_unsafe_mode_stops_at_the_first_notebook_that_changes_the_kit(tmp_path):
    """Graded with a throw-away copy of the kit: the unsandboxed attack really changes it."""
    kit = tmp_path / "kit"
    shutil.copytree(fingerprint.PACKAGE, kit / "vgg_course",
                    ignore=shutil.ignore_patterns("__pycache__"))
    subs = tmp_path / "subs"
    write(subs, "aaron", solution_notebook())
    write(subs, "mallory", student_notebook({"freezing.q1": (
        "import pathlib, vgg_course\n"
        "target = pathlib.Path(vgg_course.__file__).parent / 'exercises' / 'freezing.py'\n"
        "target.write_text(target.read_text() + '\\n# every answer is right\\n')")}))
    write(subs, "zed", solution_notebook())
    env, cwd = {**os.environ, "PYTHONPATH": str(kit)}, tmp_path  # not the repository's kit
    which = subprocess.run([sys.executable, "-c", "import vgg_course; print(vgg_course.__file__)"],
                           env=env, cwd=cwd, capture_output=True, text=True, check=True)
    assert which.stdout.strip() == str(kit / "vgg_course" / "__init__.py")
    done = subprocess.run([sys.executable, "-m", "vgg_course", "grade", str(subs), "--out",
                           str(tmp_path / "grades"), "--unsafe-no-sandbox", "--seed", "1"],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "STOPPED" in done.stderr and "mallory" in done.stderr
    assert "every answer is right" in (kit / "vgg_course" / "exercises" / "freezing.py").read_text()
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == ["aaron", "mallory"]  # zed was not graded after the change
    assert rows["mallory"]["status"] == "tampered" and rows["mallory"]["total"] == "0"
    assert "changed the kit's files" in rows["mallory"]["reasons"]
    assert rows["aaron"]["status"] == "ok" and rows["aaron"]["total"] == rows["aaron"]["out_of"]
    assert "every answer is right" not in (fingerprint.PACKAGE / "exercises" / "freezing.py").read_text()


def test_outside_a_course_folder_grade_refuses_unless_out_or_here(tmp_path, monkeypatch, capsys):
    cwd = tmp_path / "anywhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("VGG_COURSE_DIR", raising=False)
    seen = []
    monkeypatch.setattr(grading, "grade", lambda subs, out, **kw: seen.append(out) or [])
    parser = argparse.ArgumentParser()
    grading.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["grade", str(tmp_path / "subs")])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "--here" in err and "python -m vgg_course lessons DEST" in err and "Nothing was written" in err
    assert str(cwd.resolve() / "grades") in err and seen == [] and list(cwd.iterdir()) == []
    for words in (["--here"], ["--out", str(tmp_path / "g")]):
        args = parser.parse_args(["grade", str(tmp_path / "subs"), *words])
        assert args.func(args) == 0
    assert seen == [cwd.resolve() / "grades", tmp_path / "g"]
    assert capsys.readouterr().out.startswith(f"Writing into {cwd.resolve() / 'grades'} (course folder: ")


def test_without_out_the_grades_go_to_the_course_folder(tmp_path, monkeypatch):
    course = tmp_path / "course"
    (course / "class").mkdir(parents=True)
    (course / "vgg-course.json").write_text("{}")
    monkeypatch.chdir(course / "class")
    monkeypatch.delenv("VGG_COURSE_DIR", raising=False)
    seen = {}
    monkeypatch.setattr(grading, "grade", lambda subs, out, **kw: seen.setdefault("out", out) and [])
    parser = argparse.ArgumentParser()
    grading.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["grade", str(tmp_path / "subs")])
    assert args.func(args) == 0
    assert seen["out"] == course.resolve() / "grades"
