"""The acceptance test of grading: a simulated class of 40, from the release to the gradebook.

1. ``release`` writes the handout; each student's home gets the student copy of lesson 03
   with their answers in it (``tests/class_simulation.py``: right answers written several
   ways, every wrong-answer kind, blanks, partial work, hostile notebooks), and some homes
   also hold a symlink to a peer's notebook, a FIFO, a second copy, a notebook of another
   lesson, or a folder name that is not UTF-8;
2. ``collect`` copies the homes into a submissions folder, following no link;
3. ``grade`` grades it in the sandbox.

The gradebook must equal the answer key cell for cell: every right answer full marks,
every wrong one less (exactly what the same answer scores graded in this process with the
same cases), every blank 0, each hostile notebook costing only its own exercise, each odd
file a row that says what it is, nobody else's row changed.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import class_simulation as sim
from vgg_course import exercises
from vgg_course.instructor import grading, sandbox, students
from vgg_course.instructor.submissions import Found

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sandbox.problem() is not None, reason="needs bubblewrap")]
SEED = 4242
REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vgg_course", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=1500,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def _fill(handout: Path, student: sim.Student) -> nbformat.NotebookNode:
    nb = nbformat.read(handout / "notebooks" / "03_freezing_student.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("vgg_course", {})
        if meta.get("role") == "answer" and meta.get("exercise") in student.answers:
            cell.source = student.answers[meta["exercise"]]
    for source in student.extra_cells:  # added below the first lesson cell
        nb.cells.insert(2, nbformat.v4.new_code_cell(source))
    return nb


def _homes(root: Path, handout: Path) -> dict[str, str]:
    """Each student's home as a JupyterHub would hold it; returns folder name -> student."""
    names = {}
    for student in sim.roster():
        folder = os.fsdecode(student.raw_name) if student.raw_name else student.name
        course = root / folder / "vgg-course" / "student"
        course.mkdir(parents=True)
        names[folder] = student.name
        target = course / "03_freezing_student.ipynb"
        if student.folder_extra == "symlink":
            target.symlink_to(root / "right00" / "vgg-course" / "student" / target.name)
            continue
        if student.folder_extra == "fifo":
            os.mkfifo(target)
            continue
        nbformat.write(_fill(handout, student), target)
        if student.folder_extra == "duplicate":
            other = sim.Student("x", {"freezing.q1": sim.Q1_WRONG["eval() is not freezing"]})
            nbformat.write(_fill(handout, other), course / "03_freezing.ipynb")
        if student.folder_extra == "stray":
            stray = nbformat.read(handout / "notebooks" / "02_state_dict_student.ipynb",
                                  as_version=4)
            nbformat.write(stray, course / "02_state_dict_student.ipynb")
    return names


def _oracle(student: sim.Student, sid: str, path: Path) -> dict[str, int]:
    """The scores the same answers get graded in this process, with the notebook's seed."""
    namespace: dict = {}
    exec(exercises.core.SETUP_IMPORTS, namespace)  # noqa: S102
    for source in [*student.extra_cells, *student.answers.values()]:
        exec(source, namespace)  # noqa: S102
    seed = grading._seed(SEED, Found(student=sid, path=path, lesson=sim.LESSON))
    verdicts = exercises.grade_namespace(namespace, sim.LESSON, seed=seed, hidden=True)
    return {v.exercise: v.score for v in verdicts}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    handout, homes, subs, grades = root / "handout", root / "home", root / "subs", root / "grades"
    done = _cli("release", "--out", str(handout), "--no-colab", cwd=root)
    assert done.returncode == 0, done.stderr
    names = _homes(homes, handout)
    done = _cli("collect", str(homes), str(subs), cwd=root)
    assert done.returncode == 0, done.stderr
    done = _cli("grade", str(subs), "--out", str(grades), "--seed", str(SEED), "--workers", "2",
                "--exercise-timeout", "10", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(grades / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"rows": rows, "names": names, "subs": subs, "grades": grades, "log": done.stdout}


def _row(graded, student: sim.Student, lesson: str = sim.LESSON) -> dict:
    folder = os.fsdecode(student.raw_name) if student.raw_name else student.name
    sid = students.student_id(folder)
    found = [r for r in graded["rows"] if r["id"] == sid and r["lesson"] == lesson]
    assert len(found) == 1, (student.name, sid, [r["id"] for r in graded["rows"]])
    return found[0]


def test_every_student_has_exactly_their_rows(graded):
    ids = [(r["id"], r["lesson"]) for r in graded["rows"]]
    assert len(ids) == len(set(ids))
    expected = {(students.student_id(os.fsdecode(s.raw_name) if s.raw_name else s.name),
                 sim.LESSON) for s in sim.roster()}
    expected |= {(students.student_id("stray"), "02_state_dict")}
    assert set(ids) == expected


def test_the_gradebook_equals_the_answer_key(graded):
    points = {ex.id: grading._points(ex) for ex in exercises.exercises(sim.LESSON)}
    out_of = sum(points.values())
    mismatches = []
    for student in sim.roster():
        row = _row(graded, student)
        assert row["out_of"] == str(out_of), student.name  # from the lesson, not the folder
        if row["status"] != student.status:
            mismatches.append(f"{student.name}: status {row['status']} != {student.status} "
                              f"({row['reasons']})")
        if not student.expect:  # refused or duplicate: nothing graded
            assert row["total"] == "0", student.name
            continue
        sid = row["id"]
        path = graded["subs"] / sid / f"{sim.LESSON}.ipynb"
        oracle = _oracle(student, sid, path) if "less" in student.expect.values() else {}
        for ex_id, what in student.expect.items():
            want = {"full": points[ex_id], "zero": 0}.get(what, oracle.get(ex_id))
            got = int(row[ex_id])
            if got != want:
                mismatches.append(f"{student.name} {ex_id}: {got} != {want} ({what}; "
                                  f"{row['lost']})")
            if what == "less":
                assert want < points[ex_id], f"{student.name} {ex_id}: a wrong answer scores full"
        total = sum(int(row[e]) for e in points)
        assert row["total"] == str(total)
    assert not mismatches, "\n".join(mismatches)


def test_odd_files_are_named_in_their_own_row_and_nothing_else(graded):
    by = {s.name: _row(graded, s) for s in sim.roster()}
    assert "symbolic link" in by["symlink"]["reasons"] or "link" in by["symlink"]["reasons"]
    assert "right00" not in by["symlink"]["reasons"]  # the target is never echoed
    assert "FIFO" in by["fifo"]["reasons"] or "fifo" in by["fifo"]["reasons"].lower()
    assert "03_freezing" in by["two-copies"]["reasons"] and by["two-copies"]["total"] == "0"
    assert by["naive"]["id"] != by["naïve"]["id"]
    assert by["naive"]["freezing.q2"] != by["naïve"]["freezing.q2"]
    feedback = {p.name for p in (graded["grades"] / "feedback").iterdir()}
    assert f"{by['naive']['id']}.md" in feedback and f"{by['naïve']['id']}.md" in feedback
    assert "\\xf6" in by["latin1"]["student"]


def test_hostile_notebooks_cost_only_their_own_exercise_and_say_why(graded):
    by = {s.name: _row(graded, s) for s in sim.roster()}
    assert "freezing.q1" in by["hangs"]["lost"]
    assert "freezing.q2" in by["stops-grader"]["lost"]
    feedback = (graded["grades"] / "feedback" / f"{by['imports-solution']['id']}.md").read_text()
    assert "freezing.q2" in feedback
