"""Hostile submissions graded in the sandbox, beside honest ones, in one class.

Every hostile notebook answers ``freezing.q1`` and ``freezing.q3`` correctly and attacks in
``freezing.q2`` (the kit-writer and the thief in q2 and q3). For each one the gradebook
must say what happened, its other exercises must keep their points (but where the attack
changed what the cells below it see, as the patcher's does), the honest students'
grades must equal the grades of the same answers graded in-process (the oracle), and the
kit's files must be unchanged.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import threading
import time

import pytest

from submission_factory import (LESSON, cell, host_processes, in_process_scores, solution_answers,
                                solution_notebook, student_notebook, write)
from vgg_course import exercises, workspace
from vgg_course.instructor import fingerprint, grading, sandbox

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    sandbox.problem() is not None,
    reason=f"no bubblewrap sandbox here ({sandbox.problem()}); Debian: apt-get install bubblewrap")]

ANSWERS = solution_answers()
POINTS = {ex.id: grading._points(ex) for ex in exercises.exercises(LESSON)}
TIMEOUT = 5  # seconds per exercise
_NB = student_notebook({})
Q2, Q3 = (_NB.cells.index(cell(_NB, "answer", f"freezing.{q}")) for q in ("q2", "q3"))


def _hostile(q2: str, **more: str) -> dict[str, str]:
    return {**ANSWERS, "freezing.q2": q2, **more}


def _attacks(alice_path, port: int, lessons) -> dict[str, dict[str, str]]:
    return {
        "patient": _hostile(f"import time\ntime.sleep({1.5 * TIMEOUT})\n"
                            + ANSWERS["freezing.q2"]),
        "kit_writer": _hostile(
            "import pathlib, vgg_course\n"
            "kit = pathlib.Path(vgg_course.__file__).parent\n"
            "(kit / 'exercises' / 'freezing.py').write_text('# every answer is right')\n",
            **{"freezing.q3": f"import pathlib\n"
                              f"pathlib.Path({str(lessons / (LESSON + '.ipynb'))!r}).write_text('{{}}')"}),
        "reader": _hostile(
            "import json\n"
            f"alice = json.load(open({str(alice_path)!r}))\n"
            "exec(''.join(alice['cells'][5]['source']))\n"),
        "networker": _hostile(
            "import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"),
        "patcher": _hostile(
            "import builtins, json, torch\n"
            "import vgg_course.exercises.core as core\n"
            "builtins.print = lambda *a, **k: None\n"
            "torch.Tensor.numel = lambda self: 7\n"
            "torch.nn.Module.parameters = lambda self, recurse=True: iter(())\n"
            "core.Exercise.judge = lambda self, cases, observations: 'full marks'\n"
            "_dumps = json.dumps\n"
            "json.dumps = lambda obj, **k: _dumps({'observations': [{'value': 7}] * 9})\n"
            "def count_trainable(model):\n"
            "    return sum(p.numel() for p in model.parameters())\n"),
        "exiter": _hostile("import os\nos._exit(0)\n"),
        "hog": _hostile("import torch\nbig = torch.ones(10_000_000_000)  # 40 GB\n"),
        "looper": _hostile("while True:\n    pass\n"),
        "sleeper": _hostile("import signal, time\n"
                            "signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
                            "time.sleep(10**6)\n"),
        "slow_answer": _hostile("def count_trainable(model):\n    while True:\n        pass\n"),
        "forker": _hostile(
            "import os, time\n"
            "while True:\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(600)\n"
            "        os._exit(0)\n"),
        "thief": _hostile(
            "from vgg_course.exercises.instructor import freezing as answers\n"
            "count_trainable = answers.count_trainable\n"),
        "grader_killer": _hostile("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"),
    }


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """A copy of the kit (package and lesson notebooks) that the sandbox gets instead of the
    repository's: its fingerprint is not disturbed by developers editing the repository."""
    kit = tmp_path_factory.mktemp("kit")
    shutil.copytree(fingerprint.PACKAGE, kit / "vgg_course",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(workspace.lessons_folder(), kit / "notebooks",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fingerprint, "PACKAGE", kit / "vgg_course")
        yield kit


@pytest.fixture(scope="module")
def graded(tmp_path_factory, kit):
    root = tmp_path_factory.mktemp("submissions")
    alice = write(root, "alice", solution_notebook())
    write(root, "bob", student_notebook({**ANSWERS, "freezing.q2": (
        "def count_trainable(model):\n    return sum(p.numel() for p in model.parameters())")}))
    write(root, "carol", student_notebook({}))
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(1)
    connections, stop = [], threading.Event()

    def listen() -> None:
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                pass

    listener = threading.Thread(target=listen)
    listener.start()
    for student, answers in _attacks(alice, server.getsockname()[1], kit / "notebooks").items():
        write(root, student, student_notebook(answers))
    roots = [kit / "vgg_course", kit / "notebooks"]
    before = fingerprint.fingerprint(roots)
    start, out = time.monotonic(), tmp_path_factory.mktemp("grades")
    try:
        results = grading.grade(root, out, seed=11, exercise_timeout=TIMEOUT)
    finally:
        stop.set()
        listener.join()
        server.close()
    seconds = time.monotonic() - start
    return {"subs": {r.student: r for r in results}, "connections": connections,
            "kit_changes": fingerprint.changes(before, fingerprint.fingerprint(roots)),
            "seconds": seconds, "out": out,
            "leftovers": host_processes(sandbox.HOST_UID) if os.geteuid() == 0 else []}


def test_the_kit_is_unchanged_and_nothing_is_left_running(graded):
    assert graded["kit_changes"] == []
    assert graded["leftovers"] == []
    assert graded["connections"] == []  # the host's loopback never saw the networker


@pytest.mark.parametrize("student", ["alice", "bob", "carol"])
def test_honest_students_get_the_grades_their_answers_earn(graded, student):
    sub = graded["subs"][student]
    assert sub.scores == in_process_scores(sub.path, sub.seed)
    assert sub.status == "ok", sub.reasons


# student -> the gradebook's status and what its reasons must say about freezing.q2
HOSTILE = {
    "kit_writer": ("error", f"freezing.q2: cell {Q2} raised OSError: [Errno 30] Read-only file system"),
    "reader": ("error", f"freezing.q2: cell {Q2} raised FileNotFoundError"),
    "networker": ("error", f"freezing.q2: cell {Q2} raised ConnectionRefusedError"),
    "patcher": ("ok", ""),
    "exiter": ("error", f"freezing.q2: its process ended (exit code 0) in cell {Q2}; the cell "
                        "was left out"),
    "hog": ("error", f"freezing.q2: cell {Q2} raised RuntimeError: [enforce fail at alloc_cpu.cpp"),
    "looper": ("timeout", f"freezing.q2: used up its {TIMEOUT} s of CPU time in cell {Q2}; the "
                          "other exercises were graded"),
    "sleeper": ("timeout", f"freezing.q2: still running after {3 * TIMEOUT} s in cell {Q2}"),
    "slow_answer": ("timeout", f"freezing.q2: used up its {TIMEOUT} s of CPU time in the check "
                               "of its answer"),
    "forker": ("error", f"freezing.q2: cell {Q2} raised BlockingIOError: [Errno 11] Resource "
                        "temporarily unavailable"),
    "thief": ("error", f"freezing.q2: cell {Q2} raised ImportError: cannot import name 'freezing' "
                       "from 'vgg_course.exercises.instructor'"),
    "grader_killer": ("error", f"freezing.q2: cell {Q2} stopped the process that runs the "
                               "notebook"),  # left out, and the rest run in a fresh sandbox
}


@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_each_hostile_submission_loses_only_its_attacked_exercise(graded, student):
    sub = graded["subs"][student]
    status, reason = HOSTILE[student]
    assert sub.status == status, sub.reasons
    assert reason in "; ".join(sub.reasons), sub.reasons
    assert sub.scores["freezing.q2"] == 0
    # the patcher's patches (json.dumps among them) stay for the cells below, as in its own
    # notebook, where its q3 check was broken too: each exercise sees what is above it
    expected_q3 = 0 if student in ("kit_writer", "patcher") else POINTS["freezing.q3"]
    assert (sub.scores["freezing.q1"], sub.scores["freezing.q3"]) == (POINTS["freezing.q1"],
                                                                        expected_q3)


def test_the_kit_writer_could_not_write_the_lesson_notebooks_either(graded):
    reasons = "; ".join(graded["subs"]["kit_writer"].reasons)
    assert f"freezing.q3: cell {Q3} raised FileNotFoundError" in reasons


def test_the_40_gb_allocation_was_refused_at_once(graded):
    assert "you tried to allocate 40000000000 bytes" in "; ".join(graded["subs"]["hog"].reasons)


def test_a_hang_costs_only_its_time_limit(graded):
    looper, alice = graded["subs"]["looper"], graded["subs"]["alice"]
    assert looper.seconds < alice.seconds + 3 * TIMEOUT + 10  # the issue measured 158 s
    assert [v["status"] for v in looper.verdicts] == ["passed", "failed", "passed"]


def test_a_slow_machine_does_not_turn_a_right_answer_into_a_timeout(graded):
    """The limit is CPU time: an answer that waits longer than it (as on a busy machine)
    but does little work keeps its points."""
    patient = graded["subs"]["patient"]
    assert patient.status == "ok" and patient.scores == POINTS, patient.reasons


def test_gradebook_rows_say_what_happened(graded):
    with open(graded["out"] / "gradebook.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob", "carol", "patient", *HOSTILE}
    for student, (status, reason) in HOSTILE.items():
        assert rows[student]["status"] == status and reason in rows[student]["reasons"]
