"""Google Colab: the lessons' first cell installs the kit there, from the one source set here.

Colab opens a lesson straight from a link, in a runtime that has torch but not this kit.
The first code cell of every lesson therefore starts with :func:`bootstrap_block`: in
Colab, and only when ``vgg_course`` cannot be imported, it runs ``pip install SOURCE``
and carries on; anywhere else it does nothing and prints nothing (so stored outputs and
nbval are unaffected). It is the one ``pip install`` a notebook may hold (STYLE.md).

An instructor sets :data:`SOURCE` once, below (a wheel URL, or a ``git+https://`` URL of
the course's repository), then runs ``python -m vgg_course student-notebooks``: it stamps
the block into every lesson (:func:`stamp_lessons`) and the student copies follow. A
student may override it for one session with ``%env VGG_COURSE_SOURCE=...``.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

# Where Colab installs the kit from: the instructor's one setting (see the README, "Colab").
SOURCE = "git+https://github.com/your-org/vgg-course.git"
ENV = "VGG_COURSE_SOURCE"  # overrides SOURCE for one session

FIRST_LINE = "# In Google Colab only: install the course kit when it is missing (vgg_course/colab.py)."
IMPORT = "import vgg_course as vc"


def bootstrap_block(source: str = SOURCE) -> str:
    """The lines every lesson's first code cell starts with, ending before ``import vgg_course``.

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
            '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", source], check=True)\n'
            "    importlib.invalidate_caches()  # so this running kernel sees the new package\n")


def stamped(cell_source: str, source: str = SOURCE) -> str:
    """``cell_source`` (a lesson's first code cell) with the current block in front of its
    ``import vgg_course as vc``; an older block there is replaced.

    Raises:
        ValueError: the cell does not import the kit as ``import vgg_course as vc``.
    """
    start = cell_source.find(IMPORT)
    if start < 0:
        raise ValueError(f"the first code cell must contain {IMPORT!r} (docs/DEVELOPING.md)")
    before = cell_source[:start]
    if before.strip() and not before.startswith(FIRST_LINE):
        raise ValueError("the first code cell has code before the Colab block's place; "
                         f"keep {IMPORT!r} first (the block goes in front of it)")
    return bootstrap_block(source) + cell_source[start:]


def first_code_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(cell for cell in nb.cells if cell.cell_type == "code")


def stamp_lessons(lessons: list[Path], *, check: bool = False,
                  source: str = SOURCE) -> list[Path]:
    """Put the current block into each lesson's first code cell (nothing else changes);
    return the lessons that needed it. With ``check``, write nothing."""
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
