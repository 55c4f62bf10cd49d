"""The embedded feature store: Delta Lake tables on local disk.

Layout under the store root::

    groups/<name>_<version>/   one Delta table per feature group version (a log keyed by
                               id + snapshot_date; see :mod:`movie_ratings.store.changes`)
    rejects/                   Delta table of quarantined records
    _commits/<n>.json          store commits: the Delta version of every group, atomically
    _views/<name>_<version>.json  feature view definitions
    history/<name>_<version>/  history groups (predictions): Delta tables merged on primary
                               key + event time, outside store commits (one table per write)
    .write.lock                one writer at a time (flock; released if the process dies)

Why Delta Lake: a real open table format with atomic commits, time travel to any version,
merge by key, and cheap appends (a daily update writes only the changed rows). A write is
made visible by one atomic file creation (the commit record), so a process killed half way
leaves the store readable at its previous commit; the next writer rolls the tables back.
A table whose daily writes have left many small files is compacted within the write that
crosses :data:`COMPACT_AFTER_FILES`, so reads do not slow down day after day.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

try:
    from deltalake import DeltaTable, Schema, write_deltalake
    from deltalake.transaction import AddAction, create_table_with_add_actions
except ImportError as exc:  # only on a broken install; see the README's Hopsworks section
    raise ImportError(
        "the `deltalake` module is missing or broken. The hopsworks extra installs "
        "hops-deltalake, which writes the same `deltalake` module as the deltalake package, so "
        "uninstalling either one deletes the other's files. Reinstall the one you need: "
        "`pip install --force-reinstall --no-deps hops-deltalake` (with the hopsworks extra) or "
        f"`pip install --force-reinstall --no-deps deltalake` (without). ({exc})"
    ) from exc

from movie_ratings.durable import atomic_create
from movie_ratings.errors import ConfigurationError, DataError, TransientError
from movie_ratings.schema import (
    FEATURE_GROUPS,
    HISTORY_GROUPS,
    MOVIE_RATINGS_VIEW,
    REJECTS_SCHEMA,
    FeatureGroupSpec,
)
from movie_ratings.schema import group_versions as every_group_version
from movie_ratings.store.base import (
    GroupState,
    SnapshotInfo,
    StoreCommit,
    UpsertResult,
    group_key,
)
from movie_ratings.store.changes import (
    DELETED,
    GroupChanges,
    LogIndex,
    current_rows,
    join_on_key,
    tombstones,
    with_live_flag,
)
from movie_ratings.store.status import store_status
from movie_ratings.store.upsert import (
    CurrentRows,
    KnownUnchanged,
    next_commit,
    plan_upsert,
    upsert_result,
)

#: A table is compacted when a write leaves it with more data files than this. Every
#: daily update adds a small file to each table, and reading a table (the daily diff reads
#: it column by column) costs time per file: without compaction a 2,500-film group took
#: 15x longer to diff after 60 daily updates than after one.
COMPACT_AFTER_FILES = 16
#: Compaction merges the files smaller than this and leaves larger ones alone (a big
#: backfill's, a churny day's signals, and merged files once they reach it). Earlier
#: versions keep their files, so every byte compaction rewrites is stored twice: the
#: target is kept low enough that a day whose signals moved for a large share of the films
#: (a few MB at 1.2M films, bench/RESULTS.md) is never rewritten, while the small files of
#: quiet days are still merged.
COMPACT_TARGET_BYTES = 2 << 20


class StoreLockedError(TransientError):
    """Another writer holds the store; retrying later may succeed."""


class LocalFeatureStore:
    """Feature groups, views and rejects as Delta tables under ``root``.

    Args:
        root: directory of the store (created on first write).
        lock_timeout: seconds a writer waits for another writer before giving up.
    """

    backend = "local"

    def __init__(self, root: Path, *, lock_timeout: float = 600.0) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout

    # ----------------------------------------------------------------------------------
    # paths
    # ----------------------------------------------------------------------------------

    def _group_path(self, name: str, version: int) -> Path:
        return self.root / "groups" / group_key(name, version)

    @property
    def _rejects_path(self) -> Path:
        return self.root / "rejects"

    @property
    def _commits_dir(self) -> Path:
        return self.root / "_commits"

    def _view_path(self, name: str, version: int) -> Path:
        return self.root / "_views" / f"{group_key(name, version)}.json"

    # ----------------------------------------------------------------------------------
    # commits
    # ----------------------------------------------------------------------------------

    def _commit_numbers(self) -> list[int]:
        if not self._commits_dir.is_dir():
            return []
        return sorted(int(p.stem) for p in self._commits_dir.glob("*.json") if p.stem.isdigit())

    def latest_commit(self) -> StoreCommit | None:
        numbers = self._commit_numbers()
        return self.commit(numbers[-1]) if numbers else None

    def commit(self, number: int) -> StoreCommit:
        path = self._commits_dir / f"{number:012d}.json"
        try:
            return StoreCommit.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise DataError(f"store commit {number} does not exist in {self.root}") from None

    def commits(self) -> list[StoreCommit]:
        return [self.commit(n) for n in self._commit_numbers()]

    def _resolve(self, commit: int | None) -> StoreCommit:
        found = self.latest_commit() if commit is None else self.commit(commit)
        if found is None:
            raise DataError(f"the feature store at {self.root} is empty: run a backfill first")
        return found

    def _write_commit(self, commit: StoreCommit) -> None:
        self._commits_dir.mkdir(parents=True, exist_ok=True)
        final = self._commits_dir / f"{commit.number:012d}.json"
        atomic_create(final, json.dumps(commit.to_json(), indent=2, sort_keys=True))

    # ----------------------------------------------------------------------------------
    # locking and recovery
    # ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the store's write lock (waits up to ``lock_timeout`` seconds).

        Raises:
            StoreLockedError: another writer kept the lock for too long.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".write.lock", "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreLockedError(
                            f"another run is writing to the feature store at {self.root} "
                            f"(waited {self.lock_timeout:.0f} s)"
                        ) from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _roll_back_uncommitted(self, latest: StoreCommit | None) -> list[str]:
        """Undo table writes of a run that died before its commit record; returns what was undone."""
        undone = []
        groups_dir = self.root / "groups"
        committed = latest.groups if latest else {}
        tables: list[tuple[Path, GroupState | int | None]] = (
            [(p, committed.get(p.name)) for p in groups_dir.iterdir()] if groups_dir.is_dir() else []
        )
        rejects_version = latest.rejects_table_version if latest else None
        if self._rejects_path.exists():
            tables.append((self._rejects_path, rejects_version))
        for path, state in tables:
            version = state.table_version if isinstance(state, GroupState) else state
            if version is None:
                shutil.rmtree(path)
                undone.append(f"removed uncommitted table {path.name}")
                continue
            table = DeltaTable(path)
            if table.version() > version:
                table.restore(version)
                undone.append(f"restored {path.name} to version {version}")
        return undone

    # ----------------------------------------------------------------------------------
    # writes
    # ----------------------------------------------------------------------------------

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
            # One thread per column: the diff reads several columns at once already
            # (measured at 1.2M films: 1.3-1.8 CPU-s for all columns against 1.9-2.1 s
            # with Arrow's scan threads on top).
            table = dataset.to_table(columns=[name], use_threads=False)
            return _as_stored_types(table, spec).column(0)

        return CurrentRows(index, read_column)

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

    # ----------------------------------------------------------------------------------
    # reads
    # ----------------------------------------------------------------------------------

    def _log_dataset(self, spec: FeatureGroupSpec, version: int, table_version: int) -> ds.Dataset:
        # Arrow's dataset scanner reads the Delta version's files in parallel; measured
        # 2.5x faster here than DeltaTable.to_pyarrow_table on the 1.2M-row group.
        return delta_dataset(self._group_path(spec.name, version), table_version)

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
        return json.loads(path.read_text())

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

    # ----------------------------------------------------------------------------------
    # history groups (predictions)
    # ----------------------------------------------------------------------------------

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


def _compacted(path: Path) -> int:
    """Merge a table's small files if it has too many; returns its latest version.

    Compaction is a Delta commit of its own that changes no row: the store commit then
    names the compacted version, and earlier versions keep their files (time travel).
    A run killed after it is rolled back like any uncommitted write.
    """
    table = DeltaTable(path)
    if len(table.file_uris()) > COMPACT_AFTER_FILES:
        table.optimize.compact(target_size=COMPACT_TARGET_BYTES)
        table = DeltaTable(path)
    return table.version()


def delta_dataset(path: Path, table_version: int) -> ds.Dataset:
    """The files of a Delta table version as an Arrow dataset, read by Arrow's own filesystem.

    deltalake's default reads through a Python filesystem handler, so Arrow's I/O threads
    call back into Python. A thread still doing so while the interpreter shuts down is
    forced to exit in the middle of C++ code, which aborts the process after all work is
    done ("terminate called without an active exception", delta-io/delta-rs#2184,
    apache/arrow#45017); measured here in 3 of 90 short processes. Arrow's native local
    filesystem never calls into Python (0 of 90). deltalake documents passing a filesystem
    rooted at the table for exactly this kind of use.
    """
    root = pafs.SubTreeFileSystem(str(path.resolve()), pafs.LocalFileSystem())
    return DeltaTable(path, version=table_version).to_pyarrow_dataset(filesystem=root)


#: Parquet files a new group table is split into, written in parallel.
CREATE_FILES = 2


def create_table(path: Path, rows: pa.Table, *, name: str, description: str,
                 files: int = CREATE_FILES) -> int:
    """Create a Delta table holding ``rows``: Parquet files written by pyarrow in parallel,
    then committed as the table's first version in one transaction.

    A backfill's main cost: measured on the 1.2M-film ``movies`` group, 4.0 CPU-seconds
    against 7.1 for ``write_deltalake`` (whose writer is single-threaded), and the files
    are written by ``files`` threads. Each file's statistics (row count, null counts,
    min/max of numbers and dates) go into the log as ``write_deltalake`` would put them,
    so later merges still skip files by ``snapshot_date``.

    Args:
        path: the table's folder (must not hold a table yet).
        rows: the rows (the schema becomes the table's).
        name: table name in the Delta metadata.
        description: table description in the Delta metadata.
        files: number of Parquet files (and threads).

    Returns:
        The table version (0).
    """
    path.mkdir(parents=True, exist_ok=True)
    step = max(1, -(-rows.num_rows // files))
    # Parquet min/max of numbers and dates only (those of the texts and lists cost 0.5 of
    # the ~4 CPU-seconds of writing the 1.2M-film movies group, and no read filters on them).
    stats_columns = [f.name for f in rows.schema if _has_min_max(f.type) or pa.types.is_boolean(f.type)]
    parts = [rows.slice(start, step) for start in range(0, rows.num_rows, step)] or [rows]

    def write(part: pa.Table) -> AddAction:
        file = f"part-{uuid.uuid4()}-c000.snappy.parquet"
        pq.write_table(part, path / file, compression="snappy", write_statistics=stats_columns)
        stat = (path / file).stat()
        return AddAction(file, stat.st_size, {}, int(stat.st_mtime * 1000), True,
                         json.dumps(file_stats(part)))

    with ThreadPoolExecutor(len(parts)) as pool:
        actions = list(pool.map(write, parts))
    create_table_with_add_actions(str(path), Schema.from_arrow(rows.schema), actions,
                                  mode="error", name=name, description=description)
    return DeltaTable(path).version()


def _has_min_max(dtype: pa.DataType) -> bool:
    """Whether a column's min/max goes into file statistics: numbers and dates."""
    return pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_date(dtype)


def file_stats(part: pa.Table) -> dict[str, Any]:
    """Delta file statistics of a data file's rows: row count, null count of every flat
    column, and min/max of integer, floating-point and date columns."""
    mins, maxs, nulls = {}, {}, {}
    for field, column in zip(part.schema, part.columns, strict=True):
        if pa.types.is_nested(field.type):
            continue
        nulls[field.name] = column.null_count
        if not _has_min_max(field.type) or column.null_count == len(column):
            continue
        low, high = pc.min_max(column).values()
        low, high = low.as_py(), high.as_py()
        if isinstance(low, float) and not (np.isfinite(low) and np.isfinite(high)):
            continue  # NaN or infinite bounds: leave them out rather than write invalid JSON
        mins[field.name] = low.isoformat() if hasattr(low, "isoformat") else low
        maxs[field.name] = high.isoformat() if hasattr(high, "isoformat") else high
    return {"numRecords": part.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}


def _as_stored_types(table: pa.Table, spec: FeatureGroupSpec) -> pa.Table:
    """Columns of a group's log with the group's declared types (cast only if they differ)."""
    target = pa.schema(
        [spec.arrow_schema.field(n) if n != DELETED else pa.field(DELETED, pa.bool_())
         for n in table.column_names]
    )
    return table if table.schema.equals(target) else table.cast(target)
