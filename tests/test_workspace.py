"""Tests for vgg_course.workspace: the lessons ship in the package and are copied out without
ever overwriting a file the learner changed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vgg_course import config, workspace
from vgg_course.instructor import authoring


def _lessons_folder(root: Path, student_names: dict[str, str]) -> Path:
    (root / "student").mkdir(parents=True)
    for name, student in student_names.items():
        (root / name).write_text(f"lesson {name}\n")
        (root / "student" / student).write_text(f"student {name}\n")
    (root / "sanitize.cfg").write_text("[regex1]\n")
    return root


@pytest.fixture()
def kit(tmp_path: Path) -> Path:
    """A small lessons folder standing in for the kit's (two lessons, students, sanitize.cfg)."""
    root = _lessons_folder(tmp_path / "kit", {n: workspace.student_name(n)
                                              for n in ("00_a.ipynb", "01_b.ipynb")})
    (root / "__init__.py").write_text("")  # not a lesson: never copied
    return root


def _manifest(dest: Path) -> dict:
    return json.loads((dest / config.MARKER).read_text())["files"]


def test_the_lessons_ship_in_the_package_and_are_the_repositorys_notebooks():
    folder = workspace.lessons_folder()
    names = workspace.lesson_files()
    lessons = [p.name for p in authoring.lesson_notebooks()]
    assert len(lessons) >= 8 and "sanitize.cfg" in names
    assert names == sorted([*lessons, *(f"student/{Path(n).stem}_student.ipynb" for n in lessons),
                            "sanitize.cfg"])
    assert (folder / "06_comparison_lab.ipynb").is_file()
    for lang in ("en", "ja"):  # both editions ship, each a folder `lessons DEST --lang` copies
        assert workspace.lesson_files(folder / lang) == names


def test_a_student_copy_never_has_its_lessons_file_name():
    """JupyterLab titles a tab with the file name: a lesson and its student copy open as two
    tabs of two titles, in the repository's notebooks/ as in every course folder."""
    lessons = [p.name for p in authoring.lesson_notebooks()]
    students = sorted(p.name for p in authoring.student_folder().iterdir() if p.suffix == ".ipynb")
    assert students == [workspace.student_name(n) for n in lessons]
    assert not set(students) & set(lessons)
    assert sorted(students) == students and students[3] == "03_freezing_student.ipynb"
    assert [workspace.lesson_stem(Path(n).stem) for n in students] == [Path(n).stem for n in lessons]


def test_a_fresh_copy_copies_everything_and_marks_the_course_folder(kit, tmp_path):
    dest = tmp_path / "course"
    report = workspace.copy_lessons(dest, source=kit)
    expected = ["00_a.ipynb", "01_b.ipynb", "sanitize.cfg", "student/00_a_student.ipynb",
                "student/01_b_student.ipynb"]
    assert report.copied == expected and not (report.updated or report.edited or report.current)
    assert (dest / "student" / "01_b_student.ipynb").read_text() == "student 01_b.ipynb\n"
    assert not (dest / "__init__.py").exists()
    assert sorted(_manifest(dest)) == expected
    assert _manifest(dest)["00_a.ipynb"] == workspace.sha256(b"lesson 00_a.ipynb\n")
    assert config.course_folder(dest / "student") == dest.resolve()
    assert "copied:  student/01_b_student.ipynb" in repr(report) and not report.old_names


def test_running_again_without_update_overwrites_nothing(kit, tmp_path):
    dest = tmp_path / "course"
    workspace.copy_lessons(dest, source=kit)
    (dest / "00_a.ipynb").write_text("my notes\n")         # the learner's edit
    (kit / "01_b.ipynb").write_text("lesson 01_b, v2\n")   # a newer kit
    report = workspace.copy_lessons(dest, source=kit)
    assert report.edited == ["00_a.ipynb"] and report.outdated == ["01_b.ipynb"]
    assert report.copied == [] and report.updated == []
    assert (dest / "00_a.ipynb").read_text() == "my notes\n"
    assert (dest / "01_b.ipynb").read_text() == "lesson 01_b.ipynb\n"
    text = repr(report)
    assert "kept:    00_a.ipynb (you changed it" in text and "run with --update" in text


