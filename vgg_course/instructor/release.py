"""The classroom release: student notebooks and a build of the kit without any solution.

``python -m vgg_course release --out DIR`` writes what an instructor hands out::

    DIR/notebooks/NN_name_student.ipynb  student notebooks: solutions stubbed, no outputs
    DIR/wheel/vgg_course-*.whl           the kit without vgg_course.exercises.instructor
    DIR/README.md                        how students install and start (Colab links too)

The notebooks carry the student copies' name (``vc.workspace.student_name``), the one
``notebooks/student/`` and ``lessons DEST`` give them: a student sees one name for one copy,
never a tab titled like the lesson, and hands in that file (the grader reads the old
``NN_name.ipynb`` too).

In Google Colab the notebooks' first cell installs the kit from where the instructor
publishes ``wheel/``'s file: ``--colab-source URL`` stamps that URL in (``vc.colab``), the
placeholder is refused, ``--no-colab`` leaves the block out, and ``--colab-links
https://github.com/ORG/REPO`` writes an "Open in Colab" link per notebook into the README.

The wheel is built (``pip wheel --no-deps --no-build-isolation``, offline) from a copy of
the package that leaves out ``vgg_course.exercises.instructor``: the solution functions and the
hidden cases. Its lessons (``vgg_course.lessons``) are the student notebooks only, so
``python -m vgg_course lessons DEST`` gives students ``DEST/student/NN_name_student.ipynb``.
There, ``ex.q1.solution()`` says that solutions come from the instructor and checks still
grade, from the public cases. Before anything is written to ``DIR`` the release
is searched for every solution line (:func:`solution_lines`); one found stops the command.

The student build has a version of its own, :data:`STUDENT_VERSION` (``0.1.0+student``: a
PEP 440 local label, stamped into the staged ``pyproject.toml`` and ``vgg_course/__init__.py``).
pip sees the self-study build (``pip wheel .``: ``0.1.0``, with the solutions) and the student
build as two versions of one project, so a plain ``pip install WHEEL`` of either replaces the
other, and ``vc.__version__`` says which one is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import nbformat

from vgg_course import __version__, colab, exercises, workspace
from vgg_course.instructor import authoring, editions

PACKAGE = Path(__file__).resolve().parents[1]  # vgg_course/
LEFT_OUT = ("exercises/instructor",)  # relative to the package: instructor-only material
_INSTRUCTOR_PACKAGE = '"vgg_course.exercises.instructor", '  # in pyproject's package list
MIN_LINE = 16  # shorter solution lines ("return model", "])") are not evidence of anything
STUDENT_VERSION = f"{__version__}+student"  # not the self-study build's: pip swaps one for the other
STUDENT_WHEEL = f"vgg_course-{STUDENT_VERSION}-py3-none-any.whl"

_README = """# VGG16 course: student release

Install the course kit (once, in the environment where you run Jupyter):

    pip install wheel/vgg_course-{version}-py3-none-any.whl

This is the student build of the kit, version {version}: no solutions, no hidden tests.
It replaces any other build of the kit in that environment (the self-study build, version
{base}, is the one with the solutions); `python -c "import vgg_course; print(vgg_course.__version__)"`
says which one is installed.

Then open the notebooks in order, starting with {first}
(the kit carries the same notebooks: `python -m vgg_course lessons my-course{lang_option}` copies
them into `my-course/student/`, and never overwrites one you have changed).
Each exercise has a check cell: run it as often as you like, it tells you what is right
and what is not. `ex.q1.hint()` gives a nudge; solutions come from your instructor.
{colab}"""

_COLAB_README = """
## Google Colab

Open a notebook in Colab{where}. Its first cell installs the kit there (and does nothing
anywhere else), from

    {source}

