"""Writing a snapshot to Hopsworks: current rows, the repair of a dead run's rows, the upsert."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.hopsworks_connection import translate_errors
from movie_ratings.schema import (
    DESCRIPTION_GROUPS,
    FEATURE_GROUPS,
    PRIMARY_KEY,
    SNAPSHOT_REJECTS,
    STORE_COMMIT,
    STORE_COMMITS,
    TOMBSTONE,
)
from movie_ratings.schema import group_versions as every_group_version
from movie_ratings.store.base import GroupState, SnapshotInfo, StoreCommit, UpsertResult, group_key
from movie_ratings.store.changes import join_on_key
from movie_ratings.store.hopsworks.frames import frame_to_table
from movie_ratings.store.hopsworks.groups import SdkGroups
from movie_ratings.store.hopsworks.layout import current_group_name, hopsworks_group
from movie_ratings.store.hopsworks.rows import (
    _commit_to_row,
    _merge_repair,
    _reject_rows,
    latest_rows_with_tombstones,
    lockstep_ids,
    log_rows,
    tombstone_rows,
)
from movie_ratings.store.upsert import (
    CurrentRows,
    KnownUnchanged,
    next_commit,
    plan_upsert,
    upsert_result,
)


class SnapshotWrites(SdkGroups):
    """The snapshot upsert of :class:`~movie_ratings.store.hopsworks.HopsworksFeatureStore`."""

    def _read_after(self, name: str, version: int, commit: int) -> pa.Table:
        """Rows of a commit-tagged group written after store commit ``commit``.

        The filter runs in Hopsworks (the Query Service pushes it down), so only those rows
        are read: none at all unless a run died before its commit record.
        """
        stored = hopsworks_group(name).stored
        handle = self._group(name, version, create=False)
        if handle is None:
            return stored.arrow_schema.empty_table()
        with translate_errors(f"reading uncommitted rows of {name} v{version}"):
            frame = handle.filter(handle.get_feature(STORE_COMMIT) > commit).read(
                dataframe_type="pandas")
        return frame_to_table(frame, stored.arrow_schema, f"{name} v{version}")

    def _remove_uncommitted(self, name: str, version: int, latest: int) -> None:
        """Remove the rows of a run that died before its commit record."""
        self._remove(name, version, self._read_after(name, version, latest))

    def _current_rows(
        self, name: str, version: int, latest: StoreCommit | None
    ) -> tuple[pa.Table, pa.Table]:
        """A data group's current rows as of the latest commit, read from its current-rows
        group (one row per film ever stored, tombstones included), not from the log.

        Returns:
            The live current rows (key and compared columns), and the rows to upsert into the
            current-rows group besides this snapshot's (a repair, normally empty).
        """
        spec = FEATURE_GROUPS[name]
        current_name = current_group_name(name)
        stored = hopsworks_group(current_name).stored
        # The diff compares source columns only (derived ones follow them): read just those.
        needed = [PRIMARY_KEY, *spec.compared_columns, STORE_COMMIT, TOMBSTONE]
        latest_number = latest.number if latest else 0
        repair = stored.arrow_schema.empty_table()
        if latest is None or group_key(name, version) not in latest.groups:
            # Nothing committed: whatever is there was written by a run that died.
            self._remove_uncommitted(current_name, version, latest_number)
            rows = stored.arrow_schema.empty_table().select(needed)
        else:
            rows = self.read_rows(current_name, version, needed)
            written_after = pc.greater(rows[STORE_COMMIT], latest_number)
            if rows.num_rows == 0 or pc.any(written_after).as_py():
                # First upsert since the current-rows group existed, or a run died after
                # writing it but before its commit record: rebuild from the log once.
                full, repair = self._rebuild_current(name, version, rows, latest_number)
                rows = full.select(needed)
        live = rows.filter(pc.invert(pc.fill_null(rows[TOMBSTONE], False)))
        return live.select(needed[:-2]), repair

    def _lazy_current(self, name: str, version: int, rows: pa.Table) -> CurrentRows:
        """Current rows whose other columns are read only when asked for (a group compared
        by its content hash reads the descriptive columns only for the broken-feed guard)."""

        def read_column(column: str) -> pa.ChunkedArray:
            if column in rows.column_names:
                return rows[column]
            extra = self.read_rows(current_group_name(name), version, [PRIMARY_KEY, column])
            return join_on_key(rows.select([PRIMARY_KEY]), extra, PRIMARY_KEY)[column]

        return CurrentRows(CurrentRows.of_table(rows).index, read_column)

    def _rebuild_current(
        self, name: str, version: int, cached: pa.Table, latest: int
    ) -> tuple[pa.Table, pa.Table]:
        """Current rows from the log (the slow path), and what the cache needs to match it."""
        stored = hopsworks_group(current_group_name(name)).stored
        spec = FEATURE_GROUPS[name]
        log = self.read_rows(name, version)
        log = log.filter(pc.less_equal(log[STORE_COMMIT], latest))
        newest = latest_rows_with_tombstones(log, PRIMARY_KEY, spec.event_time)
        rows = newest.select(stored.arrow_schema.names).cast(stored.arrow_schema)
        # Films only a dead run had written: no committed row to restore, so they are removed.
        orphans = cached.filter(pc.invert(pc.is_in(cached[PRIMARY_KEY], rows[PRIMARY_KEY])))
        self._remove(current_group_name(name), version, orphans)
        return rows, rows

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

        Reads only the current row of each film (the ``<group>_current`` groups) and the
        rows a dead run may have left (a filtered read), never the groups' history.

        Raises:
            DataError: the snapshot is older than what the store already holds, or a group
                is missing from ``groups``.
            BrokenSourceError: it would delete or rewrite too many films (nothing written).
            TransientError: Hopsworks could not be reached or was busy.
        """
        versions = every_group_version(versions)
        latest = self.latest_commit()
        latest_number = latest.number if latest else 0
        current: dict[str, CurrentRows] = {}
        repairs: dict[str, pa.Table] = {}
        for name in groups:
            if name in FEATURE_GROUPS:
                rows, repairs[name] = self._current_rows(name, versions[name], latest)
                current[name] = self._lazy_current(name, versions[name], rows)
        plan = plan_upsert(
            groups, current, rejects, info, latest,
            max_delete_fraction=max_delete_fraction,
            max_descriptive_change_fraction=max_descriptive_change_fraction,
            unchanged=unchanged,
        )
        for name in groups:
            self._remove_uncommitted(name, versions[name], latest_number)
        self._remove_uncommitted(SNAPSHOT_REJECTS.name, self.bookkeeping_version, latest_number)
        if plan.nothing_to_write and latest is not None:
            for name, repair in repairs.items():
                self.insert_rows(current_group_name(name), versions[name], repair)
            return upsert_result(latest, False, plan)

        number = latest_number + 1
        written, deleted = lockstep_ids(plan.changes)
        new_groups = dict(latest.groups) if latest else {}
        for name, table in groups.items():
            stored = hopsworks_group(name).stored
            key = group_key(name, versions[name])
            mine = written if name in DESCRIPTION_GROUPS else plan.changes[name].changed_or_new_ids(PRIMARY_KEY)
            picked = table.filter(pc.is_in(table[PRIMARY_KEY], pa.array(mine, pa.int64())))
            rows = pa.concat_tables([
                log_rows(picked, stored, number),
                tombstone_rows(deleted, stored, info.snapshot_date, number),
            ])
            self.insert_rows(name, versions[name], rows)
            self.insert_rows(current_group_name(name), versions[name],
                             _merge_repair(repairs[name], rows))
            previous = new_groups.get(key)
            table_version = number if rows.num_rows or previous is None else previous.table_version
            new_groups[key] = GroupState(name, versions[name], table_version, plan.films_after(name))
        self.insert_rows(SNAPSHOT_REJECTS.name, self.bookkeeping_version, _reject_rows(rejects, number))
        commit = next_commit(latest, info, new_groups, rejects_table_version=number,
                             counts=plan.counts)
        self.insert_rows(STORE_COMMITS.name, self.bookkeeping_version, _commit_to_row(commit))
        return upsert_result(commit, True, plan)