def test_update_refreshes_unchanged_files_keeps_edited_ones_and_adds_new_lessons(kit, tmp_path):
    dest = tmp_path / "course"
    workspace.copy_lessons(dest, source=kit)
    (dest / "00_a.ipynb").write_text("my answers\n")
    (dest / "student" / "01_b_student.ipynb").write_text("my student answers\n")
    for name in ("00_a.ipynb", "01_b.ipynb", "student/01_b_student.ipynb", "student/00_a_student.ipynb"):
        (kit / name).write_text(f"v2 of {name}\n")
    (kit / "02_c.ipynb").write_text("a new lesson\n")
    report = workspace.copy_lessons(dest, update=True, source=kit)
    assert report.updated == ["01_b.ipynb", "student/00_a_student.ipynb"]
    assert report.edited == ["00_a.ipynb", "student/01_b_student.ipynb"]
    assert report.copied == ["02_c.ipynb"] and report.current == ["sanitize.cfg"]
    assert (dest / "01_b.ipynb").read_text() == "v2 of 01_b.ipynb\n"
    assert (dest / "00_a.ipynb").read_text() == "my answers\n"
    assert (dest / "student" / "01_b_student.ipynb").read_text() == "my student answers\n"
    assert (dest / "02_c.ipynb").read_text() == "a new lesson\n"
    manifest = _manifest(dest)
    assert manifest["01_b.ipynb"] == workspace.sha256(b"v2 of 01_b.ipynb\n")
    assert manifest["00_a.ipynb"] == workspace.sha256(b"lesson 00_a.ipynb\n")  # as copied
    # an edited file stays the learner's on every later update
    again = workspace.copy_lessons(dest, update=True, source=kit)
    assert again.edited == ["00_a.ipynb", "student/01_b_student.ipynb"] and again.updated == []


@pytest.mark.parametrize("update", [True, False])
def test_a_course_folder_from_before_the_rename_keeps_its_old_student_copies(kit, tmp_path, update):
    """A class that started with student/00_a.ipynb: the student worked in 01_b's, not in 00_a's.
    Neither is ever deleted or overwritten; the new names are copied beside them, and said."""
    old_kit = _lessons_folder(tmp_path / "old-kit", {n: n for n in ("00_a.ipynb", "01_b.ipynb")})
    dest = tmp_path / "course"
    workspace.copy_lessons(dest, source=old_kit)
    (dest / "student" / "01_b.ipynb").write_text("my student answers\n")
    report = workspace.copy_lessons(dest, update=update, source=kit)
    assert report.copied == ["student/00_a_student.ipynb", "student/01_b_student.ipynb"]
    assert report.old_names == {"student/00_a.ipynb": "student/00_a_student.ipynb",
                                "student/01_b.ipynb": "student/01_b_student.ipynb"}
    assert (dest / "student" / "01_b.ipynb").read_text() == "my student answers\n"
    assert (dest / "student" / "00_a.ipynb").read_text() == "student 00_a.ipynb\n"
    assert (dest / "student" / "01_b_student.ipynb").read_text() == "student 01_b.ipynb\n"
    assert ("kept:    student/01_b.ipynb (the student copy's old name: never changed or deleted; "
            "the kit's copy is now student/01_b_student.ipynb, beside it)") in repr(report)
    again = workspace.copy_lessons(dest, update=True, source=kit)  # and on every later run
    assert again.copied == [] and list(again.old_names) == ["student/00_a.ipynb", "student/01_b.ipynb"]
    assert (dest / "student" / "01_b.ipynb").read_text() == "my student answers\n"


