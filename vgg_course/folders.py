"""Checking an image folder before training: images per class, skipped files, layout errors.

Each file is opened and decoded once, and corrupt or non-image files are reported by name
and skipped (or refused with ``strict=True``), so no ``DataLoader`` worker ever crashes on
a bad JPEG half-way through an epoch. Structural problems (one class, an empty class
folder, a ``val/`` class that ``train/`` lacks, a missing ``train/`` or ``val/``) raise
:class:`DataError` before training starts.

Layouts: ``root/train/<class>/*`` and ``root/val/<class>/*``, or one folder
``root/<class>/*`` split into train/val by a seed (``val_fraction=0.2``).
"""

from __future__ import annotations

import html
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS

from vgg_course import config, tables

SPLITS = ("train", "val")
_SHOWN = 20  # skipped files listed in a cell; the report keeps all of them


class DataError(ValueError):
    """An image folder cannot be used for training; the message lists every problem."""


@dataclass(frozen=True)
class Skipped:
    """A file left out of the dataset, and why."""

    path: str  # relative to the dataset root, with "/" separators
    reason: str


@dataclass
class FolderReport:
    """What :func:`validate_folder` found: images per class and split, skipped files, problems.

    Displays as a table in a notebook cell; ``report.ok`` says whether training can start.
    """

    root: Path
    layout: str  # "train/ + val/" or "one folder, split by seed ..."
    classes: list[str]
    counts: dict[str, dict[str, int]]  # split -> class -> usable images
    skipped: list[Skipped] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    files: dict[str, list[str]] = field(default_factory=dict, repr=False)  # split -> paths

    @property
    def ok(self) -> bool:
        return not self.errors

    def total(self, split: str) -> int:
        return sum(self.counts.get(split, {}).values())

    def raise_for_problems(self, *, strict: bool = False) -> "FolderReport":
        """Raise :class:`DataError` for structural problems (and, if ``strict``, skipped files)."""
        problems = list(self.errors)
        if strict and self.skipped:
            problems += [f"{s.path}: {s.reason} (strict mode refuses skipped files)"
                         for s in self.skipped]
        if problems:
            raise DataError(f"The image folder {self.root} cannot be used:\n  - "
                            + "\n  - ".join(problems))
        return self

    @property
    def shown_root(self) -> str:
        """The folder as a notebook shows it (``Settings.shown``); ``root`` is the full path."""
        return config.settings().shown(self.root)

    def summary(self) -> str:
        """Which files were checked, and how: one sentence for a log or a results file."""
        used = self.total("train") + self.total("val")
        return (f"{used + len(self.skipped)} files under {self.shown_root} ({self.layout}) were "
                f"each opened and fully decoded before training: {self.total('train')} train and "
                f"{self.total('val')} val images used, {len(self.skipped)} skipped.")

    def _table(self) -> tables.Table:
        rows = []
        for split in self.counts:
            row = [self.counts[split].get(c, 0) for c in self.classes]
            rows.append([split, *map(str, row), str(sum(row))])
        return tables.Table(["split", *self.classes, "total"], rows,
                            right=range(1, len(self.classes) + 2))

    def __repr__(self) -> str:
        lines = [f"Image folder {self.shown_root} ({self.layout})", self._table().text()]
        lines.append(f"Skipped {len(self.skipped)} file(s)" + (":" if self.skipped else "."))
        lines += [f"  {s.path}: {s.reason}" for s in self.skipped[:_SHOWN]]
        if len(self.skipped) > _SHOWN:
            lines.append(f"  ... and {len(self.skipped) - _SHOWN} more (see report.skipped)")
        if self.errors:
            lines.append("Problems (fix these before training):")
            lines += [f"  - {e}" for e in self.errors]
        else:
            lines.append("No problems: ready to train.")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<b>Image folder</b> <code>{esc(self.shown_root)}</code> ({esc(self.layout)})",
                 self._table().html(),
                 f"<b>Skipped {len(self.skipped)} file(s)</b>"]
        if self.skipped:
            more = len(self.skipped) - _SHOWN
            parts.append("<ul>" + "".join(f"<li><code>{esc(s.path)}</code>: {esc(s.reason)}</li>"
                                          for s in self.skipped[:_SHOWN])
                         + (f"<li>... and {more} more (see report.skipped)</li>" if more > 0 else "")
                         + "</ul>")
        if self.errors:
            parts.append('<b style="color:#b00020">Problems (fix these before training):</b><ul>'
                         + "".join(f"<li>{esc(e)}</li>" for e in self.errors) + "</ul>")
        else:
            parts.append('<span style="color:#2e7d32">No problems: ready to train.</span>')
        return "<div>" + "<br>".join(parts) + "</div>"


