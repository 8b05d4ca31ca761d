"""Course-wide settings read from environment variables, in one place.

Every switch the notebooks, scripts and tests honour is read here, so a student can see
all of them at once with ``vc.config.settings()``:

==========================  ================================================================
``VGG_COURSE_QUICK=1``      quick/offline mode: practice (random) weights, practice data,
                            tiny budgets; what CI and the notebook-output script use
``VGG_COURSE_REAL=1``       real-results mode: the ants/bees photos and a real pretrained
                            network (VGG16 when its weights are installed, otherwise the
                            labelled SqueezeNet companion), budgets sized for a 2-core CPU;
                            the notebooks whose point is a result are stored in this mode
``VGG_COURSE_PRACTICE=1``   random VGG16 weights instead of the pretrained ones (said loudly)
``VGG_COURSE_DATA``         a folder holding the ants/bees photos (``train/``, ``val/``)
``VGG_COURSE_DATA_HOME``    where the kit keeps downloaded and generated datasets
                            (default ``<course folder>/data``)
``VGG_COURSE_RESULTS``      where the comparison lab writes its results
                            (default ``<course folder>/results``)
``VGG_COURSE_DIR``          the course folder itself (default: the nearest folder at or
                            above the working directory holding ``vgg-course.json``,
                            else the working directory)
``VGG_COURSE_STRICT=1``     a failed exercise check raises (CI proves the solutions pass)
``TORCH_HOME``              torchvision's cache; weights live in ``$TORCH_HOME/hub/checkpoints``
``TQDM_DISABLE=1``          no progress bars anywhere (CI, stored notebook outputs)
==========================  ================================================================

The **course folder** is found the way git finds a repository: from the working directory
(a notebook's kernel starts in the notebook's folder) up to the nearest folder holding the
marker file ``vgg-course.json``, which ``python -m vgg_course lessons DEST`` writes into
DEST (the repository has one at its root). Data, results and grades go under it, never
into the installed package.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

_TRUE = {"1", "true", "yes", "on"}
MARKER = "vgg-course.json"  # marks a course folder (written by `python -m vgg_course lessons`)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


@dataclass(frozen=True)
class Settings:
    """The course's switches, as read from the environment at one moment."""

    quick: bool
    practice: bool
    real: bool
    data_dir: Path | None
    data_home: Path
    strict: bool
    course_dir: Path
    results_dir: Path

    @property
    def grades_dir(self) -> Path:
        """Where ``python -m vgg_course grade`` writes by default: ``<course folder>/grades``."""
        return self.course_dir / "grades"

    @property
    def mode(self) -> str:
        if self.quick:
            return "quick"
        if self.real:
            return "real"
        return "practice" if self.practice else "full"


    def banner(self) -> "Banner":
        return Banner(self)


def settings() -> Settings:
    """Read the course's environment variables now.

    Example:
        >>> import vgg_course as vc
        >>> vc.config.settings().mode in {"quick", "real", "practice", "full"}
        True
    """
    quick, real = _flag("VGG_COURSE_QUICK"), _flag("VGG_COURSE_REAL")
    if quick and real:
        raise ValueError("VGG_COURSE_QUICK=1 and VGG_COURSE_REAL=1 are both set: quick mode uses "
                         "practice weights and drawn images, real mode real photos and a "
                         "pretrained network. Unset one of them.")
    practice = quick or _flag("VGG_COURSE_PRACTICE")
    if real and not practice:
        from vgg_course import weights  # real mode: VGG16 is pretrained only if its file is here

        practice = not weights.cache_path().is_file()
    course = _path("VGG_COURSE_DIR") or course_folder()
    return Settings(
        quick=quick,
        practice=practice,
        real=real,
        data_dir=_path("VGG_COURSE_DATA"),
        data_home=_path("VGG_COURSE_DATA_HOME") or course / "data",
        strict=_flag("VGG_COURSE_STRICT"),
        course_dir=course,
        results_dir=_path("VGG_COURSE_RESULTS") or course / "results",
    )


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


_MESSAGES = {
    "quick": (
        "QUICK MODE (VGG_COURSE_QUICK=1): random 'practice' weights, small data and tiny "
        "budgets so every cell finishes in seconds. Numbers below are not the real results; "
        "unset VGG_COURSE_QUICK to run the full lesson."
    ),
    "practice": (
        "PRACTICE MODE (VGG_COURSE_PRACTICE=1): VGG16 has random weights, not the pretrained "
        "ImageNet ones. Shapes and counts are real; predictions and accuracies are not."
    ),
    "full": "Full mode: pretrained weights and full budgets.",
    "real": (
        "REAL MODE (VGG_COURSE_REAL=1): the ants/bees photos and a real pretrained network, "
        "with budgets sized for a 2-core CPU. Every accuracy below comes from a real run."
    ),
    "real-companion": (
        "REAL MODE (VGG_COURSE_REAL=1): the ants/bees photos and a real pretrained network, "
        "with budgets sized for a 2-core CPU. VGG16's ImageNet weights are not installed "
        "here, so VGG16 cells use random practice weights (its structure and counts are "
        "real) and every result comes from the labelled offline companion, SqueezeNet 1.1 "
        "with ImageNet weights."
    ),
}


@dataclass(frozen=True)
class Banner:
    """What mode this notebook runs in; the first output of every notebook."""

    settings: Settings

    @property
    def text(self) -> str:
        mode = self.settings.mode
        if mode == "real" and self.settings.practice:
            mode = "real-companion"
        return _MESSAGES[mode]

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.settings.mode in ("full", "real") else "#b26a00"
        return (
            f'<div style="border-left:6px solid {colour};padding:6px 10px;'
            f'background:#fff8e1"><b>{html.escape(self.text)}</b></div>'
        )


def progress_bars(wanted: bool = True) -> bool:
    """Whether to show progress bars: ``wanted``, unless ``TQDM_DISABLE`` is set.

    tqdm honours ``TQDM_DISABLE`` itself in a terminal, but not its notebook bars, which
    would otherwise end up in stored notebook outputs.

    Example:
        >>> progress_bars(False)
        False
    """
    return wanted and not _flag("TQDM_DISABLE")


# ---------------------------------------------------------------- notebook modes

STORED_MODES = ("quick", "real")


def stored_mode(notebook_metadata: Mapping) -> str:
    """The mode a lesson notebook's outputs are stored and checked in (default ``"quick"``).

    A notebook whose point is a result says ``{"vgg_course": {"mode": "real"}}`` in its
    metadata; ``scripts/regen_notebooks.py`` and the tests run it in that mode.

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
        ValueError: real mode without the photos.

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
    """The ants/bees photos: ``VGG_COURSE_DATA``, then ``candidates``, then the kit's data folder.

    Returns ``None`` when none of them has ``train/`` and ``val/`` (nothing is downloaded).
    """
    configured = _path("VGG_COURSE_DATA")
    home = _path("VGG_COURSE_DATA_HOME") or settings().data_home
    for path in (configured, *candidates, home / "hymenoptera_data"):
        if path is not None and (path / "train").is_dir() and (path / "val").is_dir():
            return path
    return None
