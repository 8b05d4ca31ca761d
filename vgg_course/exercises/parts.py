"""What an exercise grades: its parts and their points, public or instructor-only (hidden).

An :class:`~vgg_course.exercises.core.Exercise` lists its public ``parts``; the instructor's
package (``vgg_course.exercises.instructor``, left out of a student release) adds a
:class:`Hidden` set of parts with the cases that test them. Nothing here runs a check.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Part:
    """One graded part; every case whose ``"part"`` is ``name`` must pass for its points."""

    name: str
    points: int = 1
    hidden: bool = False


@dataclass(frozen=True)
class Hidden:
    """Instructor-only extra parts of an exercise and the cases that test them."""

    parts: tuple[Part, ...]
    make_cases: Callable[[random.Random], list[dict]]
