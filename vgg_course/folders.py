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
import re
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS

from vgg_course import config, tables
from vgg_course.i18n import N_, _

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
            problems += [_("{path}: {reason} (strict mode refuses skipped files)").format(
                path=s.path, reason=s.reason) for s in self.skipped]
        if problems:
            raise DataError(_("The image folder {root} cannot be used:").format(root=self.root)
                            + "\n  - " + "\n  - ".join(problems))
        return self

    @property
    def shown_root(self) -> str:
        """The folder as a notebook shows it (``Settings.shown``); ``root`` is the full path."""
        return config.settings().shown(self.root)

    @property
    def shown_layout(self) -> str:
        """``layout`` in the current language (``layout`` itself stays English: data)."""
        split = re.fullmatch(r"one folder, (.+) to val by seed (.+)", self.layout)
        if split is None:
            return self.layout
        return _("one folder, {fraction} to val by seed {seed}").format(
            fraction=split[1], seed=split[2])

    def summary(self) -> str:
        """Which files were checked, and how: one sentence for a log or a results file."""
        used = self.total("train") + self.total("val")
        return _("{files} files under {root} ({layout}) were each opened and fully decoded "
                 "before training: {train} train and {val} val images used, {skipped} "
                 "skipped.").format(files=used + len(self.skipped), root=self.shown_root,
                                    layout=self.shown_layout, train=self.total("train"),
                                    val=self.total("val"), skipped=len(self.skipped))

    def _table(self) -> tables.Table:
        rows = []
        for split in self.counts:
            row = [self.counts[split].get(c, 0) for c in self.classes]
            rows.append([split, *map(str, row), str(sum(row))])
        return tables.Table([_("split"), *self.classes, _("total")], rows,
                            right=range(1, len(self.classes) + 2))

    def __repr__(self) -> str:
        lines = [_("Image folder {root} ({layout})").format(root=self.shown_root,
                                                            layout=self.shown_layout),
                 self._table().text()]
        lines.append((_("Skipped {n} file(s):") if self.skipped else _("Skipped {n} file(s)."))
                     .format(n=len(self.skipped)))
        lines += [f"  {s.path}: {s.reason}" for s in self.skipped[:_SHOWN]]
        if len(self.skipped) > _SHOWN:
            lines.append("  " + _("... and {n} more (see report.skipped)").format(
                n=len(self.skipped) - _SHOWN))
        if self.errors:
            lines.append(_("Problems (fix these before training):"))
            lines += [f"  - {e}" for e in self.errors]
        else:
            lines.append(_("No problems: ready to train."))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        title = esc(_("Image folder"))
        skipped = esc(_("Skipped {n} file(s)").format(n=len(self.skipped)))
        parts = [f"<b>{title}</b> <code>{esc(self.shown_root)}</code> ({esc(self.shown_layout)})",
                 self._table().html(),
                 f"<b>{skipped}</b>"]
        if self.skipped:
            more = len(self.skipped) - _SHOWN
            and_more = esc(_("... and {n} more (see report.skipped)").format(n=more))
            parts.append("<ul>" + "".join(f"<li><code>{esc(s.path)}</code>: {esc(s.reason)}</li>"
                                          for s in self.skipped[:_SHOWN])
                         + (f"<li>{and_more}</li>" if more > 0 else "")
                         + "</ul>")
        if self.errors:
            problems = esc(_("Problems (fix these before training):"))
            parts.append(f'<b style="color:#b00020">{problems}</b><ul>'
                         + "".join(f"<li>{esc(e)}</li>" for e in self.errors) + "</ul>")
        else:
            ready = esc(_("No problems: ready to train."))
            parts.append(f'<span style="color:#2e7d32">{ready}</span>')
        return "<div>" + "<br>".join(parts) + "</div>"


# (path, size, mtime_ns) -> None if the image decodes, else the reason it does not (a message
# and its fields, translated when returned: the language may change between two checks).
_checked: dict[tuple[str, int, int], tuple[str, dict] | None] = {}


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
        return _("hidden file")
    ext = os.path.splitext(name)[1].lower()
    if ext not in IMG_EXTENSIONS:
        return _("'{ext}' is not a file type ImageFolder loads ({extensions})").format(
            ext=ext or name, extensions=", ".join(IMG_EXTENSIONS))
    stat = os.stat(path)
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _checked:
        _checked[key] = _decode_problem(path)
    problem = _checked[key]
    return None if problem is None else _(problem[0]).format(**problem[1])


