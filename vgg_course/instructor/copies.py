"""Every copy of the kit's instructor files a sandbox could read: what the grader hides from it.

The grader's sandbox sees the Python installation and the kit read-only. Any copy of the
kit's ``vgg_course/exercises/instructor`` folder in there (the solutions, the hidden cases,
their ``__pycache__``) must be covered, not only the grader's own: a second install of the
kit in ``site-packages``, a ``build/`` folder, a folder a ``.pth`` file or an editable
install points at, a wheel or an egg of the kit. :func:`instructor_copies` finds them by
walking every mounted folder, and by reading the import path, the ``.pth`` files and the
``vgg_course-*.dist-info/RECORD`` files of every site folder the sandbox can see.
"""

from __future__ import annotations

import functools
import os
import re
import site
import sys
from pathlib import Path
from typing import Sequence

_TAIL = ("vgg_course", "exercises", "instructor")
_ARCHIVE = re.compile(r"^vgg[_-]course.*\.(whl|egg|zip|pyz|tar\.gz|tgz)$", re.IGNORECASE)
_SYSTEM = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64")  # always mounted
_SKIP = {".git", "node_modules", ".mypy_cache", ".pytest_cache"}  # large, never importable


def instructor_copies(readable: Sequence[Path]) -> list[Path]:
    """The instructor folders (and kit archives) a sandbox that mounts ``readable`` could read.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     copy = Path(tmp, "lib", "site-packages", *_TAIL)
        ...     copy.mkdir(parents=True)
        ...     [p.relative_to(tmp).as_posix() for p in instructor_copies([Path(tmp)])]
        ['lib/site-packages/vgg_course/exercises/instructor']
    """
    return list(_find(tuple(sorted({str(Path(p).resolve()) for p in readable}))))


@functools.lru_cache(maxsize=8)
def _find(roots: tuple[str, ...]) -> tuple[Path, ...]:
    """Once per set of folders and process: walking a virtual environment takes a second."""
    visible = [Path(r) for r in roots if os.path.exists(r)]
    found: set[Path] = set()
    for root in visible:
        if not any(root.is_relative_to(s) for s in _SYSTEM):  # /usr: its site folders only
            found |= _walk(root)
    for folder in _site_folders(visible):
        found |= _in_folder(folder)
    return tuple(sorted(p for p in found
                        if any(p.is_relative_to(r) for r in [*visible, *map(Path, _SYSTEM)])))


def _walk(root: Path) -> set[Path]:
    found = set()
    for folder, names, files in os.walk(root):  # links are not followed
        here = Path(folder)
        if here.parts[-3:] == _TAIL:
            found.add(here)
            names.clear()
            continue
        found |= {here / f for f in files if _ARCHIVE.match(f)}
        if any(_is_info(n) for n in names):
            found |= _in_folder(here)  # a site folder: what its RECORDs list
        names[:] = [n for n in names if n not in _SKIP and not _is_info(n)]
    return found


def _is_info(name: str) -> bool:
    return name.lower().startswith(("vgg_course-", "vgg-course-")) and name.endswith(".dist-info")


def _site_folders(visible: list[Path]) -> set[Path]:
    """Where Python looks for packages: ``sys.path``, the site folders under each mounted
    folder and the system's, and every folder their ``.pth`` files name."""
    folders = {Path(p) for p in [*sys.path, *site.getsitepackages()] if p}
    for base in [*visible, Path("/usr"), Path("/usr/local")]:
        for pattern in ("lib/python3*/site-packages", "lib/python3*/dist-packages",
                        "lib/python3/dist-packages", "lib64/python3*/site-packages"):
            folders |= set(base.glob(pattern))
    for folder in list(folders):
        folders |= _pth_folders(folder)
    return {f.resolve() for f in folders if f.is_dir()}


def _pth_folders(folder: Path) -> set[Path]:
    """Folders named by ``folder``'s ``.pth`` files, and by setuptools' editable finders."""
    out = set()
    try:
        names = os.listdir(folder)
    except OSError:
        return out
    for name in names:
        if not name.endswith((".pth", ".egg-link")) and not (
                name.startswith("__editable__") and name.endswith(".py")):
            continue
        try:
            text = (folder / name).read_text(errors="replace")[:100_000]
        except OSError:
            continue
        if name.endswith(".py"):  # MAPPING = {'vgg_course': '/path/to/vgg_course'}
            out |= {Path(p).parent for p in re.findall(r"""['"](/[^'"]+)['"]""", text)}
            continue
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                out.add((folder / line) if not os.path.isabs(line) else Path(line))
    return out


def _in_folder(folder: Path) -> set[Path]:
    """The instructor folder of a kit installed in ``folder``, and every instructor file
    its ``vgg_course-*.dist-info/RECORD`` lists (wherever the install put it)."""
    found = set()
    copy = folder.joinpath(*_TAIL)
    if copy.is_dir():
        found.add(copy.resolve())
    try:
        infos = [n for n in os.listdir(folder) if _is_info(n)]
    except OSError:
        return found
    for info in infos:
        try:
            record = (folder / info / "RECORD").read_text(errors="replace")
        except OSError:
            continue
        for line in record.splitlines():
            path = line.split(",", 1)[0]
            if "exercises/instructor/" in path.replace("\\", "/"):
                target = (folder / path).resolve()
                found.add(target.parent if target.parent.parts[-3:] == _TAIL else target)
    return found
