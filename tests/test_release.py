"""Tests for vgg_course.instructor.release: what an instructor hands out holds no solution, and grades.

One release is built into a temporary folder (about 10 s: a real offline wheel build);
the tests grep it for every solution line, install the wheel's files on their own and
check answers there in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from vgg_course import colab, exercises, workspace
from vgg_course.__main__ import main
from vgg_course.instructor import authoring, release
from fresh_env import fresh
from test_wrong_answers import CATALOGUE

ALL = [ex for name in exercises.MODULES for ex in exercises.exercises(name)]
STUDENT_WHEEL = "vgg_course-0.1.0+student-py3-none-any.whl"  # not the self-study build's 0.1.0
SOURCE = f"https://example.org/vgg/{STUDENT_WHEEL.replace('+', '%2B')}"  # as a browser quotes it
REPOSITORY = "https://github.com/acme/vgg-class"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    release.write_release(out, colab_source=SOURCE, colab_repository=REPOSITORY)
    return out


def _copy_of(built: Path):
    """A stand-in for build_wheel that copies the wheel built once (the real build takes ~10 s)."""
    def fake_build(out_dir: Path, student_notebooks=None) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(__import__("shutil").copy(built / "wheel" / STUDENT_WHEEL, out_dir))
    return fake_build


def _texts(folder: Path):
    """(name, text) of every file of the release, the wheel's files included."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                for name in wheel.namelist():
                    yield f"{path.name}!{name}", wheel.read(name).decode("utf-8", "replace")
        else:
            yield str(path.relative_to(folder)), path.read_text("utf-8", "replace")


def test_release_holds_the_student_notebooks_a_wheel_and_a_readme(built):
    files = sorted(str(p.relative_to(built)) for p in built.rglob("*") if p.is_file())
    lessons = [f"{p.stem}_student.ipynb" for p in authoring.lesson_notebooks()]  # not the lesson's
    assert files == sorted(["README.md", *(f"notebooks/{n}" for n in lessons),
                            f"wheel/{STUDENT_WHEEL}"])
    with zipfile.ZipFile(built / "wheel" / STUDENT_WHEEL) as wheel:
        names = wheel.namelist()
    assert "vgg_course/exercises/core.py" in names and "vgg_course/instructor/release.py" in names
    assert not [n for n in names if "exercises/instructor" in n or n.endswith(".pyc")]
    assert "vgg_course/exercises/public_cases.json" in names  # what its checks compare with
    assert "vgg_course/exercises/keys.py" not in names  # no digest of any prediction
    # its lessons are the student notebooks (for `python -m vgg_course lessons`), no solutions
    assert sorted(n for n in names if n.startswith("vgg_course/lessons/")) == sorted(
        ["vgg_course/lessons/__init__.py", "vgg_course/lessons/sanitize.cfg",
         "vgg_course/lessons/en/sanitize.cfg", *(f"vgg_course/lessons/en/student/{n}" for n in lessons)])


def test_no_solution_line_anywhere_in_the_release(built):
    lines = release.solution_lines()
    assert set(lines) == {ex.id for ex in ALL}
    assert all(lines[ex.id] for ex in ALL), "an exercise without solution lines: the grep is vacuous"
    found = [f"{where}: {line}" for where, text in _texts(built)
             for ex_lines in lines.values() for line in ex_lines if line in text]
    assert found == []
    notebooks = [text for where, text in _texts(built) if where.endswith(".ipynb")]
    assert notebooks and not any("BEGIN SOLUTION" in text for text in notebooks)
    # and the same grep does find a solution line where there is one
    planted = built.parent / "planted"
    planted.mkdir(exist_ok=True)
    line = sorted(lines["freezing.q2"])[0]
    (planted / "cheat.py").write_text(f"x = 1\n    {line}\n", encoding="utf-8")
    assert release.leaks(planted) == [f"cheat.py: freezing.q2: {line}"]


