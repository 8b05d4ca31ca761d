"""nbgrader 0.9, for real: generate_assignment and autograde on one lesson's exercise section.

The lesson's exercise cells go into an nbgrader course unchanged, as the kit writes them:
answer cells are nbgrader solution cells, check cells are autograded test cells worth the
exercise's points. ``generate_assignment`` must strip every solution, and ``autograde``
(with ``VGG_COURSE_STRICT=1``, so a check short of "passed" raises) must score a solved
notebook full marks, an untouched one 0 and a half-done one the points of what it solved.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from submission_factory import LESSON, cell, solution_answers, solution_notebook
from vgg_course import exercises

pytestmark = pytest.mark.slow
nbgrader = pytest.importorskip("nbgrader", reason="nbgrader is not installed (requirements.txt)")


def _nbgrader(course: Path, *args: str, strict: bool = False) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "VGG_COURSE_STRICT": "1" if strict else "0"}  # nbgrader calls `alembic` by name
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'vgg-course'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.ExecutePreprocessor.timeout = 300\n")
    (course / "source" / "ps1").mkdir(parents=True)
    nbformat.write(solution_notebook(), course / "source" / "ps1" / f"{LESSON}.ipynb")
    _nbgrader(course, "generate_assignment", "ps1", "--force")
    released = nbformat.read(course / "release" / "ps1" / f"{LESSON}.ipynb", as_version=4)
    half = nbformat.reads(nbformat.writes(released), as_version=4)
    cell(half, "answer", "freezing.q1").source = solution_answers()["freezing.q1"]
    for student, nb in {"alice": solution_notebook(), "bob": released, "carol": half}.items():
        (course / "submitted" / student / "ps1").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "ps1" / f"{LESSON}.ipynb")
    _nbgrader(course, "autograde", "ps1", "--force", strict=True)
    _nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv", newline="") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    return {"released": released, "grades": grades}


def test_generate_assignment_strips_every_solution(course):
    released = "\n".join(c.source for c in course["released"].cells)
    for ex in exercises.exercises(LESSON):
        answer = cell(course["released"], "answer", ex.id)
        assert "YOUR CODE HERE" in answer.source
        solution = [line.strip() for line in ex.cell.splitlines()[1:]
                    if line.strip() and "SOLUTION" not in line and not line.strip().startswith(
                        ("#", '"""', "def ", "predictions", '"'))]
        assert solution and not any(line in released for line in solution), ex.id


def test_autograde_scores_each_exercise_by_its_check(course):
    points = sum(ex.points for ex in exercises.exercises(LESSON))
    q1 = exercises.exercises(LESSON)[0].points
    grades = {s: (float(r["score"]), float(r["max_score"])) for s, r in course["grades"].items()}
    assert grades == {"alice": (points, points), "bob": (0, points), "carol": (q1, points)}
