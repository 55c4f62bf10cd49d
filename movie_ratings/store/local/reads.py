"""Reading the local store: a group's current rows, feature views and rejects as of a commit."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pyarrow as pa

from movie_ratings.durable import atomic_create
from movie_ratings.errors import DataError
from movie_ratings.schema import (
    FEATURE_GROUPS,
    MOVIE_RATINGS_VIEW,
    REJECTS_SCHEMA,
    FeatureGroupSpec,
)
from movie_ratings.schema import group_versions as every_group_version
from movie_ratings.store.changes import DELETED, current_rows, join_on_key
from movie_ratings.store.local.delta import delta_dataset
from movie_ratings.store.local.folder import StoreFolder, _as_stored_types


class Reads(StoreFolder):
    """Group, view and rejects reads of :class:`~movie_ratings.store.local.LocalFeatureStore`."""

    def _read_log(self, spec: FeatureGroupSpec, version: int, table_version: int,
                  columns: list[str] | None = None) -> pa.Table:
        dataset = self._log_dataset(spec, version, table_version)
        return _as_stored_types(dataset.to_table(columns=columns), spec)

    def _read_current(self, spec: FeatureGroupSpec, version: int, table_version: int,
                      columns: list[str] | None = None) -> pa.Table:
        needed = None
        if columns is not None:
            needed = list(dict.fromkeys([*spec.primary_key, spec.event_time, *columns, DELETED]))
        log = self._read_log(spec, version, table_version, needed)
        current = current_rows(log, spec.primary_key[0], spec.event_time)
        return current.select(columns) if columns is not None else current

    def read_group(
        self, name: str, version: int, *, commit: int | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        spec = FEATURE_GROUPS[name]
        state = self._resolve(commit).group(name, version)
        return self._read_current(spec, version, state.table_version, columns)

    def ensure_feature_view(self, name: str, version: int, group_versions: dict[str, int]) -> None:
        if name != MOVIE_RATINGS_VIEW.name:
            raise DataError(f"unknown feature view {name!r}")
        definition = {
            "name": name,
            "version": version,
            "groups": {g: every_group_version(group_versions)[g] for g in MOVIE_RATINGS_VIEW.groups},
            "label": MOVIE_RATINGS_VIEW.label,
            "join_key": MOVIE_RATINGS_VIEW.join_key,
        }
        path = self._view_path(name, version)
        if path.exists():
            existing = json.loads(path.read_text())
            if existing != definition:
                raise DataError(
                    f"feature view {name} version {version} already exists with groups "
                    f"{existing['groups']}; create a new view version for {definition['groups']}"
                )
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # a concurrent creator wrote the same
            atomic_create(path, json.dumps(definition, indent=2, sort_keys=True))

    def feature_view(self, name: str, version: int) -> dict[str, Any]:
        path = self._view_path(name, version)
        if not path.exists():
            raise DataError(f"feature view {name} version {version} does not exist: run a backfill")
        definition: dict[str, Any] = json.loads(path.read_text())
        return definition

    def read_feature_view(self, name: str, version: int, *, commit: int | None = None) -> pa.Table:
        definition = self.feature_view(name, version)
        resolved = self._resolve(commit)
        tables = [
            self.read_group(group, group_version, commit=resolved.number)
            for group, group_version in definition["groups"].items()
        ]
        joined = tables[0]
        for other in tables[1:]:
            joined = join_on_key(joined, other, definition["join_key"],
                                 drop=MOVIE_RATINGS_VIEW.exclude)
        return joined

    def read_rejects(self, *, commit: int | None = None) -> pa.Table:
        resolved = self._resolve(commit)
        if resolved.rejects_table_version is None:
            return REJECTS_SCHEMA.empty_table()
        dataset = delta_dataset(self._rejects_path, resolved.rejects_table_version)
        return dataset.to_table().cast(REJECTS_SCHEMA)