Run the notebooks in order, each from its first cell; File > Save a copy in Drive keeps
your work. Colab's own torch, numpy and ipywidgets are used as they are.
{links}
For the instructor: before students open a notebook, `wheel/{wheel}` must be
reachable at the address above under this exact file name (pip reads the version from it; a
GitHub release asset may have its `+` turned into `.`: check the asset's name). Pushing this
folder to a public GitHub repository publishes it too, at
`https://raw.githubusercontent.com/ORG/REPO/main/wheel/{wheel}`.{push}
"""

_PYPROJECT_README = "The VGG16 transfer-learning course kit (student build, no solutions).\n"


def solution_lines() -> dict[str, set[str]]:
    """Exercise id -> the lines of its solution that a release must not contain.

    A line counts when it is inside ``### BEGIN/END SOLUTION``, has at least
    ``MIN_LINE`` characters once stripped, and is not given to the student anyway (in the
    task, or in the stub that replaces the solution).
    """
    found: dict[str, set[str]] = {}
    for name in exercises.MODULES:
        for ex in exercises.exercises(name):
            given = {line.strip() for line in ex.task.splitlines()}
            given |= {line.strip() for line in authoring.clear_solutions(
                ex.cell, keep=(ex.answer,)).splitlines()}
            inside, lines = False, set()
            for line in ex.cell.splitlines():
                marker = line.strip().lstrip("#").strip()
                if marker in ("BEGIN SOLUTION", "END SOLUTION"):
                    inside = marker == "BEGIN SOLUTION"
                    continue
                text = line.strip()
                if inside and len(text) >= MIN_LINE and text not in given:
                    lines.add(text)
            found[ex.id] = lines
    return found


def leaks(folder: Path, lines: dict[str, set[str]] | None = None) -> list[str]:
    """Every ``file: exercise: line`` of ``folder`` (wheels opened) holding a solution line."""
    lines = solution_lines() if lines is None else lines
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        texts = ([(f"{path.name}!{n}", z.read(n).decode("utf-8", "replace"))
                  for z in [zipfile.ZipFile(path)] for n in z.namelist()]
                 if path.suffix == ".whl" else
                 [(str(path.relative_to(folder)), path.read_text("utf-8", "replace"))])
        for where, text in texts:
            for ex_id, ex_lines in lines.items():
                found += [f"{where}: {ex_id}: {line}" for line in sorted(ex_lines) if line in text]
    return found


def check_colab_source(source: str | None) -> str | None:
    """Refuse a Colab source that cannot install this release's wheel; return a note or None.

    Raises:
        ValueError: no source (or the placeholder), or a wheel URL whose file name is not
            :data:`STUDENT_WHEEL`; the message says how to fix it.
    """
    if colab.is_placeholder(source):
        what = ("no --colab-source, and SOURCE in vgg_course/colab.py is unset" if source is None
                else f"{source!r} is a placeholder")
        raise ValueError(
            f"no Colab source ({what}): in Colab the notebooks' first cell could not install the "
            f"kit. Publish wheel/{STUDENT_WHEEL} where students can reach it and pass its "
            f"URL: --colab-source https://.../{STUDENT_WHEEL} (e.g. https://raw.githubusercontent"
            f".com/ORG/REPO/main/wheel/{STUDENT_WHEEL} once this folder is pushed to GitHub; or a "
            "pip index / git+ URL); or "
            "pass --no-colab to leave the Colab cell out (the notebooks then run outside Colab only)")
    name = PurePosixPath(unquote(urlsplit(source.split()[0]).path)).name
    if name.endswith(".whl") and name != STUDENT_WHEEL:
        raise ValueError(f"--colab-source names {name}, but this release's wheel is {STUDENT_WHEEL}: "
                         "publish it under its own name (pip reads the version from it)")
    if source.startswith("git+"):
        return (f"note: {source} installs what that repository builds; from the course's own "
                "repository that is the self-study build, solutions included. The student build "
                f"is wheel/{STUDENT_WHEEL}: publish it and pass its URL instead.")
    return None


def _readme(source: str | None, repository: str | None, notebooks: list[str]) -> str:
    """The release's README.md: install, notebooks, and Colab (source, links) when it has it."""
    part = ""
    if source is not None:
        links = colab.colab_links(repository, notebooks) if repository else []
        part = _COLAB_README.format(
            where=(" from its link below" if links else
                   " (File > Upload notebook, or File > Open notebook > GitHub)"),
            source=source, wheel=STUDENT_WHEEL,
            links=f"\n{colab.links_markdown(links)}\n" if links else "",
            push=(f" The links open `notebooks/` at {repository}: push this folder there." if links
                  else " For one-click links, push this folder to GitHub and release again with "
                       "`--colab-links https://github.com/ORG/REPO`."))
    firsts = [n for n in notebooks if n.endswith("/00_setup_check_student.ipynb")] or notebooks[:1]
    first = " or ".join(f"`{n}`" for n in firsts)  # one per edition: `notebooks/ja/...` 日本語
    langs = {n.split("/")[1] for n in notebooks if n.count("/") == 2}
    lang_option = " --lang ja" if langs == {"ja"} else " [--lang ja]" if "ja" in langs else ""
    return _README.format(version=STUDENT_VERSION, base=__version__, colab=part, first=first,
                          lang_option=lang_option)


def _stamp(text: str, old: str, new: str, where: Path) -> str:
    """``text`` with its one ``old`` made ``new``; a RuntimeError unless ``old`` is there once."""
    if text.count(old) != 1:
        raise RuntimeError(f"{where} does not hold {old.strip()!r} once, as release.py expects: "
                           "the student build's version cannot be stamped")
    return text.replace(old, new)


def _stage_package(staging: Path, student_notebooks: list[Path] | dict[str, list[Path]]) -> Path:
    """A copy of the package and a pyproject without the instructor-only parts; its lessons
    folder (``notebooks/``, installed as ``vgg_course.lessons``) holds only each edition's
    ``<lang>/student/`` (a list of notebooks: the English edition's)."""
    target = staging / "vgg_course"
    skip = {PACKAGE / part for part in LEFT_OUT}
    shutil.copytree(PACKAGE, target, ignore=lambda folder, names: [
        n for n in names if n == "__pycache__" or Path(folder) / n in skip])
    source = PACKAGE.parent / "pyproject.toml"
    if not source.is_file():
        raise RuntimeError(f"no {source}: the release is built from a checkout of the repository")
    pyproject = source.read_text(encoding="utf-8")
    if _INSTRUCTOR_PACKAGE not in pyproject:
        raise RuntimeError(f"pyproject.toml's package list does not name {_INSTRUCTOR_PACKAGE}"
                           "as release.py expects; update release._INSTRUCTOR_PACKAGE")
    pyproject = _stamp(pyproject, f'\nversion = "{__version__}"\n',
                       f'\nversion = "{STUDENT_VERSION}"\n', source)
    (staging / "pyproject.toml").write_text(pyproject.replace(_INSTRUCTOR_PACKAGE, ""),
                                            encoding="utf-8")
    init = target / "__init__.py"
    init.write_text(_stamp(init.read_text(encoding="utf-8"), f'__version__ = "{__version__}"',
                           f'__version__ = "{STUDENT_VERSION}"', init), encoding="utf-8")
    (staging / "README.md").write_text(_PYPROJECT_README, encoding="utf-8")
    lessons = workspace.lessons_folder()
    by_lang = student_notebooks if isinstance(student_notebooks, dict) else {"en": student_notebooks}
    (staging / "notebooks").mkdir(parents=True)
    for name in ("__init__.py", "sanitize.cfg"):
        shutil.copy2(lessons / name, staging / "notebooks" / name)
    for lang, notebooks in by_lang.items():
        (staging / "notebooks" / lang / "student").mkdir(parents=True)
        shutil.copy2(lessons / "sanitize.cfg", staging / "notebooks" / lang / "sanitize.cfg")
        for notebook in notebooks:
            shutil.copy2(notebook, staging / "notebooks" / lang / "student" / notebook.name)
    return staging


def build_wheel(out_dir: Path,
                student_notebooks: list[Path] | dict[str, list[Path]] | None = None) -> Path:
    """Build the student wheel into ``out_dir`` (offline) and return its path.

    ``student_notebooks`` are the lessons it ships, by edition (``{"ja": [...]}``; a list is
    the English edition's; default: both of the kit's editions' ``student/``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if student_notebooks is None:
        student_notebooks = {lang: sorted(authoring.student_folder(lang=lang).glob(
            "[0-9][0-9]_*.ipynb")) for lang in RELEASE_LANGS}
    with tempfile.TemporaryDirectory(prefix="vgg-release-") as tmp:
        staging = _stage_package(Path(tmp) / "src", student_notebooks)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--no-index", "--quiet", "--wheel-dir", str(out_dir), str(staging)],
            capture_output=True, text=True, cwd=tmp, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"building the student wheel failed:\n{result.stderr[-2000:]}")
    wheels = sorted(out_dir.glob(STUDENT_WHEEL))
    if not wheels:
        raise RuntimeError(f"pip wrote no {STUDENT_WHEEL} to {out_dir}")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        instructor = [n for n in wheel.namelist() if "exercises/instructor" in n]
    if instructor:
        raise RuntimeError(f"the student wheel holds instructor files: {instructor[:3]}")
    return wheels[-1]


RELEASE_LANGS = ("en", "ja")


def release_langs(lang: str) -> tuple[str, ...]:
    """The editions ``--lang`` names: ``"en"``, ``"ja"`` or ``"both"``."""
    if lang == "both":
        return RELEASE_LANGS
    if lang not in RELEASE_LANGS:
        raise ValueError(f"unknown language {lang!r}; choose en, ja or both")
    return (lang,)


def write_release(out: Path, lessons: list[Path] | None = None, *,
                  colab_source: str | None = None, with_colab: bool = True,
                  colab_repository: str | None = None, lang: str = "en") -> list[Path]:
    """Write the release into ``out`` (built aside first: nothing is written if it leaks).

    Args:
        out: the folder to hand out.
        lessons: the lesson notebooks (default: the kit's).
        colab_source: where Colab installs the kit from (default ``vc.colab.SOURCE``):
            the URL at which ``wheel/`` + :data:`STUDENT_WHEEL` will be published.
        with_colab: ``False`` leaves the Colab block out of the notebooks.
        colab_repository: the GitHub URL the release is pushed to; the README then links
            each notebook in Colab (:func:`vgg_course.colab.colab_links`).
        lang: the edition, ``"en"`` (notebooks in ``notebooks/``), ``"ja"`` (in
            ``notebooks/ja/``: a kernel started there speaks Japanese) or ``"both"``
            (``notebooks/en/`` and ``notebooks/ja/``).

    Raises:
        ValueError: no usable Colab source (see :func:`check_colab_source`), or links asked
            for without the Colab block.
        RuntimeError: the build failed, or a solution line is in what would be released.
    """
    out = Path(out)
    source = (colab_source or colab.SOURCE) if with_colab else None
    if with_colab:
        check_colab_source(source)
    elif colab_repository:
        raise ValueError("Colab links without the Colab cell would open notebooks that cannot "
                         "install the kit: drop --no-colab (and give --colab-source) or --colab-links")
    if colab_repository:
        colab.colab_links(colab_repository, [])  # a wrong URL stops the release before the build
    with tempfile.TemporaryDirectory(prefix="vgg-release-") as tmp:
        draft = Path(tmp) / "release"
        langs = release_langs(lang)
        folders = {x: draft / "notebooks" / ("" if langs == ("en",) else x) for x in langs}
        for edition_lang, notebooks in folders.items():
            notebooks.mkdir(parents=True, exist_ok=True)
            for lesson in lessons or authoring.lesson_notebooks():
                student = authoring.student_version(
                    editions.edition(nbformat.read(lesson, as_version=4), edition_lang))
                student.metadata["vgg_course"]["edition"] = edition_lang
                first = colab.first_code_cell(student)
                first.source = colab.stamped(first.source, source, lang=edition_lang)
                (notebooks / workspace.student_name(lesson.name)).write_text(
                    nbformat.writes(student) + "\n", encoding="utf-8")
        build_wheel(draft / "wheel", {x: sorted(folder.glob("*.ipynb"))
                                      for x, folder in folders.items()})
        names = [p.relative_to(draft).as_posix() for folder in folders.values()
                 for p in sorted(folder.glob("*.ipynb"))]
        (draft / "README.md").write_text(_readme(source, colab_repository, names), encoding="utf-8")
        found = leaks(draft)
        if found:
            raise RuntimeError("solution lines in the release (nothing written):\n  "
                               + "\n  ".join(found[:20]))
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for path in sorted(p for p in draft.rglob("*") if p.is_file()):
            target = out / path.relative_to(draft)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            written.append(target)
    return written
