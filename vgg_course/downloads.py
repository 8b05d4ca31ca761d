"""Hashing, verified downloads and safe installs of files (weights, datasets).

Every file the kit fetches or copies goes through here, so one set of rules holds
everywhere: the full SHA-256 is checked before a file is used, a partial download never
leaves a file that looks complete (it is written to ``*.part`` and renamed only once
verified), and a failed install writes nothing at the destination.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A file's size or SHA-256 is not the expected one."""


class DownloadError(OSError):
    """A file could not be downloaded."""


def sha256_file(path: str | os.PathLike, *, progress: bool = False) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> _ = p.write_bytes(b"abc")
        >>> sha256_file(p)[:16]
        'ba7816bf8f01cfea'
    """
    path = Path(path)
    digest = hashlib.sha256()
    with open(path, "rb") as fh, tqdm(
        total=path.stat().st_size, unit="B", unit_scale=True, desc=f"SHA-256 {path.name}",
        disable=not progress, leave=False,
    ) as bar:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def verify_file(
    path: str | os.PathLike, sha256: str, *, size: int | None = None, progress: bool = False
) -> Path:
    """Check a file's size (cheap, first) and full SHA-256; return its path or raise.

    Raises:
        FileNotFoundError: the file does not exist.
        ChecksumError: the size or the hash differs; the message names both values.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No file at {path}.")
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError(
            f"{path} has {actual_size:,} bytes but {size:,} were expected: the file is "
            f"{'truncated (an interrupted copy or download?)' if actual_size < size else 'not the expected file'}."
        )
    actual = sha256_file(path, progress=progress)
    if actual != sha256.lower():
        raise ChecksumError(
            f"{path} has SHA-256 {actual}, expected {sha256.lower()}: the file is corrupt "
            "or not the expected file."
        )
    return path


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str,
    size: int | None = None,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download ``url`` to ``dest``, verified; nothing appears at ``dest`` unless it is right.

    The bytes go to ``dest + '.part'``; only after the size and SHA-256 match is the part
    file renamed into place. A file already at ``dest`` with the right hash is kept.

    Raises:
        DownloadError: the server could not be reached or answered with an error.
        ChecksumError: the downloaded bytes are not the expected file (nothing is kept).
    """
    dest = Path(dest)
    if dest.is_file():
        try:
            return verify_file(dest, sha256, size=size)
        except ChecksumError:
            dest.unlink()  # a stale or corrupt copy: fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or size
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"Could not download {url}: {exc}") from exc
    try:
        verify_file(part, sha256, size=size)
    except ChecksumError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


def install_file(src: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Copy an already verified file to ``dest`` atomically (temp file + rename).

    A copy interrupted half-way leaves only a temporary file in the destination folder,
    never a truncated file under the final name.
    """
    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest
