"""The mode banner: which mode a notebook runs in, the first output of every notebook.

``vc.config.settings().banner()`` makes one from the current settings; the words are here, apart
from the settings themselves, so that they can be read (and translated) in one place.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from vgg_course.i18n import N_, _

# Each mode's words, whole sentences (translated when shown: ``Banner.text``). The way to switch
# (`vc.config.use("full"), "real", "practice" or "quick" in any cell switches, no restart`)
# ends the quick and practice banners.
_MESSAGES = {
    "quick": N_(
        "QUICK MODE: random 'practice' weights, small data and tiny budgets, so every cell "
        "finishes in seconds; the numbers below are not real results. If you see this before "
        "running anything, the course's checks made these outputs in quick mode; your own run "
        "uses the mode you choose (full mode unless you set one). "
        'vc.config.use("full"), "real", "practice" or "quick" in any cell switches, no restart.'
    ),
    "practice": N_(
        "PRACTICE MODE: VGG16 has random weights, not the pretrained ImageNet ones. Shapes and "
        "counts are real; predictions and accuracies are not. "
        'vc.config.use("full"), "real", "practice" or "quick" in any cell switches, no restart.'
    ),
    "full": N_("Full mode (the default): pretrained VGG16 weights and full budgets."),
    "real": N_(
        "REAL MODE: the ants/bees photos and a real pretrained network, with budgets sized "
        "for a 2-core CPU. Every accuracy below comes from a real run."
    ),
    "real-companion": N_(
        "REAL MODE: the ants/bees photos and a real pretrained network, with budgets sized "
        "for a 2-core CPU. VGG16's ImageNet weights are not installed here, so VGG16 cells use "
        "random practice weights (its structure and counts are real) and every result comes "
        "from the labelled offline companion, SqueezeNet 1.1 with ImageNet weights."
    ),
}


@dataclass(frozen=True)
class Banner:
    """What mode this notebook runs in; the first output of every notebook.

    Example:
        >>> Banner("full", practice=False)
        Full mode (the default): pretrained VGG16 weights and full budgets.
        >>> Banner("quick", practice=True).text.startswith("QUICK MODE")
        True
    """

    mode: str
    practice: bool

    @property
    def text(self) -> str:
        return _(_MESSAGES["real-companion" if self.mode == "real" and self.practice else self.mode])

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.mode in ("full", "real") else "#b26a00"
        return (f'<div style="border-left:6px solid {colour};padding:6px 10px;'
                f'background:#fff8e1"><b>{html.escape(self.text)}</b></div>')
