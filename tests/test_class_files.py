"""A whole class's odd files graded at once (vgg_course.instructor.students, submissions, gradebook):
every student gets a row that says what happened, and no file stops, hangs or changes another's.

Grading itself is the fast stand-in of ``fake_grader`` (what is tested here is the plumbing
around it): names that are not UTF-8, a leading dash, look-alike letters, a newline;
links to a peer, outside, and a linked folder; a FIFO, a device, a huge sparse file; two
copies of a lesson; a stray notebook of another lesson.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from pathlib import Path

import pytest

import fake_grader
from fake_grader import LESSON, SECRET, put
from vgg_course import exercises
from vgg_course.instructor import grading, students, submissions

OUT_OF = {name: sum(grading._points(e) for e in exercises.exercises(name))
          for name in (LESSON, "02_state_dict")}


def _grade(root: Path, out: Path, **options) -> list:
    """``grading.grade`` in a thread: a hang (a FIFO opened) fails the test, never blocks it."""
    done: dict = {}
    thread = threading.Thread(target=lambda: done.setdefault("r", grading.grade(
        root, out, seed=3, **options)), daemon=True)
    thread.start()
    thread.join(120)
    assert "r" in done, "grading hung or failed"
    return done["r"]


def _rows(out: Path) -> dict[tuple[str, str], dict]:
    text = (out / "gradebook.csv").read_text(encoding="utf-8")  # strict: no surrogates
    return {(r["student"], r["lesson"]): r for r in csv.DictReader(io.StringIO(text))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    fake_grader.install(monkeypatch)
    root, outside = tmp_path_factory.mktemp("subs"), tmp_path_factory.mktemp("outside")
    kinds = fake_grader.make_class(root, outside)
    out = tmp_path_factory.mktemp("grades")
    results = _grade(root, out, workers=3)
    calls = list(fake_grader.CALLS)
    monkeypatch.undo()
    return {"rows": _rows(out), "out": out, "kinds": kinds, "calls": calls, "root": root,
            "outside": outside, "results": results}


def test_names_become_printable_distinct_ids():
    assert students.display(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert students.display("line\nbreak\u202e") == "line\\nbreak\\u202e"
    zoe = {students.student_id(n) for n in ("Zo\u00eb", "Zo\u00e9", "Zoe", "zoe")}
    assert len(zoe) == 4 and "zoe" in zoe  # a plain name is its own id
    assert students.student_id("-rf").startswith("rf~")
    assert students.student_id("\u0430lice") != students.student_id("alice") == "alice"
    # someone names a folder like another student's id: both get a longer hash, never one id
    ana = students.student_id("Ana")
    ids = students.student_ids(["Ana", ana])
    assert len(set(ids.values())) == 2 and all(len(i.split("~")[1]) == 16 for i in ids.values())


def test_every_student_has_a_row_and_the_good_ones_are_graded(graded):
    rows = graded["rows"]
    names = {name for name, _ in rows}
    assert {"alice", "bob", "caf\\xe9", "'-rf", "\u0430lice", "Zo\u00eb", "Zo\u00e9",
            "line\\nbreak", "dana", "ida", "stray", "nina", "erin", *graded["kinds"].values()} == names
    assert rows[("alice", LESSON)]["status"] == "ok"
    assert rows[("alice", LESSON)]["total"] == rows[("alice", LESSON)]["out_of"] == str(OUT_OF[LESSON])
    assert rows[("'-rf", LESSON)]["total"] == str(OUT_OF[LESSON])  # never a formula
    assert int(rows[("caf\\xe9", LESSON)]["total"]) < OUT_OF[LESSON]
    ids = [r["id"] for r in rows.values()]
    assert ids == sorted(ids) and not any(i.startswith(("-", ".")) for i in ids)
    feedback = sorted(p.name for p in (graded["out"] / "feedback").iterdir())
    assert feedback == sorted({f"{i}.md" for i in ids})  # one file per id: Zoë and Zoé apart
    zoe = [rows[("Zo\u00eb", LESSON)], rows[("Zo\u00e9", LESSON)]]
    assert zoe[0]["id"] != zoe[1]["id"] and zoe[0]["total"] != zoe[1]["total"]


@pytest.mark.parametrize("kind, words", [
    ("link to a peer", "a symbolic link (never followed)"),
    ("link outside", "a symbolic link (never followed)"),
    ("linked folder", "a symbolic link (never followed)"),
    ("fifo", "a FIFO (never opened)"), ("device", "a character device (never opened)"),
    ("huge", "21.0 MiB, over the 20 MiB limit (not read)")])
def test_links_fifos_devices_and_huge_files_are_refused_unread_and_named(graded, kind, words):
    if kind not in graded["kinds"]:
        pytest.skip("no device can be made here (needs root)")
    name = graded["kinds"][kind]
    (row,) = [r for (n, _), r in graded["rows"].items() if n == name]
    assert row["status"] == "invalid" and words in row["reasons"], row
    assert row["reasons"].startswith(f"{name}") and row["total"] in ("0", "")
    assert not any(c.startswith(f"{name}/") or c == name for c in graded["calls"])


def test_a_link_is_never_followed_nor_its_target_echoed(graded):
    everything = "".join(p.read_text(encoding="utf-8") for p in graded["out"].rglob("*")
                         if p.is_file())
    assert "TOPSECRET" not in everything and str(graded["outside"]) not in everything
    mallory = graded["rows"][("mallory", LESSON)]
    assert "alice" not in mallory["reasons"] and mallory["total"] == "0"
    assert graded["rows"][("trudy", "")]["out_of"] == ""  # no lesson to score


def test_a_duplicate_is_reported_not_raced_and_identical_copies_are_graded_once(graded):
    dana = graded["rows"][("dana", LESSON)]
    assert dana["status"] == "duplicate" and dana["total"] == "0"
    assert "dana/03_freezing.ipynb" in dana["reasons"]
    assert "dana/03_freezing_student.ipynb" in dana["reasons"] and "none was graded" in dana["reasons"]
    assert not any(c.startswith("dana/") for c in graded["calls"])
    ida = graded["rows"][("ida", LESSON)]
    assert ida["status"] == "ok" and "identical copies also handed in (ida/ps1/" in ida["reasons"]
    assert [c for c in graded["calls"] if c.startswith("ida/")] == ["ida/03_freezing.ipynb"]


def test_out_of_is_the_lessons_whatever_was_handed_in(graded):
    rows = graded["rows"]
    for (name, lesson), row in rows.items():
        if lesson:
            assert row["out_of"] == str(OUT_OF[lesson]), (name, lesson)
    assert rows[("stray", "02_state_dict")]["total"] == str(OUT_OF["02_state_dict"])
    q1 = exercises.exercises("02_state_dict")[0].id
    assert rows[("alice", LESSON)][q1] == ""  # another lesson's column: not this row's
    nina = rows[("nina", LESSON)]  # an exercise with no verdict still counts in out_of
    assert nina["freezing.q3"] == "0" and int(nina["total"]) < int(nina["out_of"])


def test_the_gradebook_and_feedback_say_why_and_never_show_a_hidden_case(graded):
    bob = graded["rows"][("bob", LESSON)]
    assert "freezing.q2: returns a new value: returned the argument it changed in place" in bob["lost"]
    assert "freezing.q3: ties count as not more [hidden]: failed" in bob["lost"]
    feedback = next((graded["out"] / "feedback").glob("bob.md")).read_text(encoding="utf-8")
    assert "returned the argument it changed in place" in feedback
    assert "- ✘ ties count as not more [hidden] (0/1): failed" in feedback
    for path in graded["out"].rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8"), path


def test_surrogates_and_control_characters_are_written_escaped(graded):
    row = graded["rows"][("line\\nbreak", LESSON)]
    assert "ValueError: x\\ud800" in row["reasons"] and row["status"] == "error"
    assert "\n" not in row["id"] and "~" in row["id"]
    text = (graded["out"] / "feedback" / f"{row['id']}.md").read_text(encoding="utf-8")
    assert text.startswith("# Feedback for line\\nbreak\n")


def test_discovery_sorts_by_id_and_refuses_without_opening(tmp_path):
    put(tmp_path, "b/03_freezing.ipynb", "{}")
    put(tmp_path, "B/03_freezing.ipynb", "{}")
    os.mkfifo(tmp_path / "a.ipynb")
    found = submissions.discover(tmp_path, lesson=LESSON)
    assert [(f.student, f.problem) for f in found] == [
        ("a", "a FIFO (never opened)"), ("b", ""), (students.student_id("B"), "")]
    with pytest.raises(students.Refused, match="FIFO"):
        students.read_regular(tmp_path / "a.ipynb")
    with pytest.raises(submissions.InvalidSubmission, match="FIFO"):
        submissions.read(tmp_path / "a.ipynb")


def test_workers_grade_n_notebooks_at_a_time(tmp_path, monkeypatch):
    for i in range(8):
        put(tmp_path / "subs", f"s{i}/03_freezing_student.ipynb", fake_grader.notebook())
    for workers in (3, 1):
        track = fake_grader.Concurrency(meet=workers, pause=0.05)
        fake_grader.install(monkeypatch, track)
        _grade(tmp_path / "subs", tmp_path / f"out{workers}", workers=workers)
        assert track.most == workers and len(fake_grader.CALLS) == 8
    assert fake_grader.files(tmp_path / "out3") == fake_grader.files(tmp_path / "out1")


def test_the_files_depend_on_the_submissions_and_the_seed_only(graded, tmp_path, monkeypatch):
    fake_grader.install(monkeypatch, fake_grader.Concurrency(pause=0.01))
    _grade(graded["root"], tmp_path / "again", workers=1)  # another order, other timings
    assert fake_grader.files(tmp_path / "again") == fake_grader.files(graded["out"])
