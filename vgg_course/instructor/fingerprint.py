"""Fingerprints of the kit's files, to catch an unsandboxed submission that changed them.

Without a sandbox (``grade --unsafe-no-sandbox``) a student's code runs with the grader's
permissions and could rewrite the kit. The grader takes :func:`fingerprint` of the kit
before and after every notebook and stops at the first :func:`changes`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from vgg_course import workspace

PACKAGE = Path(__file__).resolve().parents[1]  # vgg_course/


def kit_roots(lessons_dir: Path | None = None) -> list[Path]:
    """What counts as the kit: the installed package and the lesson notebooks."""
    if lessons_dir is None:
        try:
            lessons_dir = workspace.lessons_folder()
        except ImportError:  # a copy of the package without its lessons: the package is the kit
            return [PACKAGE]
    return [PACKAGE, Path(lessons_dir).resolve()]


def fingerprint(roots: Iterable[Path]) -> dict[str, str]:
    """``{path: sha256}`` of every file under ``roots`` (caches of compiled files skipped).

    Example:
        >>> before = fingerprint([PACKAGE])
        >>> changes(before, fingerprint([PACKAGE]))
        []
    """
    found = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Files added, removed or changed, one line each."""
    return ([f"added {p}" for p in sorted(after.keys() - before.keys())]
            + [f"removed {p}" for p in sorted(before.keys() - after.keys())]
            + [f"changed {p}" for p in sorted(before.keys() & after.keys())
               if before[p] != after[p]])
