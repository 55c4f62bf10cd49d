"""History groups (predictions) in the local store: Delta tables merged on primary key +
event time, outside store commits."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from movie_ratings.store.base import group_key
from movie_ratings.store.history_rows import (
    history_keys,
    history_spec,
    rows_to_merge,
    with_added_columns,
)
from movie_ratings.store.local.delta import DeltaTable, delta_dataset, write_deltalake
from movie_ratings.store.local.folder import StoreFolder


class HistoryGroups(StoreFolder):
    """History-group merges and reads of :class:`~movie_ratings.store.local.LocalFeatureStore`."""

    def _history_path(self, name: str, version: int) -> Path:
        return self.root / "history" / group_key(name, version)

    def merge_rows(self, name: str, version: int, table: pa.Table) -> int:
        spec, table = rows_to_merge(name, table)
        path = self._history_path(name, version)
        # One Delta commit per write: a killed run leaves the previous table version. The
        # writer lock orders concurrent merges (unlocked, Delta refused half of them with
        # CommitFailedError); the lock is the store's, so no snapshot write interleaves.
        with self.writer_lock():
            if not (path / "_delta_log").is_dir():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_deltalake(path, table, mode="error")
            else:
                predicate = " AND ".join(f"t.{k} = s.{k}" for k in history_keys(spec))
                (
                    DeltaTable(path)
                    # merge_schema: a table written before a nullable column was added gains it
                    .merge(table, predicate=predicate, source_alias="s", target_alias="t", merge_schema=True)
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute()
                )
            return DeltaTable(path).version()

    def read_all_rows(self, name: str, version: int) -> pa.Table:
        spec = history_spec(name)
        path = self._history_path(name, version)
        if not (path / "_delta_log").is_dir():
            return spec.arrow_schema.empty_table()
        rows = delta_dataset(path, DeltaTable(path).version()).to_table()
        return with_added_columns(rows, spec)
