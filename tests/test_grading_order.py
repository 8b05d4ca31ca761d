"""A notebook is graded in order: each exercise sees what the cells above it defined.

The grader runs every code cell but the checks, from the top, and probes each exercise
after its own cells (:mod:`vgg_course.instructor.cells`, :mod:`vgg_course.instructor.probing`).
Right answers that lean on a helper from an earlier exercise or on a lesson cell's import
keep their points; a slow scratch cell under a right answer costs nothing; a cell that
raises is recorded and the run goes on; the verdict says why points were lost.
"""

from __future__ import annotations

import json

import nbformat
import pytest

from submission_factory import LESSON, cell, solution_answers, student_notebook, write
from vgg_course import exercises
from vgg_course.instructor import cells, grading, judging, runner, sandbox, submissions

ANSWERS = solution_answers()
POINTS = {ex.id: grading._points(ex) for ex in exercises.exercises(LESSON)}
COUNT = "sum(p.numel() for p in model.parameters() if p.requires_grad)"

needs_sandbox = pytest.mark.skipif(
    sandbox.problem() is not None,
    reason=f"no bubblewrap sandbox here ({sandbox.problem()}); Debian: apt-get install bubblewrap")


def _below(nb, exercise: str, source: str, role: str = "answer") -> nbformat.NotebookNode:
    """Insert an unmarked code cell right below the exercise's ``role`` cell."""
    new = nbformat.v4.new_code_cell(source)
    nb.cells.insert(nb.cells.index(cell(nb, role, exercise)) + 1, new)
    return new


def test_steps_run_every_cell_in_order_but_the_checks():
    nb = student_notebook(ANSWERS)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import math"))  # a lesson cell
    _below(nb, "freezing.q1", "x = 1  # scratch, after q1's check", role="check")
    _below(nb, "freezing.q2", "y = 2  # scratch under q2's answer")
    unmarked = cell(nb, "check", "freezing.q3")
    unmarked.metadata = {}  # a check cell that lost its metadata is still a check
    nb.cells.append(nbformat.v4.new_code_cell("z = 3  # after the last exercise"))
    steps = cells.steps(nb, LESSON)
    shown = [s.get("probe") or (s["kind"], s["source"].splitlines()[0][:12]) for s in steps]
    assert shown[0] == ("lesson", "import math")  # above the exercises: a full share
    probes = [s["probe"] for s in steps if "probe" in s]
    assert probes == ["freezing.q1", "freezing.q2", "freezing.q3"]
    sources = [s.get("source", "") for s in steps]
    assert not any("check()" in s for s in sources)  # never a check cell
    assert not any(s.startswith("z = 3") for s in sources)  # nothing after the last probe
    q2 = steps.index({"probe": "freezing.q2"})
    assert [s["kind"] for s in steps[q2 - 2:q2]] == ["own", "own"]  # its answer, then y = 2
    assert steps[q2 - 1]["source"].startswith("y = 2")
    assert any(s.get("source", "").startswith("x = 1") and s["kind"] == "other"
               for s in steps[:q2])
    assert [s["cell"] for s in steps if "cell" in s] == sorted(
        s["cell"] for s in steps if "cell" in s)  # notebook order


def test_a_deleted_setup_cell_is_replaced_by_the_kits_before_the_first_exercise():
    nb = student_notebook(ANSWERS)
    nb.cells.remove(next(c for c in nb.cells
                         if c.metadata.get("vgg_course", {}).get("role") == "setup"))
    steps = cells.steps(nb, LESSON)
    first_own = next(i for i, s in enumerate(steps) if s.get("kind") == "own")
    assert steps[first_own - 1]["kind"] == "setup" and steps[first_own - 1]["cell"] is None
    assert "import" in steps[first_own - 1]["source"]


def test_the_expected_data_never_goes_into_the_sandbox(tmp_path, monkeypatch):
    jobs = []

    def fake_probe(job, **kwargs):
        jobs.append(json.loads(json.dumps(job)))
        return [], sandbox.Outcome(0, False, b"", "")

    monkeypatch.setattr(runner, "_probe", fake_probe)
    path = write(tmp_path, "ann", student_notebook(ANSWERS))
    sub = grading.grade_notebook(submissions.Found("ann", path, LESSON), seed=5)
    assert jobs and all("expected" not in case for job in jobs
                        for item in job["exercises"] for case in item["cases"])
    full = grading._cases(exercises.exercises(LESSON)[1], 5)
    assert any("expected" in case for case in full)  # the grader itself judges with them
    assert sub.status == "error" and all(v["problem"] for v in sub.verdicts)


