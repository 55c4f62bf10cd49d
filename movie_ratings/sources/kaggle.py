"""The Kaggle source: the latest version of ``TMDB_all_movies.csv``, downloaded once.

The API calls are :mod:`movie_ratings.sources.kaggle_client`'s (which SDK, and which
errors); this module keeps the downloaded file.

Caching
    ``cache_dir/kaggle/<owner>/<dataset>/v<N>/TMDB_all_movies.csv`` plus a sidecar
    ``TMDB_all_movies.csv.json`` recording size and SHA-256. A version whose file and sidecar
    agree is never downloaded again; only the metadata call is made. The ``keep_versions``
    newest version folders are kept, older ones are deleted after a successful download.

Errors: those of the client (:class:`TransientError` retried, :class:`DataError` and
:class:`ConfigurationError` not), and a :class:`DataError` for a corrupt archive, an
unsafe member name, or the file missing from the archive or empty.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from movie_ratings.errors import DataError
from movie_ratings.schema import KAGGLE_DATASET, KAGGLE_FILE
from movie_ratings.sources.archive import CHUNK_SIZE, ExtractedFile, extract_member
from movie_ratings.sources.base import Snapshot
from movie_ratings.sources.kaggle_client import (
    DatasetVersion,
    KaggleClient,
    KagglehubClient,
    split_dataset,
)

log = logging.getLogger(__name__)

_VERSION_DIR = re.compile(r"^v(\d+)$")


class KaggleSource:
    """The latest Kaggle version of the snapshot file, cached by version number.

    Args:
        cache_dir: root of the download cache (usually ``settings.downloads_dir``).
        dataset: Kaggle dataset handle ``owner/slug``.
        file_name: the file to take from the dataset (exact, case-sensitive base name).
        client: the Kaggle client; :class:`KagglehubClient` when None.
        keep_versions: how many version folders to keep in the cache (at least 1).

    Raises:
        ValueError: on a malformed dataset handle, file name or ``keep_versions``.
    """

    name = "kaggle"

    def __init__(
        self,
        cache_dir: Path,
        *,
        dataset: str = KAGGLE_DATASET,
        file_name: str = KAGGLE_FILE,
        client: KaggleClient | None = None,
        keep_versions: int = 2,
    ) -> None:
        self.owner, self.slug = split_dataset(dataset)
        if not file_name or "/" in file_name or "\\" in file_name or file_name in (".", ".."):
            raise ValueError(f"file_name must be a plain file name: {file_name!r}")
        if keep_versions < 1:
            raise ValueError("keep_versions must be at least 1")
        self.cache_dir = Path(cache_dir)
        self.dataset = dataset
        self.file_name = file_name
        self.keep_versions = keep_versions
        self._client = client

    @property
    def client(self) -> KaggleClient:
        if self._client is None:
            self._client = KagglehubClient()
        return self._client

    @property
    def dataset_dir(self) -> Path:
        return self.cache_dir / "kaggle" / self.owner / self.slug

    def path_for(self, version: int) -> Path:
        """Where version ``version`` of the file is cached."""
        return self.dataset_dir / f"v{version}" / self.file_name

    def fetch(self, as_of: date | None = None) -> Snapshot:
        """Return the latest version of the file, downloading it unless already cached.

        Args:
            as_of: the date the snapshot is filed under; when None, the UTC date on which
                Kaggle published the version (today's UTC date if Kaggle does not say).
                The data is always the latest version: Kaggle keeps no daily history here.

        Returns:
            The snapshot, with ``version`` the Kaggle version number.

        Raises:
            TransientError: on network failures, throttling, a truncated download.
            DataError: when the dataset, version or file is missing or the archive broken.
            ConfigurationError: when Kaggle refuses the credentials (or their absence).
        """
        version = self.client.latest_version(self.dataset)
        path = self.path_for(version.number)
        if self._is_cached(path):
            log.info("Kaggle %s v%d already cached at %s", self.dataset, version.number, path)
        else:
            self._download(version, path)
            self._prune(keep=version.number)
        if as_of is None:
            as_of = (version.updated or datetime.now(UTC)).astimezone(UTC).date()
        return Snapshot(
            path=path, as_of=as_of, source=self.name, version=str(version.number), is_demo=False
        )

    def _download(self, version: DatasetVersion, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=path.parent, prefix=".download-"))
        try:
            downloaded = self.client.download(self.dataset, version.number, work)
            if downloaded.name == self.file_name and not _looks_like_zip(downloaded):
                extracted = _adopt_plain_file(downloaded, path)
            else:
                extracted = extract_member(downloaded, self.file_name, path)
            _write_json_atomic(
                _sidecar(path),
                {
                    "dataset": self.dataset,
                    "version": version.number,
                    "file": self.file_name,
                    "member": extracted.member,
                    "size": extracted.size,
                    "sha256": extracted.sha256,
                    "updated": version.updated.isoformat() if version.updated else None,
                    "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                },
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
            with contextlib.suppress(OSError):  # leave no empty version folder behind
                path.parent.rmdir()
        log.info("Kaggle %s v%d: %s (%d bytes)", self.dataset, version.number, path, extracted.size)

    def _is_cached(self, path: Path) -> bool:
        """Whether ``path`` exists and matches the size and SHA-256 in its sidecar."""
        sidecar = _sidecar(path)
        if not path.is_file() or not sidecar.is_file():
            return False
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            size, sha256 = int(meta["size"]), str(meta["sha256"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("unreadable cache record %s (%s); downloading again", sidecar, exc)
            return False
        if path.stat().st_size != size or _sha256(path) != sha256:
            log.warning("cached %s does not match %s; downloading again", path, sidecar.name)
            return False
        return True

    def _prune(self, keep: int) -> None:
        """Delete version folders older than the ``keep_versions`` newest (``keep`` stays)."""
        if not self.dataset_dir.is_dir():
            return
        versions = sorted(
            (int(m.group(1)), p)
            for p in self.dataset_dir.iterdir()
            if p.is_dir() and (m := _VERSION_DIR.match(p.name))
        )
        kept = {n for n, _ in versions[-self.keep_versions :]} | {keep}
        for number, folder in versions:
            if number not in kept:
                log.info("removing old cached version %s", folder)
                shutil.rmtree(folder, ignore_errors=True)


def _sidecar(path: Path) -> Path:
    return path.with_name(f"{path.name}.json")


def _looks_like_zip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


def _adopt_plain_file(src: Path, dest: Path) -> ExtractedFile:
    """Move a file downloaded as is (not zipped) into place, as :func:`extract_member` would."""
    size = src.stat().st_size
    if size == 0:
        raise DataError(f"{src.name} downloaded from Kaggle is empty")
    digest = _sha256(src)
    os.replace(src, dest)
    return ExtractedFile(path=dest, size=size, sha256=digest, member=src.name)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
