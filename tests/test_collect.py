"""Collecting a class's submissions (vgg_course.instructor.collect): copies that never follow a
link nor open a FIFO, one folder per student id, a roster that says what was refused and why."""

from __future__ import annotations

import csv
import io
import os
import stat
import threading

import pytest

import fake_grader
from fake_grader import LESSON, put
from vgg_course.__main__ import main
from vgg_course.instructor import collect, grading, students, submissions


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    src, tmp = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("collect")
    kinds = fake_grader.make_class(src, tmp / "outside")
    put(src, "flat.ipynb", fake_grader.notebook())  # <student>.ipynb, lesson from --lesson
    put(src, "gus/homework.ipynb", fake_grader.notebook())
    put(src, "John.Smith/03_freezing_student.ipynb", fake_grader.notebook())  # id john.smith~...
    done: dict = {}
    thread = threading.Thread(daemon=True, target=lambda: done.setdefault(
        "code", main(["collect", str(src), str(tmp / "dest"), "--lesson", LESSON])))
    thread.start()
    thread.join(120)
    assert done.get("code") == 0, "collect hung or failed"
    text = (tmp / "dest" / collect.ROSTER).read_text(encoding="utf-8")
    roster = {row["name"]: row for row in csv.DictReader(io.StringIO(text))}
    return {"src": src, "dest": tmp / "dest", "roster": roster, "kinds": kinds, "tmp": tmp}


def test_notebooks_are_copied_to_id_and_lesson(collected):
    dest, roster = collected["dest"], collected["roster"]
    assert (dest / "alice" / f"{LESSON}.ipynb").read_bytes() == \
        (collected["src"] / "alice" / "03_freezing_student.ipynb").read_bytes()
    cafe = roster["caf\\xe9"]
    assert cafe["id"] == students.student_id(os.fsdecode(b"caf\xe9"))
    assert (dest / cafe["id"] / f"{LESSON}.ipynb").is_file()
    assert cafe["copied"] == f"{cafe['id']}/{LESSON}.ipynb <- caf\\xe9/03_freezing_student.ipynb"
    assert (dest / "stray" / "02_state_dict.ipynb").is_file()
    assert (dest / "flat" / f"{LESSON}.ipynb").is_file() and (dest / "gus" / f"{LESSON}.ipynb").is_file()
    assert len({row["id"] for row in roster.values()}) == len(roster)  # Zoë and Zoé apart


def test_links_fifos_devices_and_huge_files_are_refused_never_followed(collected):
    dest, roster = collected["dest"], collected["roster"]
    for kind, name in collected["kinds"].items():
        row = roster[name]
        assert row["copied"] == "" and row["refused"], (kind, row)
        assert not (dest / row["id"]).exists()
    assert "a symbolic link (never followed)" in roster["mallory"]["refused"]
    assert "a FIFO (never opened)" in roster["fifi"]["refused"]
    assert "over the 20 MiB limit" in roster["hugo"]["refused"]
    for path in dest.rglob("*"):
        mode = os.lstat(path).st_mode
        assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), path
        if path.is_file():
            assert b"TOPSECRET" not in path.read_bytes()
    assert "alice" not in roster["mallory"]["refused"]
    assert str(collected["tmp"] / "outside") not in (dest / collect.ROSTER).read_text()


def test_duplicates_are_both_kept_for_grade_to_flag_and_identical_ones_copied_once(collected):
    dest, roster = collected["dest"], collected["roster"]
    assert sorted(p.relative_to(dest / "dana").as_posix() for p in (dest / "dana").rglob("*.ipynb")) \
        == [f"{LESSON}.ipynb", f"duplicate-2/{LESSON}.ipynb"]
    assert [p.name for p in (dest / "ida").rglob("*")] == [f"{LESSON}.ipynb"]
    assert "the same bytes as ida/03_freezing.ipynb (copied once)" in roster["ida"]["refused"]


def test_the_collected_folder_grades_under_the_same_ids_and_names(collected, monkeypatch):
    fake_grader.install(monkeypatch)
    out = collected["tmp"] / "grades"
    grading.grade(collected["dest"], out, seed=1)
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    rows = {(r["id"], r["lesson"]): r for r in csv.DictReader(io.StringIO(text))}
    for name, row in collected["roster"].items():
        if row["copied"]:
            assert any(key[0] == row["id"] and r["student"] == name for key, r in rows.items())
    assert rows[("dana", LESSON)]["status"] == "duplicate"


def test_collect_writes_only_into_a_new_or_empty_folder(collected, tmp_path, capsys):
    assert main(["collect", str(collected["src"]), str(collected["dest"])]) == 2
    assert "not a new or empty folder" in capsys.readouterr().err
    assert main(["collect", str(tmp_path / "nope"), str(tmp_path / "d")]) == 2
    os.symlink(tmp_path, tmp_path / "link")
    with pytest.raises(FileExistsError):
        collect.collect(collected["src"], tmp_path / "link")


def test_discover_on_a_collected_folder_keeps_its_ids(collected):
    found = submissions.discover(collected["dest"])
    refused = {r["id"] for r in collected["roster"].values() if not r["copied"]
               and any(not x.endswith("(copied once)") for x in r["refused"])}
    assert {f.student for f in found} == {r["id"] for r in collected["roster"].values()
                                          if r["copied"]} | refused
    # a student whose only file collect refused is in the gradebook, saying why
    assert refused and all(f.problem.endswith(", when collected") for f in found
                           if f.student in refused)


def test_a_folder_swapped_for_a_link_after_listing_is_not_followed(tmp_path):
    """What a student with a live account could do while collect runs as root."""
    put(tmp_path / "other", "private/03_freezing_student.ipynb", "another student's work")
    (tmp_path / "src" / "mallory").mkdir(parents=True)
    (tmp_path / "src" / "mallory" / "ps1").symlink_to(tmp_path / "other" / "private")
    path = tmp_path / "src" / "mallory" / "ps1" / "03_freezing_student.ipynb"
    with pytest.raises(students.Refused, match="without following a link"):
        students.read_regular(path, root=tmp_path / "src")
    put(tmp_path / "src", "ann/ps1/03_freezing_student.ipynb", "ann's work")
    assert students.read_regular(tmp_path / "src" / "ann" / "ps1" / "03_freezing_student.ipynb",
                                 root=tmp_path / "src") == b"ann's work"