def test_errors_of_hidden_cases_keep_only_their_type():
    ex = exercises.exercises(LESSON)[1]
    cases = grading._cases(ex, 3)
    assert any(c.get("hidden") for c in cases)
    secret = "hidden-case-data-4096"
    observations = [{"error": f"ValueError: {secret}"} for _ in cases]
    report = {"ended": "done", "observations": observations}
    sub = grading.Submission("ann", None, LESSON)
    run = runner.Run([{"probe": ex.id}])
    verdict = judging._judge(ex, cases, report, run, sub, 300)
    hidden = [p for p in verdict["parts"] if p["hidden"]]
    assert hidden and all("ValueError in a hidden test" in p["message"] for p in hidden)
    assert all(secret not in p["message"] for p in hidden)
    assert any(secret in p["message"] for p in verdict["parts"] if not p["hidden"])


def test_report_text_with_lone_surrogates_is_made_safe_to_write():
    dirty = {"error": "ValueError: \udc80", "list": ["\ud800x"], "\udcff": 1}
    clean = runner._clean(dirty)
    json.dumps(clean, ensure_ascii=False).encode("utf-8")  # no UnicodeEncodeError
    assert clean["error"] == "ValueError: \\udc80" and clean["list"] == ["\\ud800x"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if sandbox.problem() is not None:
        pytest.skip(f"no bubblewrap sandbox here ({sandbox.problem()})")
    root = tmp_path_factory.mktemp("subs")
    helper = student_notebook({
        "freezing.q1": ANSWERS["freezing.q1"] + f"\n\ndef _count(model):\n    return {COUNT}\n",
        "freezing.q2": "def count_trainable(model):\n    return _count(model)\n",
        "freezing.q3": ANSWERS["freezing.q3"]})
    lesson = student_notebook({**ANSWERS, "freezing.q2": (
        "def count_trainable(model):\n"
        "    return int(sum(lesson_math.prod(p.shape) for p in model.parameters()"
        " if p.requires_grad))\n")})
    lesson.cells.insert(1, nbformat.v4.new_code_cell("import math as lesson_math"))
    lesson.cells.insert(2, nbformat.v4.new_code_cell("raise RuntimeError('no data here')"))
    slow = student_notebook(ANSWERS)
    _below(slow, "freezing.q1", "import time\ntime.sleep(10**6)  # a scratch cell")
    _below(slow, "freezing.q2", "while True:  # another one\n    pass")
    broken = student_notebook({**ANSWERS, "freezing.q2": (
        "def count_trainable(model):\n    return _missing(model)\n")})
    _below(broken, "freezing.q2", "def _missing(model):\n    raise ValueError('\\udc80')\n"
                                  "_missing(None)")
    _below(broken, "freezing.q1", "undefined_name + 1")
    subs = {}
    for name, nb in [("helper", helper), ("lesson", lesson), ("slow", slow), ("broken", broken)]:
        path = write(root, name, nb)
        subs[name] = grading.grade_notebook(submissions.Found(name, path, LESSON), seed=2,
                                            exercise_timeout=4)
    return subs


@pytest.mark.slow  # four notebooks in sandboxes, one with 12 s of slow scratch cells
@needs_sandbox
@pytest.mark.parametrize("student", ["helper", "lesson", "slow"])
def test_right_answers_get_their_points_however_the_notebook_is_laid_out(graded, student):
    sub = graded[student]
    assert sub.scores == POINTS, sub.reasons
    assert sub.status == "ok", sub.reasons  # a lesson cell's error costs nothing: not flagged
    assert all(v["problem"] == "" for v in sub.verdicts)


@pytest.mark.slow
@needs_sandbox
def test_a_slow_scratch_cell_is_stopped_by_its_share_and_the_probe_still_runs(graded):
    sub = graded["slow"]
    print(f"slow scratch cells: {sub.seconds:.1f} s")
    assert sub.seconds < 3 * 4 + 4 + 60  # the sleeper at 3 x 4 s, the spinner at 4 s CPU


@pytest.mark.slow
@needs_sandbox
def test_a_cell_that_raises_is_recorded_and_the_verdict_says_why(graded):
    sub = graded["broken"]
    assert sub.scores["freezing.q1"] == POINTS["freezing.q1"]  # its scratch cell raised: no cost
    assert sub.scores["freezing.q3"] == POINTS["freezing.q3"]
    assert sub.scores["freezing.q2"] == 0
    q2 = next(v for v in sub.verdicts if v["exercise"] == "freezing.q2")
    assert "raised ValueError: \\udc80" in q2["problem"]
    json.dumps([sub.verdicts, sub.reasons], ensure_ascii=False).encode("utf-8")
    assert any("freezing.q2: cell" in r and "ValueError" in r for r in sub.reasons)


def test_a_cell_error_that_quotes_a_hidden_case_is_withheld():
    """A cell can find the cases in the sandbox's memory and raise them: the feedback
    keeps the error's type only."""
    ex = exercises.exercises(LESSON)[1]
    cases = grading._cases(ex, 3)
    secret = sorted(judging._secrets(cases))[0]
    steps = cells.steps(student_notebook(ANSWERS), LESSON)
    own = next(n for n, s in enumerate(steps) if s.get("exercise") == ex.id)
    run = runner.Run(steps, cells={own: {"cell": steps[own]["cell"], "ended": "done",
                                          "kept": True, "error": f"KeyError: {secret!r}"}})
    sub = grading.Submission("ann", None, LESSON)
    verdict = judging._judge(ex, cases, {"ended": "done", "observations": [
        {"unset": True} for _ in cases]}, run, sub, 300)
    assert verdict["score"] == 0 and "raised KeyError (its message quoted a hidden test" in (
        verdict["problem"])
    assert secret not in json.dumps([verdict, sub.reasons])


def test_a_lesson_cell_above_the_exercises_gets_a_full_share_a_scratch_cell_a_quarter():
    from vgg_course.instructor import probing

    job = {"seconds": 300, "timeout": 60, "wall": 180, "exercises": [],
           "steps": [{"probe": "a"}, {"probe": "b"}]}
    line = probing.MainLine(job, None, None, 0, 0)
    _, lesson = line.limits({"kind": "lesson"})
    _, scratch = line.limits({"kind": "other"})
    assert lesson == pytest.approx(150, abs=1)  # the lab a later exercise reads may train
    assert scratch == pytest.approx(37.5, abs=1)


@pytest.mark.slow  # two lesson-06 notebooks in sandboxes, each running the lab (quick mode)
@needs_sandbox
def test_lesson_06_answers_are_judged_on_the_students_own_lab_result_when_graded(tmp_path):
    """The lab cell runs in the grader, so an answer right everywhere but on the student's own
    `result` loses that part there too, as it does in the student's check."""
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "notebooks" / "06_comparison_lab.ipynb"
    nb = nbformat.read(source, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    right = nbformat.from_dict(nb)
    answer = next(c for c in nb.cells if c.cell_type == "code"
                  and c.source.startswith("def clear_winner("))
    lines = answer.source.split("\n")
    lines.insert(2, '    mine = globals().get("result")  # wrong only on my own lab\n'
                    "    if mine is not None and [r.final_val_acc for r in result.results] == "
                    "[r.final_val_acc for r in mine.results]:\n        return 'from_scratch'")
    answer.source = "\n".join(lines)
    lesson = "06_comparison_lab"
    points = {ex.id: grading._points(ex) for ex in exercises.exercises(lesson)}
    subs = {}
    for name, notebook in (("right", right), ("own", nb)):
        path = write(tmp_path, name, notebook, lesson)
        subs[name] = grading.grade_notebook(submissions.Found(name, path, lesson), seed=1)
    assert subs["right"].scores == points, subs["right"].reasons
    assert subs["own"].scores == {**points, "comparison_lab.q5": points["comparison_lab.q5"] - 1}
