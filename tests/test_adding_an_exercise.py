"""DEVELOPING.md's "Adding an exercise" followed step by step, in a copy of the kit: the section is the test.

The two files the page shows are written into a copy of the package exactly as the page
writes them, the toy lesson is listed and given a notebook, and the page's one command runs
(``--no-execute``: the toy lesson's stored outputs are not what is tested here). Then the
lesson's generated cells are run as a student would run them: the solution passes, wrong
answers fail, the student notebook holds no solution and its stub says "not attempted".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "DEVELOPING.md"  # its section "Adding an exercise (one page)"
pytestmark = pytest.mark.slow  # copies the kit and runs its sync: ~40 s in all

# Run inside the copy: the lesson's cells in order, as a notebook would; prints what it saw.
RUN_CELLS = r"""
import json, sys
import nbformat

from vgg_course import exercises

def run(path, answers=None):
    nb = nbformat.read(path, as_version=4)
    namespace, verdicts = {}, {}
    for cell in nb.cells:
        meta = cell.metadata.get("vgg_course", {})
        if cell.cell_type != "code" or not meta.get("role"):
            continue
        source = (answers or {}).get(meta.get("exercise"), cell.source) \
            if meta["role"] == "answer" else cell.source
        if meta["role"] == "check":
            verdicts[meta["exercise"]] = eval(source.splitlines()[0], namespace).status
        elif meta["role"] == "verify":
            verdicts[meta["exercise"] + " verify"] = repr(eval(source, namespace)).splitlines()[0]
        else:
            exec(source, namespace)
    graded = exercises.grade_namespace(namespace, "toy", hidden=True)
    verdicts.update({f"{v.exercise} graded": v.status for v in graded})
    return verdicts

wrong = {"toy.q1": "def count_linear(model):\n    return len(list(model.children()))",
         "toy.q2": "predictions = {'head': 512 * 3}"}
print(json.dumps({"lesson": run(sys.argv[1]), "student": run(sys.argv[2]),
                  "wrong": run(sys.argv[1], wrong)}))
"""


def _page_files() -> dict[str, str]:
    """The page's code blocks that start with ``# file: <path>``: path -> its text."""
    blocks = re.findall(r"```python\n# file: (\S+)\n(.*?)```", PAGE.read_text(), flags=re.S)
    return dict(blocks)


def _python(kit: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(kit), "VGG_COURSE_QUICK": "1",
           "VGG_COURSE_STRICT": "0"}
    return subprocess.run([sys.executable, *args], cwd=kit, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """A copy of the package with the page's toy lesson added, synced once."""
    kit = tmp_path_factory.mktemp("kit")
    shutil.copytree(REPO / "vgg_course", kit / "vgg_course",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for path, text in _page_files().items():  # steps 1 and 2
        (kit / path).write_text(text)
    init = kit / "vgg_course" / "exercises" / "__init__.py"  # step 3: list the lesson ...
    text = init.read_text()
    assert '"other_networks")' in text
    init.write_text(text.replace('"other_networks")', '"other_networks", "toy")', 1))
    lesson = nbformat.v4.new_notebook(cells=[  # ... and give it a notebook
        nbformat.v4.new_markdown_cell("# 99 · A toy lesson"),
        nbformat.v4.new_code_cell("import vgg_course as vc")])
    (kit / "notebooks").mkdir()
    nbformat.write(lesson, kit / "notebooks" / "99_toy.ipynb")
    done = _python(kit, "-m", "vgg_course", "exercises", "sync", "--no-execute",
                   "--lessons", "notebooks")  # step 4
    assert done.returncode == 0, done.stderr
    assert "stamped: " in done.stdout and "99_toy.ipynb" in done.stdout
    return kit


def test_the_page_shows_both_files_of_a_new_exercise():
    assert set(_page_files()) == {"vgg_course/exercises/toy.py",
                                  "vgg_course/exercises/instructor/toy.py"}
    assert "python -m vgg_course exercises sync" in PAGE.read_text()


def test_sync_writes_the_public_cases_and_stamps_the_solution_function(kit):
    public = json.loads((kit / "vgg_course" / "exercises" / "public_cases.json").read_text())
    assert [type(c["expected"]) for c in public["toy.q1"]] == [int, int]
    assert "toy.q2" not in public  # a prediction's value is the instructor's alone
    assert "1539" not in (kit / "vgg_course/exercises/toy.py").read_text()
    nb = nbformat.read(kit / "notebooks" / "99_toy.ipynb", as_version=4)
    answers = [c.source for c in nb.cells if c.metadata.get("vgg_course", {}).get("role") == "answer"]
    assert answers[0].startswith("def count_linear(model: nn.Module) -> int:")
    assert answers[1].startswith("# Predict, then run the check") and "return" not in answers[1]
    assert nb.cells[:2][1].source == "import vgg_course as vc"  # the lesson's own cells stay


def test_solution_passes_wrong_answers_fail_and_the_student_copy_is_not_attempted(kit):
    student = kit / "notebooks" / "en" / "student" / "99_toy_student.ipynb"
    done = _python(kit, "-c", RUN_CELLS, "notebooks/99_toy.ipynb", str(student))
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    right = "Exercise toy.q2: 1 of 1 predictions right"
    none = "Exercise toy.q2: no prediction recorded (run the check cell first)"
    assert seen == {
        "lesson": {"toy.q1": "passed", "toy.q2": "recorded", "toy.q2 verify": right,
                   "toy.q1 graded": "passed", "toy.q2 graded": "passed"},
        "student": {"toy.q1": "not attempted", "toy.q2": "not attempted", "toy.q2 verify": none,
                    "toy.q1 graded": "not attempted", "toy.q2 graded": "not attempted"},
        "wrong": {"toy.q1": "failed", "toy.q2": "recorded",
                  "toy.q2 verify": "Exercise toy.q2: 0 of 1 predictions right",
                  "toy.q1 graded": "failed", "toy.q2 graded": "failed"}}


def test_the_student_notebook_holds_no_solution(kit):
    text = (kit / "notebooks" / "en" / "student" / "99_toy_student.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "YOUR CODE HERE" in text
    assert "isinstance(layer, nn.Linear)" not in text and "512 * 3 + 3" not in text


def test_a_second_sync_changes_nothing_and_a_changed_solution_changes_the_lesson(kit):
    again = _python(kit, "-m", "vgg_course", "exercises", "sync", "--no-execute",
                    "--lessons", "notebooks")
    assert again.returncode == 0 and "exercises are in sync" in again.stdout, again.stdout
    solution = kit / "vgg_course" / "exercises" / "instructor" / "toy.py"
    solution.write_text(solution.read_text().replace("512 * 3 + 3", "512 * 3 + 4"))
    changed = _python(kit, "-m", "vgg_course", "exercises", "sync", "--no-execute",
                      "--lessons", "notebooks")
    assert changed.returncode == 0 and "99_toy.ipynb" in changed.stdout, changed.stdout