def _decode_problem(path: str) -> tuple[str, dict] | None:
    """``None`` if the image decodes, else why not: a message to translate and its fields."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))  # JPEG: fast DCT scaling
            img.load()  # decodes every byte: truncated or corrupt data raises here
            if img.width < 1 or img.height < 1:
                return N_("has no pixels"), {}
    except Exception as exc:  # UnidentifiedImageError, OSError (truncated), DecompressionBombError...
        detail = str(exc).splitlines()[0] if str(exc) else ""
        if type(exc).__name__ == "UnidentifiedImageError":
            return N_("cannot be read as an image (UnidentifiedImageError)"), {}
        return (N_("corrupt or truncated image ({error_type}: {detail})"),
                {"error_type": type(exc).__name__, "detail": detail})
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
        report.errors.append(_("{root} does not exist.").format(root=root))
        return report
    if not root.is_dir():
        report.errors.append(_("{root} is a file, not a folder of images.").format(root=root))
        return report
    if val_fraction is None:
        _validate_split_layout(report, root)
    else:
        _validate_one_folder(report, root, val_fraction, seed)
    return report


def _validate_split_layout(report: FolderReport, root: Path) -> None:
    missing = [s for s in SPLITS if not (root / s).is_dir()]
    if missing:
        found = ", ".join(_class_dirs(root)) or _("no folders")
        problem = _(
            "{root} has no train/ and no val/ folder (it has: {found}). Expected "
            "root/train/<class>/... and root/val/<class>/...; if your images are in one folder of "
            "class folders, pass val_fraction=0.2 to split them by a seed."
        ) if len(missing) == 2 else _(
            "{root} has no {split}/ folder (it has: {found}). Expected "
            "root/train/<class>/... and root/val/<class>/...; if your images are in one folder of "
            "class folders, pass val_fraction=0.2 to split them by a seed.")
        report.errors.append(problem.format(root=root, split=missing[0], found=found))
        return
    good = {s: _scan(report, root, root / s) for s in SPLITS}
    report.classes = list(good["train"])
    for s in SPLITS:
        report.counts[s] = {c: len(v) for c, v in good[s].items()}
        report.files[s] = [p for c in report.classes for p in good[s].get(c, [])]
    extra = sorted(set(good["val"]) - set(good["train"]))
    if extra:
        report.errors.append(_("val/ has class(es) {classes} that train/ lacks: the model cannot "
                               "learn them. Add train images or remove those val folders.")
                             .format(classes=extra))
    lacking = sorted(set(good["train"]) - set(good["val"]))
    if lacking:
        report.errors.append(_("val/ has no folder for class(es) {classes}: train/ and val/ need "
                               "the same class folders, or their label numbers would not match.")
                             .format(classes=lacking))
    _check_classes(report, report.counts)


def _validate_one_folder(report: FolderReport, root: Path, val_fraction: float, seed: int) -> None:
    if not 0 < val_fraction < 1:
        report.errors.append(_("val_fraction must be between 0 and 1, not {val_fraction}.")
                             .format(val_fraction=val_fraction))
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
            report.errors.append(_("{cls}/ has a single usable image: it cannot be in both "
                                   "splits.").format(cls=cls))
    for cls, paths in good.items():  # keep ImageFolder's order within each split
        report.files["train"] += [p for p in paths if p not in val_files]
        report.files["val"] += [p for p in paths if p in val_files]
    if (root / "train").is_dir() and (root / "val").is_dir():
        report.errors.append(_("{root} already has train/ and val/: leave out val_fraction.")
                             .format(root=root))
    _check_classes(report, {"": {c: len(p) for c, p in good.items()}})


def _check_classes(report: FolderReport, counts: dict[str, dict[str, int]]) -> None:
    if not report.classes:
        report.errors.append(_("{root} has no class folders: put each class's images in a "
                               "folder named after the class.").format(root=report.root))
    elif len(report.classes) == 1:
        report.errors.append(_("only one class ('{cls}'): a classifier needs at least two class "
                               "folders.").format(cls=report.classes[0]))
    for split, per_class in counts.items():
        for cls, n in per_class.items():
            if n == 0:
                where = f"{split}/{cls}" if split else cls
                report.errors.append(_("{where}/ has no usable images (empty, or every file "
                                       "was skipped).").format(where=where))
