"""The SDK's group handles: create, insert, read and remove rows; the commit records."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.hopsworks_connection import translate_errors
from movie_ratings.schema import STORE_COMMITS
from movie_ratings.store.base import StoreCommit
from movie_ratings.store.hopsworks.frames import frame_to_table, table_to_frame
from movie_ratings.store.hopsworks.layout import (
    STATISTICS,
    TIME_TRAVEL_FORMAT,
    hopsworks_group,
    offline_type,
)


class SdkGroups:
    """SDK handles and commits of :class:`~movie_ratings.store.hopsworks.HopsworksFeatureStore`."""

    def __init__(self, feature_store: Any, *, feature_cls: Any | None = None,
                 address: str = "hopsworks", bookkeeping_version: int = 1) -> None:
        self._fs = feature_store
        self.bookkeeping_version = bookkeeping_version
        self._feature_cls = feature_cls
        self.address = address
        self._groups: dict[tuple[str, int], Any] = {}  # saved groups
        self._unsaved: dict[tuple[str, int], Any] = {}  # created, saved at their first insert

    # -------------------------------------------------------------------------------------
    # SDK handles
    # -------------------------------------------------------------------------------------

    def _feature(self) -> Any:
        if self._feature_cls is None:
            from hsfs.feature import Feature as SdkFeature

            self._feature_cls = SdkFeature
        return self._feature_cls

    def _group(self, name: str, version: int, *, create: bool) -> Any | None:
        """The SDK's handle of a saved group, or of a new one when ``create``.

        hsfs saves a new group at its first insert (``get_or_create_feature_group`` returns
        an unsaved FeatureGroup that cannot be read or used in a view), so a created handle
        counts as existing only once an insert went through (:meth:`insert_rows`).
        """
        cached = self._groups.get((name, version))
        if cached is not None:
            return cached
        if not create:
            with translate_errors(f"looking up feature group {name} v{version}"):
                handle = self._fs.get_feature_group(name=name, version=version)
            if handle is not None:
                self._groups[(name, version)] = handle
            return handle
        unsaved = self._unsaved.get((name, version))
        if unsaved is not None:
            return unsaved
        layout = hopsworks_group(name)
        stored = layout.stored
        feature = self._feature()
        with translate_errors(f"creating feature group {name} v{version}"):
            handle = self._fs.get_or_create_feature_group(
                name=name,
                version=version,
                description=stored.description,
                primary_key=list(stored.primary_key),
                event_time=layout.event_time,
                features=[
                    feature(name=f.name, type=offline_type(f.dtype), description=f.description)
                    for f in stored.features
                ],
                statistics_config=STATISTICS.get(name, False),
                online_enabled=False,
                time_travel_format=TIME_TRAVEL_FORMAT,
            )
        self._unsaved[(name, version)] = handle
        return handle

    def _created(self, name: str, version: int) -> Any:
        """The SDK's handle of a group, created (unsaved until its first insert) if missing."""
        return self._group(name, version, create=True)

    def insert_rows(self, name: str, version: int, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        handle = self._created(name, version)
        with translate_errors(f"inserting {rows.num_rows:,} rows into {name} v{version}"):
            # wait: the next step (the commit record, the next read) reads these rows back.
            handle.insert(table_to_frame(rows), write_options={"wait_for_job": True}, wait=True)
        self._groups[(name, version)] = handle  # saved by its first insert
        self._unsaved.pop((name, version), None)

    def read_rows(self, name: str, version: int, columns: list[str] | None = None) -> pa.Table:
        """Every stored row of a group (empty with the stored schema when it does not exist).

        Args:
            columns: only these columns (the Query Service then sends only them).
        """
        schema = hopsworks_group(name).stored.arrow_schema
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        handle = self._group(name, version, create=False)
        if handle is None:
            return schema.empty_table()
        with translate_errors(f"reading feature group {name} v{version}"):
            if columns is None:
                frame = handle.read(dataframe_type="pandas")
            else:
                frame = handle.select(columns).read(dataframe_type="pandas")
        return frame_to_table(frame, schema, f"{name} v{version}")

    def _remove(self, name: str, version: int, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        handle = self._group(name, version, create=False)
        if handle is None:  # never created: nothing to remove
            return
        keys = rows.select(hopsworks_group(name).merge_keys)
        with translate_errors(f"removing {rows.num_rows:,} uncommitted rows from {name} v{version}"):
            handle.remove_rows(table_to_frame(keys))

    # -------------------------------------------------------------------------------------
    # commits
    # -------------------------------------------------------------------------------------

    def commits(self) -> list[StoreCommit]:
        rows = self.read_rows(STORE_COMMITS.name, self.bookkeeping_version)
        by_number: dict[int, StoreCommit] = {}
        for row in rows.sort_by([("commit_number", "ascending"), ("created_at", "ascending")]).to_pylist():
            by_number[row["commit_number"]] = StoreCommit.from_json(json.loads(row["record"]))
        return [by_number[n] for n in sorted(by_number)]

    def latest_commit(self) -> StoreCommit | None:
        commits = self.commits()
        return commits[-1] if commits else None

    def commit(self, number: int) -> StoreCommit:
        for found in self.commits():
            if found.number == number:
                return found
        raise DataError(f"store commit {number} does not exist in {self.address}")

    def _resolve(self, commit: int | None) -> StoreCommit:
        found = self.latest_commit() if commit is None else self.commit(commit)
        if found is None:
            raise DataError(f"the feature store at {self.address} is empty: run a backfill first")
        return found
