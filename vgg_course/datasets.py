"""The course's datasets: a checksummed registry, safe download and install, practice data.

The ants/bees photos of the PyTorch transfer-learning tutorial are fetched once into the
data folder (``vc.config.settings().data_home``), checked against their SHA-256, and
extracted safely (``vc.downloads.safe_extract``: no zip entry may leave the target folder,
and a failed extraction leaves nothing that looks complete). An instructor installs them from a
USB stick with ``python -m vgg_course data install PATH`` (the zip, checked by hash, or
the unpacked folder, checked by structure). ``vc.config.use(data_dir=...)`` (default
``VGG_COURSE_DATA``) names an unpacked folder and wins when set. ``practice_dataset()``
draws a small ants/bees look-alike set offline.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vgg_course import config, downloads, folders, practice
from vgg_course.i18n import N_, _


@dataclass(frozen=True)
class DatasetSpec:
    """One downloadable dataset: where it is, what its zip must hash to, what it holds."""

    name: str
    url: str
    sha256: str
    size: int
    folder: str  # the unpacked folder's name in the data folder (and the zip's top folder)
    classes: tuple[str, ...]


REGISTRY: dict[str, DatasetSpec] = {
    "hymenoptera": DatasetSpec(
        name="hymenoptera",
        url="https://download.pytorch.org/tutorial/hymenoptera_data.zip",
        sha256="fbc41b31d544714d18dd1230b1e2b455e1557766e13e67f9f5a7a23af7c02209",
        size=47_286_322,
        folder="hymenoptera_data",
        classes=("ants", "bees"),
    ),
}

class DatasetError(RuntimeError):
    """A dataset file or folder is missing, corrupt, unsafe, or not the expected dataset."""


class DatasetUnavailableError(DatasetError):
    """The dataset is not installed and could not be downloaded."""


def spec(name: str = "hymenoptera") -> DatasetSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise DatasetError(_("Unknown dataset {name}; known: {known}.").format(
            name=repr(name), known=", ".join(REGISTRY))) from None


def cache_path(name: str = "hymenoptera") -> Path:
    """Where the unpacked dataset lives in the data folder."""
    return config.settings().data_home / spec(name).folder


def zip_path(name: str = "hymenoptera") -> Path:
    """Where the downloaded zip is kept (so it is fetched only once)."""
    return config.settings().data_home / spec(name).url.rsplit("/", 1)[-1]


def ways_out(name: str = "hymenoptera") -> str:
    s = spec(name)
    return _(
        "Ways out:\n"
        "  1. Download it (needs internet, {size} bytes): python -m vgg_course data download\n"
        "  2. Install a local copy (USB stick, shared drive), the zip or the unpacked folder:\n"
        "       python -m vgg_course data install /path/to/{zip}\n"
        "  3. Point the kit at an unpacked {folder} folder (train/ and val/ inside):\n"
        "       vc.config.use(data_dir=\"/path/to/{folder}\")   (or set VGG_COURSE_DATA)\n"
        "  4. Practise offline with generated images: vc.config.use(\"quick\")   (or VGG_COURSE_QUICK=1)"
    ).format(size=f"{s.size:,}", zip=zip_path(name).name, folder=s.folder)


def _dataset_root(folder: Path) -> Path:
    """The folder with train/ and val/: ``folder`` itself or its single top folder."""
    if (folder / "train").is_dir():
        return folder
    tops = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))]
    if len(tops) == 1 and (tops[0] / "train").is_dir():
        return tops[0]
    return folder


def _check_structure(root: Path, s: DatasetSpec) -> folders.FolderReport:
    report = folders.validate_folder(root)
    if report.ok and tuple(report.classes) != s.classes:
        report.errors.append(_("classes are {found}, {name} has {expected}.").format(
            found=report.classes, name=s.name, expected=list(s.classes)))
    return report


def _move_into_place(new: Path, dest: Path) -> Path:
    """Rename ``new`` to ``dest``; an existing ``dest`` is replaced only once ``new`` is ready."""
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        os.replace(dest, old)
    os.replace(new, dest)
    if old is not None:  # an earlier copy may be read-only: make it deletable first
        downloads.make_writable(old)
        shutil.rmtree(old, ignore_errors=True)
    return dest


def _install_zip(zip_file: Path, s: DatasetSpec, dest: Path) -> Path:
    staging = dest.with_name(f".{dest.name}.unzip-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        downloads.safe_extract(zip_file, staging)
    except downloads.ArchiveError as exc:
        raise DatasetError(str(exc)) from exc
    try:
        root = _dataset_root(staging)
        report = _check_structure(root, s)
        if not report.ok:
            raise DatasetError(_("{zip} does not hold the {name} dataset:").format(
                zip=zip_file, name=s.name) + "\n" + "\n".join(f"  - {e}" for e in report.errors))
        _move_into_place(root, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


# ---------------------------------------------------------------- install and download


def install(path: str | os.PathLike, name: str = "hymenoptera", *, progress: bool = False) -> Path:
    """Install a dataset from a local zip (checked by SHA-256) or an unpacked folder.

    A folder is checked by structure (``train/`` and ``val/`` with the dataset's class
    folders, every image decoded) and copied. Nothing at the destination changes unless
    the new copy is complete. The copy is its owner's to change or delete, even from a
    read-only source (``vc.downloads.make_writable``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DatasetError: the zip's hash is wrong, it is corrupt or unsafe, or the folder is
            not the dataset; the message says why.
    """
    s, src, dest = spec(name), Path(path).expanduser(), cache_path(name)
    if not src.exists():
        raise FileNotFoundError(_("No file or folder at {path}.").format(path=src))
    if src.is_dir():
        root = _dataset_root(src)
        report = _check_structure(root, s)
        if not report.ok:
            raise DatasetError(_("Refused {src}: it is not the {name} dataset. Nothing was "
                                 "installed.").format(src=src, name=s.name)
                               + "\n" + "\n".join(f"  - {e}" for e in report.errors))
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
        try:
            shutil.copytree(root, tmp, dirs_exist_ok=True)  # copies modes, read-only ones too
            downloads.make_writable(tmp)
            return _move_into_place(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    try:
        downloads.verify_file(src, s.sha256, size=s.size, progress=progress)
    except downloads.ChecksumError as exc:
        raise DatasetError(_("Refused {src}: {error} Nothing was installed.").format(
            src=src, error=exc)) from exc
    return _install_zip(src, s, dest)


def download(name: str = "hymenoptera", *, progress: bool = True) -> Path:
    """Download the dataset's zip once (verified), extract it safely; return the folder.

    Raises:
        DatasetUnavailableError: the download failed or gave the wrong bytes.
    """
    return _download(name, progress=progress)


def _download(name: str, *, progress: bool) -> Path:
    s, dest = spec(name), cache_path(name)
    try:
        zf = downloads.download(s.url, zip_path(name), sha256=s.sha256, size=s.size, progress=progress)
    except (downloads.DownloadError, downloads.ChecksumError) as exc:
        raise DatasetUnavailableError(_("Downloading {name} failed:\n  {error}").format(
            name=s.name, error=exc) + "\n" + ways_out(name)) from None
    return _install_zip(zf, s, dest)


def hymenoptera(*, download: bool = True) -> Path:
    """The ants/bees photos: the settings' ``data_dir``, else the data folder, else downloaded.

    Raises:
        DatasetError: ``data_dir`` (``VGG_COURSE_DATA``) is set but has no ``train/`` and ``val/``.
        DatasetUnavailableError: not installed, and the download failed or was not allowed.
    """
    configured = config.settings().data_dir
    if configured is not None:
        if not ((configured / "train").is_dir() and (configured / "val").is_dir()):
            raise DatasetError(_("data_dir (VGG_COURSE_DATA) is {folder}, which has no train/ "
                                 "and val/: vc.config.use(data_dir=...) the unpacked "
                                 "hymenoptera_data.").format(folder=configured))
        return configured
    dest = cache_path("hymenoptera")
    if (dest / "train").is_dir() and (dest / "val").is_dir():
        return dest
    if not download:
        raise DatasetUnavailableError(_("The ants/bees photos are not in {folder}.").format(
            folder=dest) + "\n" + ways_out())
    return _download("hymenoptera", progress=True)


def course_dataset() -> Path:
    """The dataset the lessons use: practice images in quick mode, the ants/bees photos otherwise.

    It follows ``vc.config.settings()`` at each call: ``vc.config.use(mode)`` switches it.

    Example:
        >>> import tempfile
        >>> with config.use("quick", data_home=tempfile.mkdtemp()):
        ...     course_dataset().name
        'seed-0'
    """
    return practice_dataset() if config.settings().quick else hymenoptera()


# ---------------------------------------------------------------- practice data

def practice_dataset(root: str | os.PathLike | None = None, *, seed: int = 0) -> Path:
    """Generate (once) a small offline ants/bees look-alike dataset; return its folder.

    Cartoon insects on textured backgrounds, 96 px JPEGs: 40 train + 20 val images per
    class (``ants``: dark three-part bodies on soil, grass or stone; ``bees``: yellow
    with black stripes among flowers or sky), plus an ``imageNotFound.gif`` placeholder
    in ``train/ants`` that ImageFolder skips, as in the real photos. The same seed gives
    byte-identical files; it takes about a second and is reused once made.

    Args:
        root: where to put it; default ``<data_home>/practice/seed-<seed>``.
        seed: what to draw.

    Raises:
        DatasetError: ``root`` exists and is not a practice dataset (it is never overwritten).

    Example:
        >>> import tempfile
        >>> root = practice_dataset(tempfile.mkdtemp() + "/p", seed=1)
        >>> sorted(p.name for p in (root / "train").iterdir())
        ['ants', 'bees']
    """
    root = Path(root).expanduser() if root is not None else (
        config.settings().data_home / "practice" / f"seed-{seed}")
    manifest = root / ".practice.json"
    if root.exists():
        try:
            found = json.loads(manifest.read_text())
        except (OSError, ValueError):
            if any(root.iterdir()):
                raise DatasetError(_("{folder} exists and is not a practice dataset; choose "
                                     "another folder (it will not be overwritten).").format(
                    folder=root)) from None
            found = None
        if found and found.get("version") == practice.VERSION and found.get("seed") == seed:
            return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".part", dir=root.parent))
    try:
        practice.write(tmp, seed)
        _move_into_place(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


# ---------------------------------------------------------------- status and CLI


_SOURCES = {"data_dir": "data_dir", "data folder": N_("data folder"), "missing": N_("missing")}


@dataclass(frozen=True)
class DatasetStatus:
    """Where the ants/bees photos come from, or what to do when they are missing."""

    source: str  # "data_dir" (vc.config.use / VGG_COURSE_DATA), "data folder" or "missing"
    path: Path
    ready: bool
    advice: str

    def __repr__(self) -> str:
        source = _(_SOURCES.get(self.source, self.source))  # data: shown translated
        if self.ready:
            return _("Ants/bees photos ({source}): {path}").format(source=source, path=self.path)
        return _("Ants/bees photos not found ({source}): {path}").format(
            source=source, path=self.path) + f"\n{self.advice}"


def status() -> DatasetStatus:
    """Say where ``hymenoptera()`` would find the photos (cheap: checks folders only)."""
    configured = config.settings().data_dir
    if configured is not None:
        ok = (configured / "train").is_dir() and (configured / "val").is_dir()
        return DatasetStatus("data_dir", configured, ok,
                             _("data_dir must name a folder with train/ and val/.") + "\n"
                             + ways_out())
    dest = cache_path()
    ok = (dest / "train").is_dir() and (dest / "val").is_dir()
    return DatasetStatus("data folder" if ok else "missing", dest, ok, ways_out())
