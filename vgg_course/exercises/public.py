"""The public cases a student build checks with: seed-0 cases and their expected data.

A student build of the kit has no instructor side (no solutions, no reference code), so it
cannot compute what an answer should give. ``python -m vgg_course exercises sync`` runs the
instructor's ``expect_<q>`` on each function exercise's public seed-0 cases and writes
them, with their ``"expected"`` data, to ``public_cases.json`` beside this module
(:func:`render`); a test fails when the file is stale. Prediction exercises are never
written here: what a prediction should be is the instructor's alone.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Callable

PATH = Path(__file__).with_name("public_cases.json")


@functools.lru_cache(maxsize=1)
def _stored() -> dict[str, list[dict]]:
    try:
        return json.loads(PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def forget() -> None:
    """Read ``public_cases.json`` again at the next check (after ``exercises sync`` wrote it)."""
    _stored.cache_clear()


def cases(exercise_id: str, make: Callable[[], list[dict]]) -> list[dict]:
    """The stored public cases of ``exercise_id``, else ``make()`` (the seed-0 cases, without
    expected data: an exercise the instructor side judges on its own, e.g. a prediction)."""
    stored = _stored().get(exercise_id)
    if stored is not None:
        return json.loads(json.dumps(stored))
    return [dict(c, hidden=False) for c in json.loads(json.dumps(make()))]


def render(found: dict[str, list[dict]]) -> str:
    """The text of ``public_cases.json`` for ``{exercise id: cases}``: stable, compact, one
    exercise per line (so a diff names the exercises that changed)."""
    lines = [f"{json.dumps(k)}: {json.dumps(v, sort_keys=True, separators=(',', ':'))}"
             for k, v in sorted(found.items())]
    return "{\n" + ",\n".join(lines) + "\n}\n"