def test_release_refuses_to_write_when_a_solution_would_leak(tmp_path, monkeypatch, built):
    monkeypatch.setattr(release, "build_wheel", _copy_of(built))
    monkeypatch.setattr(release, "solution_lines", lambda: {"x.q1": {"def solution_lines() -> dict"}})
    with pytest.raises(RuntimeError, match="solution lines in the release"):
        release.write_release(tmp_path / "out", colab_source=SOURCE)
    assert not (tmp_path / "out").exists()


def test_every_released_notebook_installs_the_student_wheel_in_colab(built):
    expected = colab.stamped("import vgg_course as vc\n\nvc.config.settings().banner()", SOURCE)
    released = sorted((built / "notebooks").glob("*.ipynb"))
    with zipfile.ZipFile(built / "wheel" / STUDENT_WHEEL) as wheel:  # the kit's own copies too
        shipped = [nbformat.reads(wheel.read(f"vgg_course/lessons/en/student/{p.name}").decode(), 4)
                   for p in released]
    for nb in [nbformat.read(p, as_version=4) for p in released] + shipped:
        assert colab.first_code_cell(nb).source == expected
    readme = (built / "README.md").read_text(encoding="utf-8")
    assert f"\n    {SOURCE}\n" in readme
    assert f"`wheel/{STUDENT_WHEEL}` must be reachable at the address above" in " ".join(readme.split())


def test_the_readme_links_every_released_notebook_in_colab(built):
    names = [f"notebooks/{workspace.student_name(p.name)}" for p in authoring.lesson_notebooks()]
    links = colab.colab_links(REPOSITORY, names)
    assert links[0] == ("notebooks/00_setup_check_student.ipynb", "https://colab.research.google"
                        ".com/github/acme/vgg-class/blob/main/notebooks/00_setup_check_student.ipynb")
    readme = (built / "README.md").read_text(encoding="utf-8")
    assert colab.links_markdown(links) in readme
    assert readme.count("colab-badge.svg") == len(names) == len(list(built.glob("notebooks/*")))


