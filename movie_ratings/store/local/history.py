"""History groups (predictions) in the local store: Delta tables merged on primary key +
event time, outside store commits."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.schema import HISTORY_GROUPS
from movie_ratings.store.base import group_key
from movie_ratings.store.local.delta import DeltaTable, delta_dataset, write_deltalake
from movie_ratings.store.local.folder import StoreFolder


class HistoryGroups(StoreFolder):
    """History-group merges and reads of :class:`~movie_ratings.store.local.LocalFeatureStore`."""

    def _history_path(self, name: str, version: int) -> Path:
        return self.root / "history" / group_key(name, version)

    def merge_rows(self, name: str, version: int, table: pa.Table) -> int:
        spec = HISTORY_GROUPS[name]
        try:
            table = table.select(list(spec.column_names)).cast(spec.arrow_schema)
        except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"rows for {name} do not match its schema: {exc}") from None
        keys = [*spec.primary_key, spec.event_time]
        if table.group_by(keys).aggregate([]).num_rows != table.num_rows:
            raise DataError(f"rows for {name} repeat a key {keys}")
        path = self._history_path(name, version)
        # One Delta commit per write: a killed run leaves the previous table version. The
        # writer lock orders concurrent merges (unlocked, Delta refused half of them with
        # CommitFailedError); the lock is the store's, so no snapshot write interleaves.
        with self.writer_lock():
            if not (path / "_delta_log").is_dir():
                path.parent.mkdir(parents=True, exist_ok=True)
                write_deltalake(path, table, mode="error")
            else:
                predicate = " AND ".join(f"t.{k} = s.{k}" for k in keys)
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
        spec = HISTORY_GROUPS[name]
        path = self._history_path(name, version)
        if not (path / "_delta_log").is_dir():
            return spec.arrow_schema.empty_table()
        rows = delta_dataset(path, DeltaTable(path).version()).to_table()
        for column in spec.arrow_schema:  # columns added since the oldest rows were written
            if column.name not in rows.column_names:
                rows = rows.append_column(column, pa.nulls(rows.num_rows, column.type))
        return rows.select(list(spec.column_names)).cast(spec.arrow_schema)
