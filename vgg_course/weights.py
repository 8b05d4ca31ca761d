"""VGG16 weight files: the torchvision cache, installs from a local copy, verification.

Pretrained weights live where torchvision looks for them,
``$TORCH_HOME/hub/checkpoints/vgg16-397923af.pth``. A classroom downloads the 528 MiB file
once and installs it on every machine from a USB stick or a shared drive with
``python -m vgg_course weights install PATH``. Every file is checked against its full
SHA-256 and opened with ``torch.load(weights_only=True)``, which refuses pickles that
would run code; a cached file is re-verified before use, because torchvision checks the
hash only while downloading.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn
from torchvision.models import VGG16_Weights, WeightsEnum, vgg16

from vgg_course import downloads
from vgg_course.i18n import _

DEFAULT_WEIGHTS = VGG16_Weights.IMAGENET1K_V1
_WIDTH = 100  # a student's error fits on one screen: at most 15 lines of this many characters

# file name -> (SHA-256, size in bytes). torchvision's file names carry only a hash prefix.
KNOWN_FILES: dict[str, tuple[str, int]] = {
    "vgg16-397923af.pth": (
        "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0",
        553_433_881,
    ),
}


class WeightsError(RuntimeError):
    """A weights file is missing, corrupt, or not the expected model's weights."""


class WeightsUnavailableError(WeightsError):
    """The pretrained weights are not cached and could not be downloaded.

    In a notebook, IPython shows ``_render_traceback_()`` instead of a traceback: the message
    (what happened, then the ways out) is all a student needs, and it fits on one screen.

    Example:
        >>> WeightsUnavailableError("no file; ways out: ...")._render_traceback_()
        ['WeightsUnavailableError: no file; ways out: ...']
    """

    def _render_traceback_(self) -> list[str]:
        return f"{type(self).__name__}: {self}".splitlines()


