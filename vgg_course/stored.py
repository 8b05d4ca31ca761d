"""The modes lesson notebooks are stored and checked in, and the environment each runs with.

A notebook whose point is a result says ``{"vgg_course": {"mode": "real"}}`` in its
metadata; the rest are stored in quick mode. ``scripts/regen_notebooks.py``, the root
``conftest.py`` (nbval) and ``scripts/fresh_install_check.py`` start each notebook's kernel
with ``kernel_env(mode)``: a kernel is a process of its own, and it reads these variables
once, at its start (``vc.config``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from vgg_course import config

STORED_MODES = ("quick", "real")


def stored_mode(notebook_metadata: Mapping) -> str:
    """The mode a lesson notebook's outputs are stored and checked in (default ``"quick"``).

    Raises:
        ValueError: the metadata names another mode.

    Example:
        >>> stored_mode({"vgg_course": {"mode": "real"}}), stored_mode({})
        ('real', 'quick')
    """
    mode = notebook_metadata.get("vgg_course", {}).get("mode", "quick")
    if mode not in STORED_MODES:
        raise ValueError(f"unknown stored mode {mode!r}; use one of {', '.join(STORED_MODES)}")
    return mode


def kernel_env(mode: str, photos: Path | None = None) -> dict[str, str]:
    """The environment variables a notebook runs with in a stored mode ("" means unset).

    Raises:
        ValueError: an unknown mode, or real mode without the photos.

    Example:
        >>> kernel_env("quick")["VGG_COURSE_QUICK"]
        '1'
    """
    common = {"PYTHONHASHSEED": "0", "TQDM_DISABLE": "1"}
    if mode == "quick":
        return {**common, "VGG_COURSE_QUICK": "1", "VGG_COURSE_REAL": ""}
    if mode != "real":
        raise ValueError(f"unknown stored mode {mode!r}; use one of {', '.join(STORED_MODES)}")
    if photos is None:
        raise ValueError("real mode needs the ants/bees photos: set VGG_COURSE_DATA to the "
                         "unpacked hymenoptera_data folder, or run `python -m vgg_course data "
                         "download` (or `data install`)")
    return {**common, "VGG_COURSE_QUICK": "", "VGG_COURSE_REAL": "1",
            "VGG_COURSE_DATA": str(photos)}


def find_photos(*candidates: Path) -> Path | None:
    """The ants/bees photos: the settings' ``data_dir``, then ``candidates``, then the data folder.

    Returns ``None`` when none of them has ``train/`` and ``val/`` (nothing is downloaded).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     (Path(tmp) / "train").mkdir(); (Path(tmp) / "val").mkdir()
        ...     with config.use(data_dir=tmp):
        ...         find_photos() == Path(tmp)
        True
    """
    s = config.settings()
    for path in (s.data_dir, *candidates, s.data_home / "hymenoptera_data"):
        if path is not None and (path / "train").is_dir() and (path / "val").is_dir():
            return path
    return None