# (path, size, mtime_ns) -> None if the image decodes, else the reason it does not.
_checked: dict[tuple[str, int, int], str | None] = {}


def check_image(path: str | os.PathLike) -> str | None:
    """Return ``None`` if ``path`` is an image ImageFolder loads and PIL fully decodes, else why not.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "notes.jpg"
        >>> _ = p.write_text("not a picture")
        >>> check_image(p)
        'cannot be read as an image (UnidentifiedImageError)'
    """
    path = str(path)
    name = os.path.basename(path)
    if name.startswith("."):
        return "hidden file"
    ext = os.path.splitext(name)[1].lower()
    if ext not in IMG_EXTENSIONS:
        return (f"'{ext or name}' is not a file type ImageFolder loads "
                f"({', '.join(IMG_EXTENSIONS)})")
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _checked:
        _checked[key] = _decode_problem(path)
    return _checked[key]


def _decode_problem(path: str) -> str | None:
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))  # JPEG: fast DCT scaling
            img.load()  # decodes every byte: truncated or corrupt data raises here
            if img.width < 1 or img.height < 1:
                return "has no pixels"
    except Exception as exc:  # UnidentifiedImageError, OSError (truncated), DecompressionBombError...
        detail = str(exc).splitlines()[0] if str(exc) else ""
        if type(exc).__name__ == "UnidentifiedImageError":
            return "cannot be read as an image (UnidentifiedImageError)"
        return f"corrupt or truncated image ({type(exc).__name__}: {detail})"
    return None


