"""Zip files made in the tests: plain entries and symbolic links (for the unzipping tests)."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path


def make_zip(path: Path, entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    """Write ``entries`` (name -> bytes) and ``symlinks`` (name -> target) into a zip at ``path``."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path
