"""Writing a snapshot to the local store: the upsert, its group and rejects tables."""

from __future__ import annotations

import pyarrow as pa

from movie_ratings.schema import FEATURE_GROUPS, REJECTS_SCHEMA, FeatureGroupSpec
from movie_ratings.schema import group_versions as every_group_version
from movie_ratings.store.base import GroupState, SnapshotInfo, StoreCommit, UpsertResult, group_key
from movie_ratings.store.changes import DELETED, GroupChanges, LogIndex, tombstones, with_live_flag
from movie_ratings.store.local.delta import DeltaTable, _compacted, create_table, write_deltalake
from movie_ratings.store.local.folder import StoreFolder, _as_stored_types
from movie_ratings.store.upsert import (
    CurrentRows,
    KnownUnchanged,
    next_commit,
    plan_upsert,
    upsert_result,
)
from movie_ratings.timing import timed


class SnapshotWrites(StoreFolder):
    """The snapshot upsert of :class:`~movie_ratings.store.local.LocalFeatureStore`."""

    def upsert_snapshot(
        self,
        groups: dict[str, pa.Table],
        versions: dict[str, int],
        info: SnapshotInfo,
        rejects: pa.Table,
        *,
        max_delete_fraction: float = 1.0,
        max_descriptive_change_fraction: float = 1.0,
        unchanged: KnownUnchanged | None = None,
    ) -> UpsertResult:
        """Store a full snapshot's rows; see :class:`movie_ratings.store.base.FeatureStore`.

        Raises:
            DataError: the snapshot is older than what the store already holds.
            BrokenSourceError: it would delete or rewrite too many films (nothing is
                written; see :func:`movie_ratings.store.upsert.plan_upsert`).
            StoreLockedError: another writer holds the store too long.
        """
        versions = every_group_version(versions)
        with self.writer_lock():
            latest = self.latest_commit()
            self._roll_back_uncommitted(latest)
            current = {name: self._current_rows(FEATURE_GROUPS[name], versions[name], latest)
                       for name in groups}
            plan = plan_upsert(
                groups, current, rejects, info, latest,
                max_delete_fraction=max_delete_fraction,
                max_descriptive_change_fraction=max_descriptive_change_fraction,
                unchanged=unchanged,
            )
            if plan.nothing_to_write and latest is not None:
                return upsert_result(latest, False, plan)

            new_groups = dict(latest.groups) if latest else {}
            for name, change in plan.changes.items():
                spec = FEATURE_GROUPS[name]
                key = group_key(name, versions[name])
                previous = new_groups.get(key)
                table_version = self._write_group(spec, versions[name], change, info, previous)
                new_groups[key] = GroupState(name, versions[name], table_version,
                                             plan.films_after(name))
            rejects_version = self._write_rejects(rejects, info)
            commit = next_commit(latest, info, new_groups, rejects_table_version=rejects_version,
                                 counts=plan.counts)
            self._write_commit(commit)
            return upsert_result(commit, True, plan)

    @timed("upsert.read_index")
    def _current_rows(
        self, spec: FeatureGroupSpec, version: int, latest: StoreCommit | None
    ) -> CurrentRows:
        """Index of the group's current rows at the latest commit, and a column reader.

        Only the key, event time and tombstone columns are read here; the feature columns
        are read one at a time while comparing, which keeps a daily update's memory small.
        """
        key = group_key(spec.name, version)
        if latest is None or key not in latest.groups:
            return CurrentRows.empty(spec.name)
        dataset = self._log_dataset(spec, version, latest.groups[key].table_version)
        keys = dataset.to_table(columns=[*spec.primary_key, spec.event_time, DELETED])
        index = LogIndex.build(keys, spec.primary_key[0], spec.event_time)

        def read_column(name: str) -> pa.ChunkedArray:
            # One thread per column: the diff reads several columns at once already, and
            # Arrow's scan threads on top only add CPU time.
            table = dataset.to_table(columns=[name], use_threads=False)
            return _as_stored_types(table, spec).column(0)

        return CurrentRows(index, read_column)

    @timed("upsert.write_groups")
    def _write_group(
        self,
        spec: FeatureGroupSpec,
        version: int,
        change: GroupChanges,
        info: SnapshotInfo,
        previous: GroupState | None,
    ) -> int:
        path = self._group_path(spec.name, version)
        rows = with_live_flag(change.upserts)
        if change.deleted:
            rows = pa.concat_tables([rows, tombstones(change.deleted_ids, spec, info.snapshot_date)])
        if previous is None:
            return create_table(path, rows, name=group_key(spec.name, version),
                                description=spec.description)
        if rows.num_rows == 0:
            return previous.table_version
        table = DeltaTable(path)
        key = spec.primary_key[0]
        # Same (id, snapshot_date) written again on a re-run of a day: update in place,
        # as Hopsworks does; other rows are appended. The literal date lets Delta skip
        # every file of other days.
        (
            table.merge(
                rows,
                predicate=(
                    f"t.{key} = s.{key} AND t.{spec.event_time} = s.{spec.event_time} "
                    f"AND t.{spec.event_time} = '{info.snapshot_date.isoformat()}'"
                ),
                source_alias="s",
                target_alias="t",
                merge_schema=True,  # a table written before a column was added gains it
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )
        return _compacted(path)

    @timed("upsert.write_rejects")
    def _write_rejects(self, rejects: pa.Table, info: SnapshotInfo) -> int:
        path = self._rejects_path
        rows = rejects.cast(REJECTS_SCHEMA)
        if not DeltaTable.is_deltatable(str(path)):
            write_deltalake(path, rows, mode="error", name="rejects")
        else:
            # Re-running a day replaces that day's rejects instead of adding duplicates.
            write_deltalake(
                path, rows, mode="overwrite",
                predicate=f"snapshot_date = '{info.snapshot_date.isoformat()}'",
            )
        return _compacted(path)
