"""Course-wide settings read from environment variables, in one place.

Every switch the notebooks, scripts and tests honour is read here, so a student can see
all of them at once with ``vc.config.settings()``:

==========================  ================================================================
``VGG_COURSE_QUICK=1``      quick/offline mode: practice (random) weights, practice data,
                            tiny budgets; what CI and the notebook-output script use
``VGG_COURSE_PRACTICE=1``   random VGG16 weights instead of the pretrained ones (said loudly)
``VGG_COURSE_DATA``         a folder holding the ants/bees photos (``train/``, ``val/``)
``VGG_COURSE_DATA_HOME``    where the kit keeps downloaded and generated datasets
``VGG_COURSE_STRICT=1``     a failed exercise check raises (CI proves the solutions pass)
``TORCH_HOME``              torchvision's cache; weights live in ``$TORCH_HOME/hub/checkpoints``
==========================  ================================================================
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
_REPO_DATA = Path(__file__).resolve().parents[1] / "data"


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
    data_dir: Path | None
    data_home: Path
    strict: bool

    @property
    def mode(self) -> str:
        if self.quick:
            return "quick"
        return "practice" if self.practice else "full"

    def banner(self) -> "Banner":
        return Banner(self)


def settings() -> Settings:
    """Read the course's environment variables now.

    Example:
        >>> import vgg_course as vc
        >>> vc.config.settings().mode in {"quick", "practice", "full"}
        True
    """
    quick = _flag("VGG_COURSE_QUICK")
    default_home = _REPO_DATA if _REPO_DATA.is_dir() else Path.home() / ".cache" / "vgg_course"
    return Settings(
        quick=quick,
        practice=quick or _flag("VGG_COURSE_PRACTICE"),
        data_dir=_path("VGG_COURSE_DATA"),
        data_home=_path("VGG_COURSE_DATA_HOME") or default_home,
        strict=_flag("VGG_COURSE_STRICT"),
    )


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
}


@dataclass(frozen=True)
class Banner:
    """What mode this notebook runs in; the first output of every notebook."""

    settings: Settings

    @property
    def text(self) -> str:
        return _MESSAGES[self.settings.mode]

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.settings.mode == "full" else "#b26a00"
        return (
            f'<div style="border-left:6px solid {colour};padding:6px 10px;'
            f'background:#fff8e1"><b>{html.escape(self.text)}</b></div>'
        )
