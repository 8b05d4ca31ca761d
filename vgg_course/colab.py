"""Google Colab: the lessons' first cell installs the kit there, from the one source set here.

Colab opens a notebook straight from a link, in a runtime that has torch but not this kit.
A notebook's first code cell may therefore start with :func:`bootstrap_block`: in Colab,
and only when ``vgg_course`` cannot be imported, it runs ``pip install SOURCE`` and carries
on; anywhere else it does nothing and prints nothing (so stored outputs and nbval are
unaffected). It is the one ``pip install`` a notebook may hold (STYLE.md).

The classroom release stamps the block with the URL where the instructor publishes the
student wheel (``python -m vgg_course release --colab-source URL``), and can write "Open in
Colab" links for its notebooks (:func:`colab_links`). The repository's own lessons carry the
block only when :data:`SOURCE` is set (``None`` here: no block, so no notebook runs a
placeholder); a fork that sets it (e.g. ``git+https://github.com/ORG/REPO.git``) runs
``python -m vgg_course student-notebooks`` to stamp every lesson (:func:`stamp_lessons`) and
the student copies. A student may override the source for one session with
``%env VGG_COURSE_SOURCE=...``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

import nbformat

# Where Colab installs the self-study lessons' kit from: None = no Colab block in them.
SOURCE: str | None = None
ENV = "VGG_COURSE_SOURCE"  # overrides the stamped source for one session
PLACEHOLDERS = ("your-org", "<org>", "ORG/REPO")  # example text, never a real source

FIRST_LINE = "# In Google Colab only: install the course kit when it is missing (vgg_course/colab.py)."
IMPORT = "import vgg_course as vc"
COLAB = "https://colab.research.google.com/github"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def is_placeholder(source: str | None) -> bool:
    """Whether ``source`` is unset or example text rather than somewhere pip can install from.

    Example:
        >>> is_placeholder(None), is_placeholder("git+https://github.com/your-org/vgg-course.git")
        (True, True)
        >>> is_placeholder("https://example.org/vgg_course-0.1.0+student-py3-none-any.whl")
        False
    """
    return not (source or "").strip() or any(p in source for p in PLACEHOLDERS)


def bootstrap_block(source: str, lang: str | None = None) -> str:
    """The lines a first code cell starts with, ending before ``import vgg_course``.

    ``source`` is what follows ``pip install``: a wheel URL, a ``git+https://`` URL, or
    pip arguments such as ``vgg-course==0.1.0+student --index-url URL``. ``lang="ja"`` (a
    release's Japanese notebooks): in Colab, where a kernel cannot see which edition's folder
    its notebook came from, the block sets ``VGG_COURSE_LANG`` unless it is set already.

    Example:
        >>> block = bootstrap_block("https://example.org/vgg_course-0.1.0-py3-none-any.whl")
        >>> block.splitlines()[2]
        'if "google.colab" in sys.modules and importlib.util.find_spec("vgg_course") is None:'
        >>> exec(block)  # not in Colab: nothing happens
    """
    return (f"{FIRST_LINE}\n"
            "import importlib.util, os, subprocess, sys\n"
            'if "google.colab" in sys.modules and importlib.util.find_spec("vgg_course") is None:\n'
            f'    source = os.environ.get("{ENV}", {json.dumps(source)})\n'
            '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *source.split()],\n'
            "                   check=True)\n"
            "    importlib.invalidate_caches()  # so this running kernel sees the new package\n"
            + (f'if "google.colab" in sys.modules:  # the edition\'s language\n'
               f'    os.environ.setdefault("VGG_COURSE_LANG", {json.dumps(lang)})\n'
               if lang and lang != "en" else ""))


def stamped(cell_source: str, source: str | None = SOURCE, lang: str | None = None) -> str:
    """``cell_source`` (a first code cell) with the block for ``source`` in front of its
    ``import vgg_course as vc``; an older block there is replaced, and ``source=None``
    removes it.

    Raises:
        ValueError: the cell does not import the kit as ``import vgg_course as vc``, or
            ``source`` is example text (:data:`PLACEHOLDERS`).

    Example:
        >>> cell = stamped("import vgg_course as vc", "https://example.org/k.whl")
        >>> cell.startswith(FIRST_LINE), stamped(cell, None)
        (True, 'import vgg_course as vc')
    """
    start = cell_source.find(IMPORT)
    if start < 0:
        raise ValueError(f"the first code cell must contain {IMPORT!r} (docs/DEVELOPING.md)")
    before = cell_source[:start]
    if before.strip() and not before.startswith(FIRST_LINE):
        raise ValueError("the first code cell has code before the Colab block's place; "
                         f"keep {IMPORT!r} first (the block goes in front of it)")
    if source is None:
        return cell_source[start:]
    if is_placeholder(source):
        raise ValueError(f"{source!r} is a placeholder, not where the kit is published")
    return bootstrap_block(source, lang) + cell_source[start:]


def first_code_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(cell for cell in nb.cells if cell.cell_type == "code")


def stamp_lessons(lessons: list[Path], *, check: bool = False,
                  source: str | None = SOURCE) -> list[Path]:
    """Put the block for ``source`` (``None``: no block) into each lesson's first code cell
    (nothing else changes); return the lessons that needed it. With ``check``, write nothing."""
    changed = []
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        cell = first_code_cell(nb)
        new = stamped(cell.source, source)
        if new != cell.source:
            changed.append(path)
            if not check:
                cell.source = new
                nbformat.write(nb, path)
    return changed


_GITHUB = re.compile(r"^https://github\.com/(?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?/?"
                     r"(?:/tree/(?P<branch>[\w.-]+)(?P<folder>(?:/[\w.-]+)*))?/?$")


def colab_links(repository: str, notebooks: list[str]) -> list[tuple[str, str]]:
    """(notebook, its "Open in Colab" URL) for each of ``notebooks``, paths inside ``repository``.

    ``repository`` is a GitHub URL, ``https://github.com/ORG/REPO`` (branch ``main``) or
    ``https://github.com/ORG/REPO/tree/BRANCH/FOLDER`` when the notebooks' folder lies there.

    Raises:
        ValueError: ``repository`` is not such a URL, or is example text.

    Example:
        >>> colab_links("https://github.com/acme/vgg-class", ["notebooks/00_setup_check.ipynb"])
        [('notebooks/00_setup_check.ipynb', 'https://colab.research.google.com/github/acme/vgg-class/blob/main/notebooks/00_setup_check.ipynb')]
        >>> colab_links("https://github.com/acme/site/tree/2026/vgg", ["a.ipynb"])[0][1]
        'https://colab.research.google.com/github/acme/site/blob/2026/vgg/a.ipynb'
    """
    found = _GITHUB.match(repository.strip())
    if not found or is_placeholder(repository):
        raise ValueError(f"{repository!r}: give the GitHub repository the notebooks are pushed to, "
                         "https://github.com/ORG/REPO or https://github.com/ORG/REPO/tree/BRANCH/FOLDER")
    base = f"{COLAB}/{found['repo']}/blob/{found['branch'] or 'main'}{found['folder'] or ''}"
    return [(path, f"{base}/{PurePosixPath(path).as_posix()}") for path in notebooks]


def links_markdown(links: list[tuple[str, str]]) -> str:
    """One Markdown line per notebook: an "Open in Colab" badge linking to it, then its name.

    Example:
        >>> print(links_markdown([("notebooks/00_a.ipynb", "https://colab.example/00_a")]))
        - [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.example/00_a) `notebooks/00_a.ipynb`
    """
    return "\n".join(f"- [![Open In Colab]({BADGE})]({url}) `{path}`" for path, url in links)