def cache_dir() -> Path:
    """torchvision's checkpoint folder: ``$TORCH_HOME/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def shown(path: str | os.PathLike) -> str:
    """A path as a notebook shows it: ``$TORCH_HOME/...``, ``~/...``, or in full elsewhere.

    Stored outputs travel to other machines, so they never show the home folder of the one
    that made them; the full path stays in ``status().path`` and in error messages.

    Example:
        >>> shown(Path.home() / "Downloads" / "vgg16-397923af.pth")
        '~/Downloads/vgg16-397923af.pth'
    """
    path = Path(path)
    torch_home = os.environ.get("TORCH_HOME")
    folders = (("$TORCH_HOME", torch_home and Path(torch_home).expanduser()), ("~", Path.home()))
    for name, folder in folders:
        if folder and path.is_relative_to(folder):
            rest = path.relative_to(folder).as_posix()
            return name if rest == "." else f"{name}/{rest}"
    return str(path)


def file_name(weights: WeightsEnum = DEFAULT_WEIGHTS) -> str:
    return weights.url.rsplit("/", 1)[-1]


def cache_path(weights: WeightsEnum = DEFAULT_WEIGHTS) -> Path:
    """Where torchvision finds (or would download) the weights file."""
    return cache_dir() / file_name(weights)


def expected(weights: WeightsEnum = DEFAULT_WEIGHTS) -> tuple[str, int]:
    """The (SHA-256, size) the weights file must have.

    Test-only hook: ``VGG_COURSE_TEST_WEIGHTS_SHA256="<sha256>:<size>"`` names a stand-in
    file (random VGG16 weights saved under torchvision's file name) that the tests run every
    lesson with, because VGG16's real file cannot be had where they run. The file must still be
    a safe ``state_dict`` with VGG16's keys and shapes.
    """
    hook = os.environ.get("VGG_COURSE_TEST_WEIGHTS_SHA256", "")
    if hook and weights == DEFAULT_WEIGHTS:
        sha, _sep, size = hook.partition(":")
        return sha.strip().lower(), int(size)
    try:
        return KNOWN_FILES[file_name(weights)]
    except KeyError:
        raise WeightsError(_("The kit has no checksum for {name}.").format(
            name=file_name(weights))) from None


def ways_out(weights: WeightsEnum = DEFAULT_WEIGHTS) -> str:
    """The three ways to get going when the pretrained weights are missing, the quickest first.

    Seven lines: with the one above them, a student's error fits on one screen.
    """
    sha, size = expected(weights)
    name = file_name(weights)
    return _(
        "Ways out:\n"
        "  1. Practise now with random weights (shapes and counts are real, predictions are not):\n"
        "       vc.config.use(\"practice\")   in a cell, no restart   (in a shell: VGG_COURSE_PRACTICE=1)\n"
        "  2. Install {name} ({size} bytes, SHA-256 {sha}...) from a USB stick or\n"
        "     a shared drive:   python -m vgg_course weights install /path/to/{name}\n"
        "  3. Connect to the internet and run it again: it downloads {mb} MB from\n"
        "     {url}"
    ).format(name=name, size=f"{size:,}", sha=sha[:16], mb=f"{size / 1e6:,.0f}", url=weights.url)


_verified: dict[tuple[str, int, int], bool] = {}


def verify_cached(path: Path, weights: WeightsEnum = DEFAULT_WEIGHTS, *, progress: bool = False) -> Path:
    """Re-check a cached file's size and SHA-256 (once per process per file version)."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        sha, size = expected(weights)
        try:
            downloads.verify_file(path, sha, size=size, progress=progress)
        except downloads.ChecksumError as exc:
            raise WeightsError(
                _("The cached weights file is damaged: {error}\nDelete it and install it again.")
                .format(error=exc) + "\n" + ways_out(weights)
            ) from None  # the message holds the cause
        _verified[key] = True
    return path


def _check_state_dict(obj: object, arch: Callable[..., nn.Module], source: Path) -> dict:
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(_("{path} is not a state_dict (a dict of tensor names to tensors).")
                           .format(path=source))
    with torch.device("meta"):
        reference = arch(weights=None).state_dict()
    if obj.keys() != reference.keys():
        missing = sorted(reference.keys() - obj.keys())[:3]
        extra = sorted(obj.keys() - reference.keys())[:3]
        raise WeightsError(_("{path} does not hold {arch} weights (missing keys {missing}, "
                             "unexpected keys {extra}).").format(
            path=source, arch=arch.__name__, missing=missing, extra=extra))
    for key, tensor in obj.items():
        if tensor.shape != reference[key].shape:
            raise WeightsError(_("{path}: {key} has shape {shape}, {arch} needs {needed}.").format(
                path=source, key=key, shape=tuple(tensor.shape), arch=arch.__name__,
                needed=tuple(reference[key].shape)))
    return obj


def read_state_dict(path: str | os.PathLike, *, arch: Callable[..., nn.Module] = vgg16) -> dict:
    """Load a weights file safely (``weights_only=True``) and check its keys and shapes."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError from zip reading, EOFError...
        raise WeightsError(_(
            "{path} could not be read as safe PyTorch weights ({error_type}: {detail}). It may "
            "be truncated, or a pickle that would run code, which torch.load(weights_only=True) "
            "refuses."
        ).format(path=path, error_type=type(exc).__name__,
                 detail=str(exc).splitlines()[0] if str(exc) else "")) from exc
    return _check_state_dict(obj, arch, path)


def install(
    src: str | os.PathLike,
    weights: WeightsEnum = DEFAULT_WEIGHTS,
    *,
    arch: Callable[..., nn.Module] = vgg16,
    progress: bool = False,
) -> Path:
    """Install a local copy of a weights file into torchvision's cache, verified first.

    The size, the full SHA-256 and the contents (a safe state_dict with the right keys and
    shapes) are checked before anything is written; a refused file leaves the cache as it
    was. The installed copy is its owner's to replace or delete, even from a read-only source.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        WeightsError: the file is not the expected weights; the message says why.
    """
    src = Path(src).expanduser()
    if not src.is_file():
        raise FileNotFoundError(_("No weights file at {path}.").format(path=src))
    sha, size = expected(weights)
    try:
        downloads.verify_file(src, sha, size=size, progress=progress)
    except downloads.ChecksumError as exc:
        raise WeightsError(_("Refused {src}: {error} Nothing was installed.").format(
            src=src, error=exc)) from exc
    read_state_dict(src, arch=arch)
    return downloads.install_file(src, cache_path(weights))


def load_state_dict(
    weights: WeightsEnum = DEFAULT_WEIGHTS,
    *,
    arch: Callable[..., nn.Module] = vgg16,
    download: bool = True,
    progress: bool = True,
) -> dict:
    """Return the pretrained state_dict: from the cache (re-verified) or downloaded once.

    Raises:
        WeightsUnavailableError: not cached and the download failed or was not allowed;
            the message gives the ways out.
        WeightsError: the cached file is damaged.
    """
    path = cache_path(weights)
    if not path.is_file():
        if not download:
            raise WeightsUnavailableError(
                _("The pretrained VGG16 weights are not on this machine: no file\n  {path}")
                .format(path=path) + "\n" + ways_out(weights))
        sha, size = expected(weights)
        try:
            downloads.download(weights.url, path, sha256=sha, size=size, progress=progress)
        except (downloads.DownloadError, downloads.ChecksumError) as exc:
            why = exc.__cause__ if isinstance(exc, downloads.DownloadError) and exc.__cause__ else exc
            failed = textwrap.shorten(
                _("and downloading them failed: {why}").format(why=why), _WIDTH)
            raise WeightsUnavailableError(  # from None: a student reads one short error, no chain
                _("The pretrained VGG16 weights are not on this machine: no file\n  {path}")
                .format(path=path) + f"\n{failed}\n" + ways_out(weights)) from None
    verify_cached(path, weights, progress=progress)
    return read_state_dict(path, arch=arch)


@dataclass(frozen=True)
class WeightsStatus:
    """Whether the pretrained weights are in the cache; a cell shows what to do next."""

    path: Path
    present: bool
    size_ok: bool
    advice: str

    @property
    def ready(self) -> bool:
        return self.present and self.size_ok

    def __repr__(self) -> str:  # the full path is .path; a stored output shows it relative
        if self.ready:
            return _("Pretrained weights found: {path} (hash checked when loaded)").format(
                path=shown(self.path))
        problem = (_("Pretrained weights file has the wrong size: {path}") if self.present
                   else _("Pretrained weights file is missing: {path}"))
        return problem.format(path=shown(self.path)) + f"\n{self.advice}"


def status(weights: WeightsEnum = DEFAULT_WEIGHTS) -> WeightsStatus:
    """Say whether the weights file is cached (a cheap size check; loading checks the hash)."""
    path = cache_path(weights)
    present = path.is_file()
    size_ok = present and path.stat().st_size == expected(weights)[1]
    return WeightsStatus(path, present, size_ok, ways_out(weights))
