"""Tests for vgg_course.instructor.authoring: stubs, student notebooks, the exercise section."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from vgg_course import exercises, workspace
from vgg_course.instructor import authoring

REPO = Path(__file__).resolve().parents[1]


def test_function_body_gets_nbgraders_stub_at_its_indentation():
    source = ("def f(x):\n"
              '    """Doc."""\n'
              "    ### BEGIN SOLUTION\n"
              "    y = x + 1\n"
              "    return y\n"
              "    ### END SOLUTION")
    assert authoring.clear_solutions(source) == (
        'def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n    raise NotImplementedError()')


def test_top_level_stub_keeps_the_names_used_later_and_the_answer():
    source = ("### BEGIN SOLUTION\n"
              "with open('x') as f:\n"
              "    helper = 1\n"
              "    a, b = 2, 3\n"
              "def inner():\n"
              "    hidden = 4\n"
              "### END SOLUTION\n"
              "print(a + b)")
    stub = authoring.clear_solutions(source, keep=("helper",))
    assert stub == "# YOUR CODE HERE\nhelper = ...\na = ...\nb = ...\nprint(a + b)"
    assert "hidden" not in stub and "open" not in stub


def test_markdown_regions_become_your_answer_here():
    source = "Why does this work?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    assert authoring.clear_solutions(source, markdown=True) == "Why does this work?\nYOUR ANSWER HERE"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "without END"),
    ("x = 1\n### END SOLUTION", "without BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
])
def test_malformed_markers_are_clear_errors(source, message):
    with pytest.raises(authoring.AuthoringError, match=message):
        authoring.clear_solutions(source)


def _lesson(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 03 Freezing"),
                nbformat.v4.new_code_cell("import vgg_course as vc\n1 + 1", outputs=[nbformat.v4.new_output(
                    "execute_result", data={"text/plain": "2"}, execution_count=1)],
                    execution_count=1)]
    path = tmp_path / "03_freezing.ipynb"
    nbformat.write(nb, path)
    return path


def test_add_exercises_appends_once_and_keeps_the_lesson(tmp_path):
    path = _lesson(tmp_path)
    authoring.add_exercises(path)
    authoring.add_exercises(path)  # idempotent: replaces its own section
    nb = nbformat.read(path, as_version=4)
    roles = [c.metadata.get("vgg_course", {}).get("role") for c in nb.cells]
    expected = [None, None, "section", "section", "setup"]  # prose: English, then Japanese
    for ex in exercises.load("freezing").EXERCISES:
        expected += ["task", "task", "answer", "check"] + (["verify"] if ex.verify else [])
    assert roles == expected and "verify" in roles  # freezing.q3 is predict-then-verify
    assert nb.cells[1].outputs  # the lesson's own outputs are untouched
    answer = nb.cells[7]
    assert answer.metadata.nbgrader["solution"] is True and "### BEGIN SOLUTION" in answer.source
    assert nb.cells[8].source == exercises.load("freezing").q1.check_source()
    assert nb.cells[8].metadata.nbgrader["locked"] is True


def test_student_version_has_no_solutions_and_no_outputs(tmp_path):
    nb = nbformat.read(authoring.add_exercises(_lesson(tmp_path)), as_version=4)
    student = authoring.student_version(nb)
    nbformat.validate(student)
    text = nbformat.writes(student)
    assert "BEGIN SOLUTION" not in text and "param.requires_grad = False" not in text
    assert all(c.outputs == [] and c.execution_count is None
               for c in student.cells if c.cell_type == "code")
    assert [c.id for c in student.cells] == [c.id for c in nb.cells]
    assert "BEGIN SOLUTION" in nbformat.writes(nb)  # the original is not modified


def test_cli_writes_then_check_passes_then_detects_a_stale_copy(tmp_path, capsys):
    lesson = authoring.add_exercises(_lesson(tmp_path))
    parser = argparse.ArgumentParser()
    authoring.add_cli(parser.add_subparsers(dest="command"))
    out = tmp_path / "student"

    def run(*extra: str) -> int:
        args = parser.parse_args(["student-notebooks", str(lesson), "--out", str(out), *extra])
        return args.func(args)

    assert run() == 0 and (out / f"{lesson.stem}_student.ipynb").is_file()
    assert [p.name for p in out.iterdir()] == [f"{lesson.stem}_student.ipynb"]  # not the lesson's name
    assert run("--check") == 0
    nb = nbformat.read(lesson, as_version=4)
    nb.cells[0].source += " (edited)"
    nbformat.write(nb, lesson)
    assert run("--check") == 1
    assert "stale" in capsys.readouterr().out


def test_committed_student_notebooks_are_up_to_date():
    lessons = authoring.lesson_notebooks()
    if not lessons:
        pytest.skip("no lesson notebooks yet")
    from vgg_course.instructor import editions

    stale = editions.write_editions(lessons, check=True)
    assert stale == [], "run `python -m vgg_course editions` and commit notebooks/en/ and notebooks/ja/"


def _section(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.metadata.get("vgg_course", {}).get("role")]


def _run_sections(paths: list[Path], strict: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell for path in paths for cell in _section(path)]
    env = {**os.environ, "VGG_COURSE_QUICK": "1", "VGG_COURSE_STRICT": "1" if strict else "0"}
    client = NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=not strict)
    with client.setup_kernel(env=env):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    return nb


@pytest.mark.slow
def test_every_lesson_section_passes_in_strict_and_every_student_section_is_not_attempted():
    """One kernel runs the exercise sections of all lessons in strict mode (a failed check
    raises), another runs the student sections untouched: every check says not attempted."""
    lessons = [p for p in authoring.lesson_notebooks() if _section(p)]
    if not lessons:
        pytest.skip("no lesson notebook has its exercises yet")
    _run_sections(lessons, strict=True)  # raises CellExecutionError on any failed check
    students = [authoring.student_folder() / workspace.student_name(p.name) for p in lessons]
    nb = _run_sections(students, strict=False)
    checks = [c for c in nb.cells if c.metadata["vgg_course"]["role"] == "check"]
    assert len(checks) == sum(len(exercises.load(p.stem).EXERCISES) for p in lessons)
    for cell in checks:
        assert not any(o.output_type == "error" for o in cell.outputs), cell.source
        text = cell.outputs[0]["data"]["text/plain"]
        assert "not attempted, 0/" in text, text


@pytest.mark.parametrize("name", exercises.MODULES)
def test_each_lesson_ends_with_the_section_its_exercise_module_defines(name):
    paths = authoring.lesson_notebooks()
    paths = [p for p in paths if p.stem[3:] == name]
    if not paths:
        pytest.skip(f"notebooks/NN_{name}.ipynb does not exist yet")
    cells = nbformat.read(paths[0], as_version=4).cells
    expected = authoring.exercise_cells(paths[0].stem)
    assert [c.source for c in cells[-len(expected):]] == [c.source for c in expected], (
        "run `python -m vgg_course exercises sync`")


# --- exercises sync ------------------------------------------------------------------------

def test_stamp_keeps_the_section_in_place_its_ids_and_unchanged_outputs(tmp_path):
    path = _lesson(tmp_path)
    assert authoring.stamp_exercises(path) is True
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("## What next"))  # after the section
    check = next(c for c in nb.cells if c.metadata.get("vgg_course", {}).get("role") == "check")
    check.outputs = [nbformat.v4.new_output("stream", text="freezing.q1 passed")]
    answer = next(c for c in nb.cells if c.metadata.get("vgg_course", {}).get("role") == "answer")
    answer.source += "\n# an edit that the next stamp undoes"
    nbformat.write(nb, path)
    ids = [c.id for c in nb.cells]
    assert authoring.stamp_exercises(path) is True  # the answer cell was edited
    after = nbformat.read(path, as_version=4)
    assert [c.id for c in after.cells] == ids and after.cells[-1].source == "## What next"
    assert next(c for c in after.cells if c.id == check.id).outputs == check.outputs
    assert next(c for c in after.cells if c.id == answer.id).source == (
        exercises.load("freezing").q1.cell)
    assert authoring.stamp_exercises(path) is False  # nothing changed: nothing written


def test_sync_stamps_writes_the_students_copies_and_reruns_only_changed_lessons(tmp_path,
                                                                                monkeypatch):
    lessons = tmp_path / "notebooks"
    lessons.mkdir()
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "regen_notebooks.py").write_text("")
    changed = _lesson(lessons)
    other = lessons / "01_loading_vgg16.ipynb"  # no exercises: never stamped, never re-run
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01")]), other)
    runs, written = [], []
    monkeypatch.setattr(authoring.subprocess, "run", lambda cmd, check: runs.append(cmd))
    monkeypatch.setattr(authoring, "write_public_cases", lambda found: written.append(found))
    assert authoring.sync(lessons) == [changed]
    assert written and set(written[0]) == {e.id for n in exercises.MODULES
                                          for e in exercises.exercises(n) if not e.verify}
    assert runs == [[authoring.sys.executable, str(tmp_path / "scripts" / "regen_notebooks.py"),
                     str(changed)]]
    assert sorted(p.name for p in (lessons / "en" / "student").iterdir()) == [
        "01_loading_vgg16_student.ipynb", f"{changed.stem}_student.ipynb"]
    assert authoring.sync(lessons) == [] and len(runs) == 1  # in sync: nothing re-run
    assert authoring.sync(lessons, execute=False) == []