def test_a_file_that_was_there_before_the_copy_is_the_learners(kit, tmp_path):
    dest = tmp_path / "course"
    dest.mkdir()
    (dest / "00_a.ipynb").write_text("mine, written before the kit came\n")
    report = workspace.copy_lessons(dest, update=True, source=kit)
    assert report.edited == ["00_a.ipynb"]
    assert (dest / "00_a.ipynb").read_text() == "mine, written before the kit came\n"
    assert "00_a.ipynb" not in _manifest(dest)


def test_a_foreign_marker_file_is_refused_and_the_kits_own_folder_too(kit, tmp_path):
    dest = tmp_path / "course"
    dest.mkdir()
    (dest / config.MARKER).write_text("not json")
    with pytest.raises(ValueError, match="move it away"):
        workspace.copy_lessons(dest, source=kit)
    assert sorted(p.name for p in dest.iterdir()) == [config.MARKER]
    with pytest.raises(ValueError, match="own lessons folder"):
        workspace.copy_lessons(kit / "student", source=kit)


@pytest.mark.slow
def test_the_command_copies_the_kits_lessons_and_says_what_it_did(tmp_path):
    dest = tmp_path / "my course"
    run = [sys.executable, "-m", "vgg_course", "lessons", str(dest)]
    first = subprocess.run(run, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "copied:  00_setup_check.ipynb" in first.stdout
    assert "copied:  student/06_comparison_lab_student.ipynb" in first.stdout
    assert "data, results and grades go there" in first.stdout
    assert sorted(_manifest(dest)) == workspace.lesson_files()
    lessons = {p.name for p in dest.glob("*.ipynb")}
    assert len(lessons) >= 8 and not lessons & {p.name for p in dest.glob("student/*.ipynb")}
    (dest / "03_freezing.ipynb").write_text("{}")
    (dest / "student" / "05_fine_tuning.ipynb").write_text('{"mine": 1}')  # from before the rename
    again = subprocess.run([*run, "--update"], capture_output=True, text=True, cwd=tmp_path,
                           timeout=120)
    assert again.returncode == 0, again.stderr
    assert "kept:    03_freezing.ipynb (you changed it" in again.stdout
    assert "kept:    student/05_fine_tuning.ipynb (the student copy's old name" in again.stdout
    assert (dest / "03_freezing.ipynb").read_text() == "{}"
    assert (dest / "student" / "05_fine_tuning.ipynb").read_text() == '{"mine": 1}'


def test_lessons_copied_from_a_read_only_install_are_the_learners_to_edit(kit, tmp_path):
    """A kit installed read-only (a system site-packages, a shared drive) gives writable copies."""
    for path in sorted(kit.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    kit.chmod(0o555)
    dest = tmp_path / "course"
    workspace.copy_lessons(dest, source=kit)
    # mode bits, not a write attempt: the tests run as root, who may write anyway
    for path in [dest, *dest.rglob("*")]:
        needs = 0o700 if path.is_dir() else 0o600
        assert path.stat().st_mode & needs == needs, (path, oct(path.stat().st_mode))
    assert (kit / "00_a.ipynb").stat().st_mode & 0o777 == 0o444  # the source is not touched


def test_where_to_write_refuses_outside_a_course_folder_unless_here_or_chosen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VGG_COURSE_DIR", raising=False)
    with pytest.raises(workspace.NoCourseFolder, match="--here") as caught:
        workspace.where_to_write("grade", tmp_path / "grades")
    assert "python -m vgg_course lessons DEST" in str(caught.value)
    assert str(tmp_path / "grades") in str(caught.value)
    assert workspace.where_to_write("grade", tmp_path / "grades", here=True).startswith(
        f"Writing into {tmp_path / 'grades'} (course folder: ")
    assert workspace.where_to_write("grade", Path("/elsewhere/g"), chosen=True) == "Writing into /elsewhere/g."
    monkeypatch.setenv("VGG_COURSE_DIR", str(tmp_path))  # chosen by the environment: inside
    config.reset()
    assert workspace.in_course_folder()
    monkeypatch.delenv("VGG_COURSE_DIR")
    config.reset()
    (tmp_path / config.MARKER).write_text("{}")  # found
    assert workspace.in_course_folder()