def _class_dirs(folder: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _walk(root: Path, class_dir: str) -> list[str]:
    """The files ImageFolder would visit in ``root/class_dir``, in its order (see make_dataset)."""
    target = os.path.join(str(root), class_dir)
    return [os.path.join(r, f) for r, _, names in sorted(os.walk(target, followlinks=True))
            for f in sorted(names)]


def _scan(report: FolderReport, base: Path, split_root: Path) -> dict[str, list[str]]:
    """Check every file under ``split_root/<class>``; return class -> usable paths."""
    good: dict[str, list[str]] = {}
    for cls in _class_dirs(split_root):
        good[cls] = []
        for path in _walk(split_root, cls):
            reason = check_image(path)
            if reason is None:
                good[cls].append(path)
            else:
                report.skipped.append(Skipped(Path(path).relative_to(base).as_posix(), reason))
    return good


def validate_folder(root: str | os.PathLike, *, val_fraction: float | None = None,
                    seed: int = 0) -> FolderReport:
    """Check an image folder and every image in it; return a report (it does not raise).

    Args:
        root: a folder with ``train/<class>/`` and ``val/<class>/``, or, with
            ``val_fraction``, one folder of ``<class>/`` folders to split.
        val_fraction: split one folder: this fraction of each class goes to ``val``.
        seed: the seed of that split (same seed, same split).

    Example:
        >>> import vgg_course as vc, tempfile
        >>> root = vc.datasets.practice_dataset(tempfile.mkdtemp() + "/p")
        >>> validate_folder(root).counts["val"]
        {'ants': 20, 'bees': 20}
    """
    root = Path(root).expanduser().resolve()
    layout = "train/ + val/" if val_fraction is None else f"one folder, {val_fraction:.0%} to val by seed {seed}"
    report = FolderReport(root, layout, [], {})
    if not root.exists():
        report.errors.append(f"{root} does not exist.")
        return report
    if not root.is_dir():
        report.errors.append(f"{root} is a file, not a folder of images.")
        return report
    if val_fraction is None:
        _validate_split_layout(report, root)
    else:
        _validate_one_folder(report, root, val_fraction, seed)
    return report


def _validate_split_layout(report: FolderReport, root: Path) -> None:
    missing = [s for s in SPLITS if not (root / s).is_dir()]
    if missing:
        found = ", ".join(_class_dirs(root)) or "no folders"
        report.errors.append(
            f"{root} has no {' and no '.join(s + '/' for s in missing)} folder (it has: {found}). "
            "Expected root/train/<class>/... and root/val/<class>/...; if your images are in one "
            "folder of class folders, pass val_fraction=0.2 to split them by a seed.")
        return
    good = {s: _scan(report, root, root / s) for s in SPLITS}
    report.classes = list(good["train"])
    for s in SPLITS:
        report.counts[s] = {c: len(v) for c, v in good[s].items()}
        report.files[s] = [p for c in report.classes for p in good[s].get(c, [])]
    extra = sorted(set(good["val"]) - set(good["train"]))
    if extra:
        report.errors.append(f"val/ has class(es) {extra} that train/ lacks: the model cannot "
                             "learn them. Add train images or remove those val folders.")
    lacking = sorted(set(good["train"]) - set(good["val"]))
    if lacking:
        report.errors.append(f"val/ has no folder for class(es) {lacking}: train/ and val/ need "
                             "the same class folders, or their label numbers would not match.")
    _check_classes(report, report.counts)


def _validate_one_folder(report: FolderReport, root: Path, val_fraction: float, seed: int) -> None:
    if not 0 < val_fraction < 1:
        report.errors.append(f"val_fraction must be between 0 and 1, not {val_fraction}.")
        return
    good = _scan(report, root, root)
    report.classes = list(good)
    report.counts = {"train": {}, "val": {}}
    report.files = {"train": [], "val": []}
    val_files: set[str] = set()
    for cls, paths in good.items():
        shuffled = list(paths)
        random.Random(f"{seed}/{cls}").shuffle(shuffled)  # per class: a new class moves no others
        n_val = min(len(paths) - 1, max(1, round(len(paths) * val_fraction))) if len(paths) > 1 else 0
        val_files.update(shuffled[:n_val])
        report.counts["train"][cls] = len(paths) - n_val
        report.counts["val"][cls] = n_val
        if len(paths) == 1:
            report.errors.append(f"{cls}/ has a single usable image: it cannot be in both splits.")
    for cls, paths in good.items():  # keep ImageFolder's order within each split
        report.files["train"] += [p for p in paths if p not in val_files]
        report.files["val"] += [p for p in paths if p in val_files]
    if (root / "train").is_dir() and (root / "val").is_dir():
        report.errors.append(f"{root} already has train/ and val/: leave out val_fraction.")
    _check_classes(report, {"": {c: len(p) for c, p in good.items()}})


def _check_classes(report: FolderReport, counts: dict[str, dict[str, int]]) -> None:
    if not report.classes:
        report.errors.append(f"{report.root} has no class folders: put each class's images "
                             "in a folder named after the class.")
    elif len(report.classes) == 1:
        report.errors.append(f"only one class ('{report.classes[0]}'): a classifier needs at "
                             "least two class folders.")
    for split, per_class in counts.items():
        for cls, n in per_class.items():
            if n == 0:
                where = f"{split}/{cls}" if split else cls
                report.errors.append(f"{where}/ has no usable images (empty, or every file "
                                     "was skipped).")
