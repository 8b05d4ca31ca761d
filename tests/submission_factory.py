"""Helpers for the grader's tests: submitted notebooks (one lesson's exercise section,
answered as told), the in-process oracle, and the processes a sandbox may have left behind."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat

from vgg_course import exercises, workspace
from vgg_course.instructor import authoring
from vgg_course.exercises.core import SETUP_IMPORTS, strip_solution_markers

LESSON = "03_freezing"  # q1 (freeze by hand), q2 (count trainable), q3 (predict)


def solution_answers(lesson: str = LESSON) -> dict[str, str]:
    """The reference answer cell of every exercise, without its solution markers."""
    return {ex.id: strip_solution_markers(ex.cell) for ex in exercises.exercises(lesson)}


def solution_notebook(lesson: str = LESSON) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {lesson} (exercises only)")]
    nb.cells += authoring.exercise_cells(lesson)
    return nb


def cell(nb: nbformat.NotebookNode, role: str, exercise: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("vgg_course", {}).get("role") == role
                and c.metadata["vgg_course"].get("exercise") == exercise)


def student_notebook(answers: dict[str, str], lesson: str = LESSON) -> nbformat.NotebookNode:
    """The student version with some answer cells filled in."""
    nb = authoring.student_version(solution_notebook(lesson))
    for exercise, source in answers.items():
        cell(nb, "answer", exercise).source = source
    return nb


def write(root: Path, student: str, nb: nbformat.NotebookNode | str,
          lesson: str = LESSON, *, name: str | None = None) -> Path:
    """``root/<student>/<name>``; by default the student copy's name, ``03_freezing_student.ipynb``
    (what ``lessons DEST`` gives a student; ``name="03_freezing.ipynb"`` is its old name)."""
    (root / student).mkdir(parents=True, exist_ok=True)
    path = root / student / (name or workspace.student_name(f"{lesson}.ipynb"))
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    return path


def in_process_scores(path: Path, seed: int, lesson: str = LESSON) -> dict[str, int]:
    """The oracle: the same notebook's answers graded in this process, no sandbox, with
    the same seed (and hidden cases). A sandboxed grade of an honest notebook must match."""
    nb = json.loads(path.read_text())
    namespace: dict = {}
    exec(SETUP_IMPORTS, namespace)  # noqa: S102
    for c in nb["cells"]:  # answer cells, and any cell a student added
        if c["cell_type"] == "code" and c["metadata"].get("vgg_course", {}).get("role") in (
                "answer", None):
            exec("".join(c["source"]), namespace)  # noqa: S102
    verdicts = exercises.grade_namespace(namespace, lesson, seed=seed, hidden=True)
    return {v.exercise: v.score for v in verdicts}


def host_processes(uid: int, wait: float = 10) -> list[str]:
    """Processes of ``uid`` still there after up to ``wait`` seconds (killed ones may take
    a moment to go on a busy machine), with their command lines."""
    deadline = time.monotonic() + wait
    while True:
        found = []
        for name in os.listdir("/proc"):
            try:
                if name.isdigit() and os.stat(f"/proc/{name}").st_uid == uid:
                    with open(f"/proc/{name}/cmdline", "rb") as f:
                        found.append(f"{name}: {f.read().replace(bytes(1), b' ').decode()[:100]}")
            except OSError:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
