"""Where the course folder is, and which edition's language a kernel starts in.

The **course folder** is found the way git finds a repository: from the working directory (a
notebook's kernel starts in the notebook's folder) up to the nearest folder holding the marker
file ``vgg-course.json``. The edition (``notebooks/en/``, ``notebooks/ja/``) a notebook is
opened from sets the language of the kit's messages (see ``vc.config``, which re-exports both).
"""

from __future__ import annotations

import json
from pathlib import Path

LANGS = ("en", "ja")
MARKER = "vgg-course.json"  # marks a course folder (written by `python -m vgg_course lessons`)


def course_folder(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding
    ``vgg-course.json``; ``start`` itself when none does.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     root = Path(tmp).resolve()
        ...     _ = (root / MARKER).write_text("{}")
        ...     (root / "student").mkdir()
        ...     course_folder(root / "student") == root
        True
    """
    start = Path(Path.cwd() if start is None else start).expanduser().resolve()
    for folder in (start, *start.parents):
        if (folder / MARKER).is_file():
            return folder
    return start


def edition_lang(course: Path, start: Path | None = None) -> str:
    """The language of the edition a kernel runs in: ``"ja"`` in ``notebooks/ja/`` (a folder
    named ``ja`` or ``en`` from the working directory up to the course folder), else the
    ``"lang"`` that ``lessons DEST --lang`` wrote into the course folder's ``vgg-course.json``,
    else ``"en"``.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     root = Path(tmp).resolve()
        ...     (root / "notebooks" / "ja" / "student").mkdir(parents=True)
        ...     edition_lang(root, root / "notebooks" / "ja" / "student"), edition_lang(root, root)
        ('ja', 'en')
    """
    start = Path(Path.cwd() if start is None else start).expanduser().resolve()
    course = Path(course).expanduser().resolve()
    if start.is_relative_to(course):
        for folder in (start, *start.parents):
            if folder.name in LANGS:
                return folder.name
            if folder == course:
                break
    try:
        marker = json.loads((course / MARKER).read_text(encoding="utf-8"))
        lang = marker.get("lang") if isinstance(marker, dict) else None
    except (OSError, ValueError):
        lang = None
    return lang if lang in LANGS else "en"
