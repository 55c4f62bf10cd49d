"""Checks on a downloaded zip archive, and the extraction of the one file we need.

Everything here is pure file work on a local archive (no network), so it is tested on
zips built in a temporary folder. The rules:

* every member name is checked before anything is written: no absolute paths (``/x``,
  ``C:\\x``), no ``..`` components, no NUL bytes, and no symlink whose target leaves
  the archive; one bad member refuses the whole archive, since it was tampered with or
  built wrong;
* the wanted file is found by its exact, case-sensitive base name, at the root or in a
  sub-folder;
* only that member is extracted, streamed into a temporary file next to the destination,
  its CRC-32 checked as it is read (what ``ZipFile.testzip`` does, for the one member we
  use, without decompressing it twice), then moved into place with ``os.replace``: the
  destination is either the complete file or absent, never half-written.

Every failure is a :class:`~movie_ratings.errors.DataError`: downloading the same bytes
again would not fix it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import posixpath
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from movie_ratings.errors import ConfigurationError, DataError

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
#: A member larger than this is refused (the real file is about 0.8 GB).
MAX_MEMBER_BYTES = 16 << 30
#: Free space kept beyond what a write needs (the store and Prefect write there too).
FREE_SPACE_MARGIN = 256 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
_SYMLINK_TARGET_LIMIT = 4096
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class ExtractedFile:
    """A file extracted from an archive.

    Attributes:
        path: where it now is.
        size: its size in bytes.
        sha256: hex SHA-256 of its content.
        member: its name inside the archive.
    """

    path: Path
    size: int
    sha256: str
    member: str


def unsafe_reason(name: str) -> str | None:
    """Why a member name could write outside the extraction folder, if it could.

    Args:
        name: the member name as stored in the archive.

    Returns:
        A short reason, or None when the name is safe.
    """
    if "\x00" in name:
        return "contains a NUL byte"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or _DRIVE.match(normalized):
        return "is an absolute path"
    if ".." in normalized.split("/"):
        return "has a '..' component"
    return None


def is_symlink(info: zipfile.ZipInfo) -> bool:
    """Whether a member is stored as a Unix symbolic link."""
    return stat.S_ISLNK(info.external_attr >> 16)


def check_members(zf: zipfile.ZipFile) -> None:
    """Refuse an archive with a member that could escape the extraction folder.

    Args:
        zf: the open archive.

    Raises:
        DataError: naming the first unsafe member (absolute path, ``..``, NUL byte,
            or a symlink pointing outside the archive).
    """
    for info in zf.infolist():
        reason = unsafe_reason(info.filename)
        if reason is None and is_symlink(info):
            reason = _symlink_escape_reason(zf, info)
        if reason is not None:
            raise DataError(f"archive {zf.filename} refused: member {info.filename!r} {reason}")


def _symlink_escape_reason(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    if info.file_size > _SYMLINK_TARGET_LIMIT:
        return "is a symlink with an oversized target"
    try:
        target = zf.read(info).decode("utf-8")
    except (*_ZIP_READ_ERRORS, UnicodeDecodeError) as exc:
        return f"is a symlink with an unreadable target ({exc})"
    reason = unsafe_reason(target)
    if reason == "is an absolute path":
        return "is a symlink to an absolute path"
    parent = posixpath.dirname(info.filename.replace("\\", "/").rstrip("/"))
    resolved = posixpath.normpath(posixpath.join(parent, target.replace("\\", "/")))
    if "\x00" in target or resolved == ".." or resolved.startswith("../"):
        return "is a symlink pointing outside the archive"
    return None


def find_member(zf: zipfile.ZipFile, file_name: str) -> zipfile.ZipInfo:
    """Find the member whose base name is exactly ``file_name``.

    A member at the root wins over one in a sub-folder; two candidates at the same level
    are ambiguous.

    Args:
        zf: the open archive.
        file_name: the base name to look for (case-sensitive).

    Returns:
        The member's info.

    Raises:
        DataError: when no member (or more than one) has that name, or it is a folder,
            a symlink or an empty file.
    """
    matches = [
        info
        for info in zf.infolist()
        if not info.is_dir() and posixpath.basename(info.filename.replace("\\", "/")) == file_name
    ]
    if not matches:
        listing = ", ".join(sorted(i.filename for i in zf.infolist())[:20]) or "(empty archive)"
        raise DataError(f"{file_name} not found in archive {zf.filename}; it holds: {listing}")
    at_root = [i for i in matches if i.filename == file_name]
    if at_root:
        matches = at_root
    if len(matches) > 1:
        names = ", ".join(sorted(i.filename for i in matches))
        raise DataError(f"{file_name} is ambiguous in archive {zf.filename}: {names}")
    info = matches[0]
    if is_symlink(info):
        raise DataError(f"{info.filename} in archive {zf.filename} is a symlink, not a file")
    if info.file_size == 0:
        raise DataError(f"{info.filename} in archive {zf.filename} is empty")
    return info


def ensure_free_space(folder: Path, needed: int, what: str) -> None:
    """Refuse to start writing ``needed`` bytes into ``folder`` when the disk cannot hold them.

    Raises:
        ConfigurationError: not enough free space (not retried: it will not free itself).
    """
    free = shutil.disk_usage(folder).free
    if free < needed + FREE_SPACE_MARGIN:
        raise ConfigurationError(
            f"{what}: needs {needed / 1e6:,.0f} MB (+{FREE_SPACE_MARGIN >> 20} MB margin) in {folder}, "
            f"which has {free / 1e6:,.0f} MB free; free some space or point MOVIE_RATINGS_HOME at a "
            "larger disk"
        )


def extract_member(
    archive: Path,
    file_name: str,
    dest: Path,
) -> ExtractedFile:
    """Check an archive and extract one file from it to ``dest``, atomically.

    Args:
        archive: the zip file.
        file_name: base name of the member to extract (see :func:`find_member`).
        dest: final path of the extracted file; its folder must exist. Replaced if present.

    Returns:
        The extracted file with its size and SHA-256.

    Raises:
        DataError: when the archive is not a zip, is corrupt (bad CRC, truncated data),
            has an unsafe member, lacks the file, or the file is empty or larger than
            :data:`MAX_MEMBER_BYTES`.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise DataError(f"{archive} is not a readable zip archive: {exc}") from exc
    with zf:
        check_members(zf)
        info = find_member(zf, file_name)
        if info.file_size > MAX_MEMBER_BYTES:
            raise DataError(
                f"{info.filename} in {archive} declares {info.file_size} bytes, over the "
                f"{MAX_MEMBER_BYTES} byte limit"
            )
        ensure_free_space(dest.parent, info.file_size, f"extracting {info.filename} from {archive}")
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                # ZipExtFile checks the CRC-32 once the member is read to its end.
                while chunk := src.read(CHUNK_SIZE):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size != info.file_size:
                raise DataError(
                    f"{info.filename} in {archive}: read {size} bytes, header says {info.file_size}"
                )
            os.replace(tmp, dest)
        except _ZIP_READ_ERRORS as exc:
            raise DataError(f"{info.filename} in {archive} is corrupt: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    log.info("extracted %s from %s (%d bytes)", info.filename, archive.name, size)
    return ExtractedFile(path=dest, size=size, sha256=digest.hexdigest(), member=info.filename)