@pytest.mark.parametrize("argv, words", [
    ([], ["no Colab source", "--colab-source https://", STUDENT_WHEEL, "--no-colab"]),
    (["--colab-source", "git+https://github.com/your-org/vgg-course.git"], ["no Colab source"]),
    (["--colab-source", "https://x.org/vgg_course-0.1.0-py3-none-any.whl"],
     ["names vgg_course-0.1.0-py3-none-any.whl", f"release's wheel is {STUDENT_WHEEL}"]),
    (["--no-colab", "--colab-links", REPOSITORY], ["Colab links without the Colab cell"]),
    (["--colab-source", SOURCE, "--colab-links", "https://gitlab.com/a/b"], ["github.com/ORG/REPO"]),
])
def test_release_refuses_a_colab_cell_that_cannot_install_and_says_how_to_fix_it(
        tmp_path, monkeypatch, capsys, argv, words):
    monkeypatch.setattr(release, "build_wheel", lambda *a: pytest.fail("built before refusing"))
    assert colab.SOURCE is None  # the kit's default: no source, so the option is needed
    assert main(["release", "--out", str(tmp_path / "out"), *argv]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert all(word in message for word in words), message
    assert not (tmp_path / "out").exists()


def test_no_colab_leaves_the_cell_out_and_the_notebooks_run_as_before(tmp_path, monkeypatch, built):
    monkeypatch.setattr(release, "build_wheel", _copy_of(built))
    assert main(["release", "--out", str(tmp_path / "out"), "--no-colab"]) == 0
    for path in sorted((tmp_path / "out" / "notebooks").glob("*.ipynb")):
        lesson = nbformat.read(authoring.lesson_notebooks()[0].parent
                               / f"{workspace.lesson_stem(path.stem)}.ipynb", as_version=4)
        assert colab.first_code_cell(nbformat.read(path, as_version=4)).source == \
            colab.first_code_cell(lesson).source == "import vgg_course as vc\n\nvc.config.settings().banner()"
    assert "Colab" not in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")


def test_a_git_source_is_allowed_with_a_note_that_it_is_not_the_student_build():
    note = release.check_colab_source("git+https://github.com/acme/vgg-course.git")
    assert "self-study build, solutions included" in note and STUDENT_WHEEL in note
    assert release.check_colab_source(SOURCE) is None


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value if isinstance(value, (str, int, float)) else int(value)


_IN_RELEASE = r'''
import json, sys
import vgg_course
from vgg_course import exercises
from vgg_course.exercises import core
answers = json.load(open(sys.argv[1]))
report = {"file": vgg_course.__file__, "verdicts": {}}
try:
    import vgg_course.exercises.instructor
    report["instructor"] = True
except ImportError:
    report["instructor"] = False
for name in exercises.MODULES:
    module = exercises.load(name)
    for ex in module.EXERCISES:
        got = {}
        for kind, cell in answers[ex.id].items():
            if isinstance(cell, str):
                namespace = {"ex": module}
                exec(core.SETUP_IMPORTS, namespace)
                exec(cell, namespace)
                cell = namespace[ex.answer]
            got[kind] = [ex.check(cell).status, repr(ex.check(cell))]
            if ex.verify:  # a prediction: recorded, then shown beside the truth
                got[kind].append(repr(ex.reveal(**answers[ex.id]["right"])))
        got["solution"] = ex.solution().text
        try:
            ex.cases(0, hidden=True)
            got["hidden"] = "available"
        except core.SolutionsUnavailable:
            got["hidden"] = "unavailable"
        report["verdicts"][ex.id] = got
print(json.dumps(report))
'''


@pytest.mark.slow
def test_the_installed_release_grades_right_and_wrong_answers_without_solutions(built, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(built / "wheel" / STUDENT_WHEEL) as wheel:
        wheel.extractall(site)  # a pure-Python wheel: unpacking it is installing it
    answers = {ex_id: {"right": _plain(entry["right"][0]),
                       "wrong": _plain(next(iter(entry["wrong"].values())))}
               for ex_id, entry in CATALOGUE.items()}
    (tmp_path / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(site), "VGG_COURSE_STRICT": "0"}
    result = subprocess.run([sys.executable, "-c", _IN_RELEASE, str(tmp_path / "answers.json")],
                            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert Path(report["file"]).is_relative_to(site)  # the release, not this checkout
    assert report["instructor"] is False
    for ex in ALL:
        got = report["verdicts"][ex.id]
        assert "come from your instructor" in got["solution"]
        assert got["hidden"] == "unavailable"
        if ex.verify:  # the check records; the verify cell shows right and wrong
            n = len(ex.predictions)
            assert got["right"][0] == got["wrong"][0] == "recorded", (ex.id, got["wrong"][1])
            assert f"{n} of {n} predictions right" in got["right"][2]
            assert "✘" in got["wrong"][2] and f"{n} of {n}" not in got["wrong"][2]
            continue
        assert got["right"][0] == "passed", (ex.id, got["right"][1])
        assert got["wrong"][0] in ("partial", "failed"), (ex.id, got["wrong"][1])
        assert "✘" in got["wrong"][1]  # feedback says which part is wrong


def test_the_student_build_has_its_own_version_and_says_so(built):
    with zipfile.ZipFile(built / "wheel" / STUDENT_WHEEL) as wheel:
        names = wheel.namelist()
        metadata = wheel.read("vgg_course-0.1.0+student.dist-info/METADATA").decode()
        init = wheel.read("vgg_course/__init__.py").decode()
    assert "\nVersion: 0.1.0+student\n" in metadata
    assert '\n__version__ = "0.1.0+student"\n' in init
    import vgg_course
    assert vgg_course.__version__ == "0.1.0"  # this checkout: the self-study build
    readme = (built / "README.md").read_text(encoding="utf-8")
    assert f"pip install wheel/{STUDENT_WHEEL}" in readme
    readme = " ".join(readme.split())
    assert "version 0.1.0+student" in readme and "version 0.1.0, is the one with the solutions" in readme
    assert not [n for n in names if n.startswith("vgg_course-0.1.0.dist-info")]


def test_a_version_that_cannot_be_stamped_stops_the_build():
    with pytest.raises(RuntimeError, match="cannot be stamped"):
        release._stamp('version = "0.2.0"\n', '\nversion = "0.1.0"\n', "x", Path("pyproject.toml"))


# without torch (--no-deps): importing vgg_course imports none of its modules
_WHICH_BUILD = ("import pathlib, vgg_course; print(vgg_course.__version__, "
                "(pathlib.Path(vgg_course.__file__).parent / 'exercises/instructor').is_dir())")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the fresh venv's layout is POSIX here")
def test_installing_either_build_replaces_the_other(built, tmp_path):
    self_study = fresh.build_wheel(tmp_path / "dist")  # `pip wheel .`, as the README says
    assert self_study.name == "vgg_course-0.1.0-py3-none-any.whl"
    student = built / "wheel" / STUDENT_WHEEL
    python = fresh.fresh_venv(tmp_path / "venv", borrow=False)  # no system site-packages
    kit = fresh.site_packages(python) / "vgg_course"
    work = tmp_path / "elsewhere"  # not the repository: its vgg_course must not be imported
    work.mkdir()

    def install(wheel: Path) -> str:
        done = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index",
                               str(wheel)], capture_output=True, text=True, cwd=work, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def which() -> str:
        return subprocess.run([str(python), "-c", _WHICH_BUILD], capture_output=True, text=True,
                              cwd=work, check=True, timeout=60).stdout.strip()

    install(self_study)
    assert fresh.kit_location(python, work) == str(kit / "__init__.py")  # not this checkout's
    assert which() == "0.1.0 True" and (kit / "exercises" / "instructor").is_dir()
    out = install(student)  # a plain install, no --force-reinstall
    assert "Successfully uninstalled vgg-course-0.1.0\n" in out, out
    assert "already installed" not in out
    assert which() == "0.1.0+student False" and not (kit / "exercises" / "instructor").exists()
    out = install(self_study)  # and back: the solutions return
    assert "Successfully uninstalled vgg-course-0.1.0+student" in out, out
    assert which() == "0.1.0 True" and (kit / "exercises" / "instructor" / "freezing.py").is_file()


def test_a_release_in_both_languages_hands_out_each_edition_in_its_folder(tmp_path, monkeypatch, built):
    """`release --lang both`: notebooks/en/ and notebooks/ja/, the same exercises in each; in
    Colab a Japanese notebook's first cell sets the language its folder gives elsewhere."""
    monkeypatch.setattr(release, "build_wheel", _copy_of(built))
    release.write_release(tmp_path / "out", colab_source=SOURCE, lang="both")
    names = {lang: sorted(p.name for p in (tmp_path / "out" / "notebooks" / lang).glob("*.ipynb"))
             for lang in ("en", "ja")}
    assert names["en"] == names["ja"] == sorted(p.name for p in (built / "notebooks").glob("*.ipynb"))
    for name in names["ja"]:
        en = nbformat.read(tmp_path / "out" / "notebooks" / "en" / name, as_version=4)
        ja = nbformat.read(tmp_path / "out" / "notebooks" / "ja" / name, as_version=4)
        assert [c.metadata.get("nbgrader") for c in en.cells] == \
            [c.metadata.get("nbgrader") for c in ja.cells]  # one assignment in either language
        assert 'os.environ.setdefault("VGG_COURSE_LANG", "ja")' in colab.first_code_cell(ja).source
        assert "VGG_COURSE_LANG" not in colab.first_code_cell(en).source
        assert any("演習" in c.source for c in ja.cells if c.cell_type == "markdown") or \
            not any("Exercise" in c.source for c in en.cells if c.cell_type == "markdown")
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "notebooks/ja/00_setup_check_student.ipynb" in readme
    with pytest.raises(ValueError, match="en, ja or both"):
        release.write_release(tmp_path / "bad", colab_source=SOURCE, lang="fr")
