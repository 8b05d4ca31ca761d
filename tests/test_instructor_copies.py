"""Solutions stay out of the sandbox however the kit is installed.

A second copy of the kit (installed non-editable in a site folder, named by a ``.pth``
file, left in a ``build/`` folder, or listed by a ``dist-info`` RECORD) is found by
:func:`vgg_course.instructor.copies.instructor_copies` and covered in the sandbox; a copy
the grader could not hide makes it refuse to grade, naming the copy.
"""

from __future__ import annotations

import os
import sys

import pytest

from submission_factory import LESSON, solution_answers, student_notebook, write
from vgg_course.instructor import copies, fingerprint, grading, runner, sandbox, submissions

needs_sandbox = pytest.mark.skipif(
    sandbox.problem() is not None,
    reason=f"no bubblewrap sandbox here ({sandbox.problem()}); Debian: apt-get install bubblewrap")
SECRET = "THE_SOLUTIONS_42"
TAIL = ("vgg_course", "exercises", "instructor")


def _copy(folder, name="freezing.py"):
    """A fake installed copy of the kit's instructor folder under ``folder``."""
    instructor = folder.joinpath(*TAIL)
    (instructor / "__pycache__").mkdir(parents=True)
    (instructor / name).write_text(f"SECRET = {SECRET!r}\n")
    (instructor / "__pycache__" / "freezing.cpython-311.pyc").write_bytes(SECRET.encode())
    (folder / "vgg_course" / "__init__.py").write_text("")
    return instructor


@pytest.fixture
def second_install(tmp_path):
    """A site folder with the kit installed, a .pth naming another copy, a build folder,
    a RECORD listing an instructor file elsewhere, and a wheel of the kit."""
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    installed = _copy(site)
    elsewhere = _copy(tmp_path / "elsewhere")
    (site / "kit.pth").write_text(f"# an editable install\n{tmp_path / 'elsewhere'}\n")
    built = _copy(tmp_path / "clone" / "build" / "lib")
    info = site / "vgg_course-0.1.0.dist-info"
    info.mkdir()
    odd = tmp_path / "data" / "exercises" / "instructor"
    odd.mkdir(parents=True)
    (odd / "freezing.py").write_text(f"SECRET = {SECRET!r}\n")
    (info / "RECORD").write_text("vgg_course/__init__.py,,\n"
                                 "../../../../data/exercises/instructor/freezing.py,,\n")
    (tmp_path / "clone" / "dist").mkdir()
    wheel = tmp_path / "clone" / "dist" / "vgg_course-0.1.0-py3-none-any.whl"
    wheel.write_bytes(SECRET.encode())
    for folder, _, files in os.walk(tmp_path):  # readable by all, as an installed kit is
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return {"root": tmp_path, "site": site, "copies": [installed, elsewhere, built],
            "odd": odd / "freezing.py", "wheel": wheel}


def test_every_copy_under_the_mounted_folders_is_found(second_install):
    found = copies.instructor_copies([second_install["root"]])
    for copy in second_install["copies"]:
        assert copy.resolve() in found
    assert second_install["odd"].resolve() in found  # listed by the RECORD only
    assert second_install["wheel"].resolve() in found


def test_a_copy_named_by_a_pth_file_outside_the_mounted_folders_is_found(tmp_path):
    site, other = tmp_path / "site", tmp_path / "other"
    site.mkdir()
    copy = _copy(other)
    (site / "x.pth").write_text(f"{other}\n")
    found = copies.instructor_copies([site])  # only the site folder is mounted
    assert found == []  # the other copy is not visible in the sandbox: nothing to hide
    assert copy.resolve() in copies.instructor_copies([site, other])


@needs_sandbox
def test_the_sandbox_cannot_read_any_copy(second_install):
    root = second_install["root"]
    paths = [p / "freezing.py" for p in second_install["copies"]]
    paths += [p / "__pycache__" / "freezing.cpython-311.pyc" for p in second_install["copies"]]
    paths += [second_install["odd"], second_install["wheel"]]
    code = ("import sys\nfor p in sys.argv[1:]:\n    try:\n        data = open(p, 'rb').read()\n"
            "    except OSError as exc:\n        data = type(exc).__name__.encode()\n"
            "    print(p, data[:40])\n")
    out = sandbox.run([sys.executable, "-c", code, *map(str, paths)],
                      readable=[*sandbox.python_paths(), root],
                      hidden=copies.instructor_copies([*sandbox.python_paths(), root]))
    assert out.returncode == 0, out.output
    assert SECRET not in out.output
    assert out.output.count("FileNotFoundError") == 6  # under an empty folder
    assert out.output.count("PermissionError") == 2  # under /dev/null, a device it cannot open
    assert second_install["odd"].read_text().startswith("SECRET")  # untouched outside


@pytest.mark.slow  # three sandboxes
@needs_sandbox
def test_grading_hides_a_second_install_or_refuses_naming_it(second_install, tmp_path,
                                                             monkeypatch):
    site = second_install["site"]
    paths = sandbox.python_paths()
    monkeypatch.setattr(sandbox, "python_paths", lambda: [*paths, second_install["root"]])
    monkeypatch.setattr(runner, "_pythonpath",
                        lambda: os.pathsep.join([str(fingerprint.PACKAGE.parent), str(site)]))
    grading.preflight(LESSON)  # every copy hidden: grading goes on
    thief = (f"import pathlib\nstolen = pathlib.Path({str(site.joinpath(*TAIL, 'freezing.py'))!r})"
             ".read_text()\n" + solution_answers()["freezing.q2"])
    path = write(tmp_path / "subs", "thief", student_notebook({"freezing.q2": thief}))
    sub = grading.grade_notebook(submissions.Found("thief", path, LESSON), seed=1,
                                 exercise_timeout=10)
    assert sub.scores["freezing.q2"] == 0
    assert "raised FileNotFoundError" in "; ".join(sub.reasons)
    found = copies.instructor_copies
    monkeypatch.setattr(copies, "instructor_copies", lambda readable: [  # say it missed one
        p for p in found(readable) if not p.is_relative_to(site.resolve())])
    with pytest.raises(grading.SandboxUnavailable, match="another copy of the kit") as err:
        grading.preflight(LESSON)
    assert str(site.joinpath(*TAIL)) in str(err.value)
