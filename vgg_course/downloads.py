"""Hashing, verified downloads, safe installs and safe unzipping of files (weights, datasets).

Every file the kit fetches, copies or unzips goes through here, so one set of rules holds
everywhere: the full SHA-256 is checked before a file is used, a partial download never
leaves a file that looks complete (it is written to ``*.part`` and renamed only once
verified), a failed install writes nothing at the destination, and no zip entry may leave
its target folder (``../``, absolute paths, backslashes and symlinks are refused). Every copy
is its owner's to change or delete (``make_writable``), even when the source was read-only
(a CD, a mounted share, a zip of read-only files, a restrictive umask). Nothing
downloads unannounced: a download first prints one line (to stderr) with its size in MB and
where it goes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from vgg_course.i18n import _

_CHUNK = 1 << 20
MAX_UNPACKED_BYTES = 4 << 30  # refuse zips that claim to unpack to more (a zip bomb)


class ChecksumError(ValueError):
    """A file's size or SHA-256 is not the expected one."""


class DownloadError(OSError):
    """A file could not be downloaded."""


class ArchiveError(ValueError):
    """A zip cannot be extracted safely: corrupt, unsafe entries, too large, or a used target."""


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
        raise FileNotFoundError(_("No file at {path}.").format(path=path))
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError((
            _("{path} has {size} bytes but {expected} were expected: the file is truncated (an "
              "interrupted copy or download?).") if actual_size < size else
            _("{path} has {size} bytes but {expected} were expected: the file is not the "
              "expected file.")).format(path=path, size=f"{actual_size:,}", expected=f"{size:,}"))
    actual = sha256_file(path, progress=progress)
    if actual != sha256.lower():
        raise ChecksumError(
            _("{path} has SHA-256 {actual}, expected {expected}: the file is corrupt or not the "
              "expected file.").format(path=path, actual=actual, expected=sha256.lower())
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
    file renamed into place. A file already at ``dest`` with the right hash is kept. Before
    any byte comes, one line on stderr says how big the file is and where it goes.

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
    if size is not None:
        announce(url, dest, size)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or size
            if size is None:  # the server's word is all there is
                announce(url, dest, total)
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name,
                      disable=not progress) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(_("Could not download {url}: {error}").format(url=url, error=exc)) from exc
    try:
        verify_file(part, sha256, size=size)
    except ChecksumError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


def announce(url: str, dest: str | os.PathLike, size: int | None) -> str:
    """Say on stderr, in one line, what is about to be downloaded: its size in MB and where to.

    Example:
        >>> import contextlib, io
        >>> with contextlib.redirect_stderr(io.StringIO()) as err:
        ...     _ = announce("https://example.org/a.zip", "/data/a.zip", 47_286_322)
        >>> print(err.getvalue(), end="")
        Downloading a.zip: 47.3 MB from https://example.org/a.zip into /data
    """
    dest = Path(dest)
    line = (_("Downloading {name}: {mb} MB from {url} into {folder}") if size else
            _("Downloading {name}: size unknown from {url} into {folder}")).format(
        name=dest.name, mb=f"{size / 1e6:,.1f}" if size else "", url=url, folder=dest.parent)
    print(line, file=sys.stderr, flush=True)
    return line


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
        make_writable(tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def make_writable(path: str | os.PathLike) -> Path:
    """Give the owner of a copy the right to change and delete it: files u+rw, folders u+rwx.

    Walks a folder (not following symbolic links, which are left alone); only bits are
    added, so what the group and others may do stays as it was. Used on every copy the kit
    makes, never on its source.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "ro.txt"
        >>> _ = p.write_text("x"); p.chmod(0o444)
        >>> oct(make_writable(p).stat().st_mode & 0o777)
        '0o644'
    """
    path = Path(path)

    def add(entry: Path, bits: int) -> None:
        mode = entry.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & bits != bits:
            os.chmod(entry, stat.S_IMODE(mode) | bits)

    if path.is_symlink() or not path.is_dir():
        add(path, stat.S_IRUSR | stat.S_IWUSR)
        return path
    add(path, stat.S_IRWXU)
    for folder, dirs, files in os.walk(path):  # top-down: a folder is opened before it is walked
        for name in dirs:
            add(Path(folder, name), stat.S_IRWXU)
        for name in files:
            add(Path(folder, name), stat.S_IRUSR | stat.S_IWUSR)
    return path


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why an entry may not be extracted, naming it (``'../x' is ...``), or ``None``."""
    name = info.filename
    if "\\" in name:
        reason = _("{name} has a backslash in its name (a Windows path)")
    elif name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        reason = _("{name} is an absolute path")
    elif ".." in PurePosixPath(name).parts:
        reason = _("{name} climbs out of the target folder with '..'")
    elif stat.S_ISLNK(info.external_attr >> 16):
        reason = _("{name} is a symbolic link")
    else:
        return None
    return reason.format(name=repr(name))


def safe_extract(zip_file: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a zip into the new folder ``dest``, refusing any entry that could escape it.

    Every entry is checked before anything is written. The files are written to a
    temporary folder next to ``dest`` that is renamed to ``dest`` only when all of them
    have been extracted and their CRCs checked.

    Raises:
        ArchiveError: the file is not a readable zip, is corrupt, has an unsafe entry, would
            unpack to more than ``MAX_UNPACKED_BYTES``, or ``dest`` already exists.
    """
    zip_file, dest = Path(zip_file), Path(dest)
    if dest.exists():
        raise ArchiveError(_("{dest} already exists; extraction needs a new folder.").format(
            dest=dest))
    try:
        with zipfile.ZipFile(zip_file) as zf:
            infos = zf.infolist()
            unsafe = [r for i in infos if (r := _unsafe_reason(i))]
            if unsafe:
                raise ArchiveError(_("Refused {zip}: unsafe entries (nothing was extracted):")
                                   .format(zip=zip_file) + "\n  " + "\n  ".join(unsafe[:10]))
            if sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
                raise ArchiveError(_("Refused {zip}: it would unpack to more than {limit} "
                                     "bytes.").format(zip=zip_file, limit=f"{MAX_UNPACKED_BYTES:,}"))
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent))
            try:
                _extract_all(zf, infos, tmp)
                make_writable(tmp)
                os.replace(tmp, dest)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, OSError) as exc:
        raise ArchiveError(_("{zip} could not be extracted ({error_type}: {error}); it is "
                             "truncated or corrupt. Nothing was extracted.").format(
            zip=zip_file, error_type=type(exc).__name__, error=exc)) from exc
    return dest


def _extract_all(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], tmp: Path) -> None:
    root = tmp.resolve()
    for info in infos:
        target = (root / info.filename).resolve()
        if target != root and root not in target.parents:  # belt and braces after _unsafe_reason
            raise ArchiveError(_("Refused entry {name}: it resolves outside the target.").format(
                name=repr(info.filename)))
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:  # reading checks the CRC
            shutil.copyfileobj(src, out, 1 << 20)
