"""The embedded feature store's class: its parts put together, the doctor check and status."""

from __future__ import annotations

import json
import shutil
import uuid
from typing import Any

import pyarrow as pa

from movie_ratings.errors import ConfigurationError, DataError
from movie_ratings.store.local.delta import delta_dataset, write_deltalake
from movie_ratings.store.local.history import HistoryGroups
from movie_ratings.store.local.reads import Reads
from movie_ratings.store.local.writes import SnapshotWrites
from movie_ratings.store.status import store_status


class LocalFeatureStore(SnapshotWrites, Reads, HistoryGroups):
    """Feature groups, views and rejects as Delta tables under ``root``.

    Args:
        root: directory of the store (created on first write).
        lock_timeout: seconds a writer waits for another writer before giving up.
    """

    backend = "local"

    # ----------------------------------------------------------------------------------
    # `movie-ratings doctor`
    # ----------------------------------------------------------------------------------

    def doctor_roundtrip(self) -> str:
        """Write a scratch Delta table in the store folder, read it back, delete it.

        Raises:
            ConfigurationError: the store folder cannot be written.
        """
        path = self.root / f".doctor-{uuid.uuid4().hex}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            write_deltalake(path, pa.table({"check": [1]}), mode="error")
            back = delta_dataset(path, 0).to_table()
            if back["check"].to_pylist() != [1]:
                raise DataError(f"a scratch table in {self.root} did not read back what was written")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write to the feature store folder {self.root}: {exc}; make it writable "
                "or set MOVIE_RATINGS_HOME to a writable folder"
            ) from None
        finally:
            shutil.rmtree(path, ignore_errors=True)
        return f"wrote, read back and deleted a scratch table in {self.root}"

    def status(self) -> dict[str, Any]:
        latest = self.latest_commit()
        if latest is None:
            return store_status(self.backend, str(self.root), None)
        rejects_total = 0
        if latest.rejects_table_version is not None:
            rejects_total = delta_dataset(
                self._rejects_path, latest.rejects_table_version
            ).count_rows()
        views_dir = self.root / "_views"
        views = sorted((json.loads(p.read_text()) for p in views_dir.glob("*.json")),
                       key=lambda v: (v["name"], v["version"])) if views_dir.is_dir() else []
        return store_status(self.backend, str(self.root), latest, commits=len(self._commit_numbers()),
                            rejects_total=rejects_total, views=views)
