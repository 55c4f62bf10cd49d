"""The Hopsworks feature store backend: the :class:`FeatureStore` interface over the hsfs SDK.

Every Hopsworks feature-store call of this project sits in this module.

**What is created in the project** (every group declared in :mod:`movie_ratings.schema`;
names and versions explicit; versions of the data groups and of the view come from the
flows' parameters, like the local store):

* ``movies`` and ``movie_genres`` (feature groups, v1 by default): the schema.py features
  plus two bookkeeping columns, ``store_commit`` (the store commit that wrote the row) and
  ``is_tombstone`` (the film left the feed on this snapshot date). Primary key
  (``id``, ``store_commit``), event time ``snapshot_date``, offline only, time travel format
  DELTA (the format the Python client writes directly, without a Spark job).
* ``movies_current`` and ``movie_genres_current`` (same versions): the current row of every
  film (tombstones included), primary key ``id`` and no event time, so an insert replaces a
  film's row; a daily upsert reads these (only the key and compared columns), not the logs.
* ``movie_predictions`` (v1): primary key (``id``, ``model_version``), event time
  ``prediction_date``; an insert upserts on primary key + event time, which is exactly the
  history semantics of :meth:`merge_rows`.
* ``store_commits`` (v1, bookkeeping): one row per store commit, with the commit record.
* ``snapshot_rejects`` (v1, bookkeeping): quarantined records, tagged with their commit.
* ``movie_ratings`` (feature view): ``movies`` joined with ``movie_genres`` on
  (``id``, ``store_commit``), label ``imdb_rating``; the bookkeeping columns are training
  and inference helper columns, never model features.

**One current row per film.** Hopsworks merges offline inserts on primary key + event time,
so a group keyed by ``id`` with event time ``snapshot_date`` is a log with one row per film
and changed day, like the local store's. Here the store commit is also part of the key, so
rows are never overwritten: every store commit only *adds* rows (new and changed films, and
a tombstone for each film that left the feed). A film's current row as of commit ``n`` is
its row with the greatest (``snapshot_date``, ``store_commit``) among rows with
``store_commit <= n``, unless that row is a tombstone; :func:`latest_rows` does this after
every read, for groups, the view and training data alike.

**Both groups are written in lock step**: a film that changed in either group gets a row in
both, with the same snapshot date and store commit, so the view's point-in-time join of
``movie_genres`` onto ``movies`` always finds the genres row written with the movies row
(without it, a film whose genres changed after its other features would be joined with
stale genres).

**What to write** is decided by :mod:`movie_ratings.store.upsert`, the same code as the
embedded store's: this module reads the current rows and writes the plan.

**Store commits** are rows of ``store_commits``, written last: readers only read rows whose
``store_commit`` is at most the commit they read, so rows of a run that died before its
commit record are invisible; the next writer finds them with a filter on ``store_commit``
(read by the Query Service, so only those rows) and removes them (``remove_rows``) before
writing. Rows such a run wrote to a current-rows group are recognised the same way and
restored from the log.
Hopsworks' own time travel (``as_of``) is not used: its Python client refuses time-travel
queries on HUDI and ICEBERG and its Arrow Flight reader does not serve them, so reads as of
an earlier commit filter on ``store_commit`` instead, which works on every format and gives
exactly the rows the commit saw (same-day reruns included). One writer at a time is assumed
(the deployments run one ingest at a time).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.errors import DataError
from movie_ratings.hopsworks_connection import HopsworksSession, connect, translate_errors
from movie_ratings.schema import (
    BOOKKEEPING_GROUPS,
    DESCRIPTION_GROUPS,
    DOCTOR_SCRATCH,
    FEATURE_GROUPS,
    HELPER_COLUMNS,
    HELPER_FEATURES,
    HISTORY_GROUPS,
    MODEL_PROMOTIONS,
    MOVIE_GENRES,
    MOVIE_PREDICTIONS,
    MOVIE_RATINGS_VIEW,
    MOVIE_SIGNALS,
    MOVIES,
    PRIMARY_KEY,
    REJECTS_SCHEMA,
    SNAPSHOT_REJECTS,
    STORE_COMMIT,
    STORE_COMMITS,
    TOMBSTONE,
    FeatureGroupSpec,
)
from movie_ratings.schema import group_versions as every_group_version
from movie_ratings.settings import Settings
from movie_ratings.store.base import (
    GroupState,
    SnapshotInfo,
    StoreCommit,
    UpsertResult,
    group_key,
)
from movie_ratings.store.changes import GroupChanges, join_on_key
from movie_ratings.store.status import store_status
from movie_ratings.store.upsert import (
    CurrentRows,
    KnownUnchanged,
    next_commit,
    plan_upsert,
    upsert_result,
)

#: Time travel format of every group: written directly by the Python client (delta-rs).
TIME_TRAVEL_FORMAT = "DELTA"

_REJECT_RENAMES = {"column": "rejected_column"}

#: Statistics are computed by Hopsworks on every insert: only where they are worth it.
#: Numeric columns of the data groups (drift of ratings, budgets, counts); none on text
#: and list columns (costly, meaningless) or on bookkeeping groups.
STATISTICS: dict[str, dict[str, Any] | bool] = {
    MOVIES.name: {
        "enabled": True,
        "histograms": True,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": [
            "release_year", "release_month", "runtime", "budget", "n_cast", "n_directors",
            "n_writers", "n_producers", "n_companies", "n_countries", "n_spoken_languages",
            "revenue",
        ],
    },
    MOVIE_SIGNALS.name: {
        "enabled": True,
        "histograms": True,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": list(MOVIE_SIGNALS.value_columns),
    },
    MOVIE_GENRES.name: {
        "enabled": True,
        "histograms": False,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": ["n_genres", *(f.name for f in MOVIE_GENRES.features if f.dtype == pa.int8())],
    },
    MOVIE_PREDICTIONS.name: {
        "enabled": True,
        "histograms": True,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": ["predicted_rating"],
    },
    STORE_COMMITS.name: False,
    SNAPSHOT_REJECTS.name: False,
    MODEL_PROMOTIONS.name: False,
    DOCTOR_SCRATCH.name: False,
}

#: Suffix of the current-rows group kept beside each data group (``movies_current``).
CURRENT_SUFFIX = "_current"


# ------------------------------------------------------------------------------------------
# pure helpers: the Hopsworks shape of a group, conversions, reductions
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HopsworksGroup:
    """How a group is laid out in Hopsworks.

    Attributes:
        spec: the group as declared in schema.py (what readers get back).
        stored: the group as stored (with bookkeeping columns, the Hopsworks key).
        log: True for the data groups stored as a commit-tagged log.
        event_time: the event time Hopsworks is told about: None for a current-rows
            group, so that an insert replaces a film's row instead of adding one per date
            (``DeltaEngine._generate_merge_query`` merges on primary key + event time).
    """

    spec: FeatureGroupSpec
    stored: FeatureGroupSpec
    log: bool
    event_time: str | None

    @property
    def merge_keys(self) -> list[str]:
        """Columns an insert upserts on (and ``remove_rows`` matches)."""
        return list(dict.fromkeys([*self.stored.primary_key,
                                   *([self.event_time] if self.event_time else [])]))


def current_group_name(name: str) -> str:
    """The current-rows group of a data group (``movies`` -> ``movies_current``)."""
    return f"{name}{CURRENT_SUFFIX}"


def hopsworks_group(name: str) -> HopsworksGroup:
    """The Hopsworks layout of a feature group, history group or bookkeeping group.

    Raises:
        DataError: unknown group.
    """
    if name in FEATURE_GROUPS:
        spec = FEATURE_GROUPS[name]
        stored = replace(
            spec,
            features=(*spec.features, *HELPER_FEATURES),
            primary_key=(*spec.primary_key, STORE_COMMIT),
        )
        return HopsworksGroup(spec, stored, log=True, event_time=stored.event_time)
    if name.endswith(CURRENT_SUFFIX) and name[: -len(CURRENT_SUFFIX)] in FEATURE_GROUPS:
        spec = FEATURE_GROUPS[name[: -len(CURRENT_SUFFIX)]]
        stored = replace(
            spec,
            name=name,
            description=(f"Current row of every film in {spec.name} (one row per film, "
                         "replaced on change; a cache of the log's newest rows)."),
            features=(*spec.features, *HELPER_FEATURES),
        )
        return HopsworksGroup(spec, stored, log=False, event_time=None)
    if name in HISTORY_GROUPS:
        spec = HISTORY_GROUPS[name]
        return HopsworksGroup(spec, spec, log=False, event_time=spec.event_time)
    if name in BOOKKEEPING_GROUPS:
        spec = BOOKKEEPING_GROUPS[name]
        return HopsworksGroup(spec, spec, log=False, event_time=spec.event_time)
    raise DataError(f"unknown feature group {name!r}")


_OFFLINE_TYPES: list[tuple[Callable[[pa.DataType], bool], str]] = [
    (pa.types.is_int64, "bigint"),
    (pa.types.is_int32, "int"),
    # The SDK infers "int" for int8/int16 columns and refuses an insert whose types differ
    # from the group's, so the small integers (the one-hot genres) are declared "int".
    (pa.types.is_int16, "int"),
    (pa.types.is_int8, "int"),
    (pa.types.is_float64, "double"),
    (pa.types.is_float32, "float"),
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_date32, "date"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_string, "string"),
]


def offline_type(dtype: pa.DataType) -> str:
    """Hopsworks offline (Hive) type of an Arrow type.

    Raises:
        DataError: a type with no Hopsworks equivalent here.
    """
    if pa.types.is_list(dtype):
        return f"array<{offline_type(dtype.value_type)}>"
    for test, name in _OFFLINE_TYPES:
        if test(dtype):
            return name
    raise DataError(f"no Hopsworks type for Arrow type {dtype}")


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """A pandas frame for ``insert`` whose columns keep their Arrow types exactly.

    The SDK infers each column's type from the frame and refuses an insert whose types
    differ from the group's. Plain ``to_pandas`` would make an int column with nulls
    float64 and an all-null string column untyped (which the SDK cannot type at all);
    Arrow-backed columns keep int, date, list<string> and timestamp types as declared.
    """
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def _column(values: pd.Series, field: pa.Field, group: str) -> pa.Array:
    dtype = field.type
    try:
        if pa.types.is_list(dtype):
            try:  # lists or numpy arrays per cell, None/NaN for missing: Arrow reads them as they are
                return pa.array(values, type=dtype, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                cells = [None if not hasattr(v, "__len__") and _is_missing(v) else list(v)
                         for v in values]
                return pa.array(cells, type=dtype)
        if pa.types.is_date(dtype) and (
            pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_object_dtype(values)
        ):
            values = pd.to_datetime(values, errors="raise", utc=True)
            return pc.cast(pa.array(values.dt.date, from_pandas=True), dtype)
        if pa.types.is_timestamp(dtype):
            values = pd.to_datetime(values, errors="raise", utc=dtype.tz is not None)
        array = pa.array(values, from_pandas=True)
        return array if array.type == dtype else pc.cast(array, dtype)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError) as exc:
        raise DataError(
            f"feature group {group}: column {field.name} read back from Hopsworks does not "
            f"convert to {dtype}: {exc}"
        ) from None


def frame_to_table(frame: pd.DataFrame, schema: pa.Schema, group: str) -> pa.Table:
    """An Arrow table with ``schema`` from a frame the SDK returned.

    The SDK's readers give dates as datetimes or date objects, nullable integers as floats
    or pandas' nullable types, and lists as lists or numpy arrays, depending on the reader;
    all of these are accepted.

    Raises:
        DataError: a column is missing or does not convert, naming both.
    """
    missing = [n for n in schema.names if n not in frame.columns]
    if missing:
        raise DataError(
            f"feature group {group}: Hopsworks returned no column(s) {missing}; found "
            f"{list(frame.columns)}"
        )
    frame = frame.reset_index(drop=True)
    return pa.Table.from_arrays(
        [_column(frame[f.name], f, group) for f in schema], schema=schema
    )


def latest_rows(log: pa.Table, key: str, event_time: str, *, upto_commit: int) -> pa.Table:
    """Current rows of a commit-tagged log as of a store commit, sorted by key.

    Args:
        log: rows with ``key``, ``event_time``, ``store_commit`` and ``is_tombstone``.
        key: the film key.
        event_time: event time column.
        upto_commit: rows written by later commits are ignored.

    Returns:
        One row per live key: the row with the greatest (event time, store commit); a
        film whose latest row is a tombstone is left out.
    """
    commits = log[STORE_COMMIT].to_numpy(zero_copy_only=False)
    visible = np.flatnonzero(commits <= upto_commit)
    ids = log[key].to_numpy(zero_copy_only=False)[visible]
    time_column = log[event_time]
    if pa.types.is_date32(time_column.type):
        time_column = pc.cast(time_column, pa.int32())
    times = pc.cast(time_column, pa.int64()).to_numpy(zero_copy_only=False)[visible]
    order = np.lexsort((commits[visible], times, ids))  # by key, then oldest to newest
    sorted_ids = ids[order]
    last = np.r_[sorted_ids[1:] != sorted_ids[:-1], True] if len(order) else np.array([], bool)
    rows = visible[order[last]]
    dead = pc.fill_null(log[TOMBSTONE], False).to_numpy(zero_copy_only=False)[rows]
    return log.take(pa.array(rows[~dead], pa.int64()))


def latest_rows_with_tombstones(log: pa.Table, key: str, event_time: str) -> pa.Table:
    """The newest row of every key in a commit-tagged log, a tombstone when that is the newest."""
    if log.num_rows == 0:
        return log
    ids = log[key].to_numpy(zero_copy_only=False)
    times = pc.cast(pc.cast(log[event_time], pa.int32()), pa.int64()).to_numpy(zero_copy_only=False)
    commits = log[STORE_COMMIT].to_numpy(zero_copy_only=False)
    order = np.lexsort((commits, times, ids))
    sorted_ids = ids[order]
    last = np.r_[sorted_ids[1:] != sorted_ids[:-1], True]
    return log.take(pa.array(order[last], pa.int64()))


def _merge_repair(repair: pa.Table, rows: pa.Table) -> pa.Table:
    """Rows for the current-rows group: this commit's rows, and the repair for other films."""
    if repair.num_rows == 0:
        return rows
    others = repair.filter(pc.invert(pc.is_in(repair[PRIMARY_KEY], rows[PRIMARY_KEY])))
    return pa.concat_tables([others, rows.cast(repair.schema)])


def log_rows(
    table: pa.Table, stored: FeatureGroupSpec, commit: int, *, tombstone: bool = False
) -> pa.Table:
    """Rows of a group ready to append: the features plus the bookkeeping columns."""
    n = table.num_rows
    rows = table.select([f.name for f in stored.features if f.name not in HELPER_COLUMNS])
    rows = rows.append_column(STORE_COMMIT, pa.array(np.full(n, commit, np.int64)))
    rows = rows.append_column(TOMBSTONE, pa.array(np.full(n, tombstone, bool)))
    return rows.cast(stored.arrow_schema)


def tombstone_rows(ids: np.ndarray, stored: FeatureGroupSpec, snapshot_date: Any, commit: int) -> pa.Table:
    """Rows marking ``ids`` deleted as of ``snapshot_date`` (features null)."""
    n = len(ids)
    columns = []
    for f in stored.features:
        if f.name == PRIMARY_KEY:
            columns.append(pa.array(ids, f.dtype))
        elif f.name == stored.event_time:
            columns.append(pa.array([snapshot_date] * n, f.dtype))
        elif f.name == STORE_COMMIT:
            columns.append(pa.array(np.full(n, commit, np.int64)))
        elif f.name == TOMBSTONE:
            columns.append(pa.array(np.ones(n, bool)))
        else:
            columns.append(pa.nulls(n, f.dtype))
    return pa.Table.from_arrays(columns, schema=stored.arrow_schema)


def lockstep_ids(changes: dict[str, GroupChanges]) -> tuple[np.ndarray, np.ndarray]:
    """Films to write in every description group (changed or new in any of them), and
    films deleted in any group. The signals group is written on its own changes only."""
    written = np.unique(np.concatenate(
        [c.changed_or_new_ids(PRIMARY_KEY) for n, c in changes.items() if n in DESCRIPTION_GROUPS]
        or [np.array([], np.int64)]
    ).astype(np.int64))
    deleted = np.unique(np.concatenate(
        [c.deleted_ids for c in changes.values()] or [np.array([], np.int64)]
    ).astype(np.int64))
    return written, deleted


def numeric_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Only the finite numbers of a metrics dict (what Hopsworks accepts as model metrics)."""
    out = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            continue
        if np.isfinite(value):
            out[name] = float(value)
    return out


def view_schema() -> pa.Schema:
    """Columns of ``read_feature_view``: the local store's view, in the same order."""
    fields = list(MOVIES.arrow_schema)
    names = {f.name for f in fields}
    fields += [f for f in MOVIE_GENRES.arrow_schema if f.name not in names]
    names = {f.name for f in fields}
    fields += [f for f in MOVIE_SIGNALS.arrow_schema if f.name not in names]
    return pa.schema(fields)


def _commit_to_row(commit: StoreCommit) -> pa.Table:
    return pa.Table.from_pylist(
        [{
            "commit_number": commit.number,
            "created_at": datetime.fromisoformat(commit.created_at),
            "snapshot_date": commit.snapshot_date,
            "source": commit.source,
            "is_demo": commit.is_demo,
            "record": json.dumps(commit.to_json(), sort_keys=True),
        }],
        schema=STORE_COMMITS.arrow_schema,
    )


# ------------------------------------------------------------------------------------------
# the adapter
# ------------------------------------------------------------------------------------------


class HopsworksFeatureStore:
    """Feature groups, the view, commits and rejects in a Hopsworks project.

    Args:
        feature_store: the SDK's feature store (``project.get_feature_store()``).
        feature_cls: the SDK's ``hsfs.feature.Feature`` class (imported when omitted).
        address: where the store is, for status output.
        bookkeeping_version: version of the bookkeeping groups (``store_commits``,
            ``snapshot_rejects``, ``model_promotions``); 1 unless a test isolates itself.
    """

    backend = "hopsworks"

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
    # `movie-ratings doctor`: a write, a read through the Query Service, a delete
    # -------------------------------------------------------------------------------------

    def doctor_write(self, check_id: int) -> str:
        """Insert one row into the scratch group (delta-rs write from this client)."""
        row = pa.Table.from_pylist(
            [{"check_id": check_id, "checked_at": datetime.now(UTC), "note": "movie-ratings doctor"}],
            schema=DOCTOR_SCRATCH.arrow_schema)
        self.insert_rows(DOCTOR_SCRATCH.name, 1, row)
        return f"wrote a row to scratch group {DOCTOR_SCRATCH.name} v1"

    def doctor_read(self, check_id: int) -> str:
        """Read the scratch group back (offline reads go through the Query Service)."""
        rows = self.read_rows(DOCTOR_SCRATCH.name, 1)
        if check_id not in rows["check_id"].to_pylist():
            raise DataError(f"the row written to {DOCTOR_SCRATCH.name} v1 was not read back")
        return f"read {rows.num_rows} row(s) back through the Query Service"

    def doctor_delete(self) -> str:
        """Delete the scratch group."""
        handle = self._group(DOCTOR_SCRATCH.name, 1, create=False)
        if handle is not None:
            with translate_errors(f"deleting scratch group {DOCTOR_SCRATCH.name} v1"):
                handle.delete()
        self._groups.pop((DOCTOR_SCRATCH.name, 1), None)
        return f"deleted scratch group {DOCTOR_SCRATCH.name} v1"

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

    # -------------------------------------------------------------------------------------
    # writes
    # -------------------------------------------------------------------------------------

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

    # -------------------------------------------------------------------------------------
    # reads
    # -------------------------------------------------------------------------------------

    def read_group(
        self, name: str, version: int, *, commit: int | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        spec = FEATURE_GROUPS.get(name)
        if spec is None:
            raise DataError(f"unknown feature group {name!r}")
        resolved = self._resolve(commit)
        resolved.group(name, version)  # must exist at that commit
        needed = None if columns is None else list(dict.fromkeys(
            [PRIMARY_KEY, spec.event_time, STORE_COMMIT, TOMBSTONE, *columns]))
        log = self.read_rows(name, version, needed)
        current = latest_rows(log, PRIMARY_KEY, spec.event_time, upto_commit=resolved.number)
        return current.select(columns if columns is not None else list(spec.column_names))

    def _view_query(self, group_versions: dict[str, int]) -> Any:
        movies = self._created(MOVIES.name, group_versions[MOVIES.name])
        genres = self._created(MOVIE_GENRES.name, group_versions[MOVIE_GENRES.name])
        signals = self._created(MOVIE_SIGNALS.name, group_versions[MOVIE_SIGNALS.name])
        genre_values = [n for n in MOVIE_GENRES.column_names
                        if n not in (PRIMARY_KEY, *MOVIE_RATINGS_VIEW.exclude)]
        with translate_errors("building the movie_ratings query"):
            # The signals (and the label) joined here are those of each movies row's date;
            # reads replace them with the signals as of the commit read (_with_signals).
            return movies.select_all().join(
                genres.select(genre_values), on=[PRIMARY_KEY, STORE_COMMIT], join_type="left"
            ).join(signals.select(list(MOVIE_SIGNALS.value_columns)), on=[PRIMARY_KEY],
                   join_type="left")

    def ensure_feature_view(self, name: str, version: int, group_versions: dict[str, int]) -> None:
        if name != MOVIE_RATINGS_VIEW.name:
            raise DataError(f"unknown feature view {name!r}")
        group_versions = every_group_version(group_versions)
        wanted = {g: group_versions[g] for g in MOVIE_RATINGS_VIEW.groups}
        with translate_errors(f"looking up feature view {name} v{version}"):
            existing = self._fs.get_feature_view(name=name, version=version)
        if existing is not None:
            with translate_errors(f"reading feature view {name} v{version}"):
                found = {fg.name: fg.version for fg in existing.query.featuregroups}
            if found != wanted:
                raise DataError(
                    f"feature view {name} version {version} already exists with groups "
                    f"{found}; create a new view version for {wanted}"
                )
            return
        query = self._view_query(wanted)
        with translate_errors(f"creating feature view {name} v{version}"):
            self._fs.get_or_create_feature_view(
                name=name,
                version=version,
                query=query,
                labels=[MOVIE_RATINGS_VIEW.label],
                description=(f"{MOVIE_RATINGS_VIEW.description} Groups: "
                             + ", ".join(f"{g} v{v}" for g, v in wanted.items())),
                inference_helper_columns=list(HELPER_COLUMNS),
                training_helper_columns=list(HELPER_COLUMNS),
            )

    def feature_view_handle(self, name: str, version: int) -> Any:
        """The SDK's feature view (for the registry's model lineage).

        Raises:
            DataError: no such view.
        """
        with translate_errors(f"looking up feature view {name} v{version}"):
            view = self._fs.get_feature_view(name=name, version=version)
        if view is None:
            raise DataError(f"feature view {name} version {version} does not exist: run a backfill")
        return view

    def _current_view_rows(self, frame: pd.DataFrame, upto_commit: int, what: str,
                           signals_version: int) -> pa.Table:
        schema = view_schema()
        full = pa.schema([*schema, *(f for f in _HELPER_FEATURES_SCHEMA)])
        table = frame_to_table(frame, full, what)
        current = latest_rows(table, PRIMARY_KEY, MOVIES.event_time, upto_commit=upto_commit)
        return self._with_signals(current.select(schema.names), signals_version, upto_commit)

    def _with_signals(self, rows: pa.Table, version: int, upto_commit: int) -> pa.Table:
        """The view's rows with each film's signals as of the commit read.

        The query's point-in-time join pairs a movies row with the signals of its own
        date, but the signals (the label among them) move daily without a movies row: the
        signals group is read as of the commit and its values replace the joined ones.
        """
        log = self.read_rows(MOVIE_SIGNALS.name, version)
        signals = latest_rows(log, PRIMARY_KEY, MOVIE_SIGNALS.event_time, upto_commit=upto_commit)
        values = list(MOVIE_SIGNALS.value_columns)
        joined = join_on_key(rows.drop_columns(values), signals.select([PRIMARY_KEY, *values]),
                             PRIMARY_KEY)
        return joined.select(rows.column_names)

    def read_feature_view(self, name: str, version: int, *, commit: int | None = None) -> pa.Table:
        view = self.feature_view_handle(name, version)
        resolved = self._resolve(commit)
        with translate_errors(f"reading feature view {name} v{version}"):
            frame = view.query.read(dataframe_type="pandas")
        return self._current_view_rows(frame, resolved.number, f"view {name} v{version}",
                                       _view_group_version(view, MOVIE_SIGNALS.name))

    def create_training_data(
        self, name: str, version: int, *, commit: int | None = None, description: str = ""
    ) -> tuple[pa.Table, int]:
        """Training data through the view, registered in Hopsworks as a training dataset.

        ``feature_view.training_data`` records an in-memory training-dataset version (the
        view, the filter and statistics) that a model can point to; the rows are reduced to
        one current row per film as of ``commit``, exactly like :meth:`read_feature_view`.
        The split (temporal by release date, or random) is applied by the training code on
        these rows, the same on every backend: Hopsworks' own ``train_test_split`` splits
        on event time (when a row was written), which is not the release-date split.

        Args:
            name: view name.
            version: view version.
            commit: store commit (latest if None).
            description: recorded with the training dataset.

        Returns:
            The rows and the training-dataset version to record in the model card.
        """
        view = self.feature_view_handle(name, version)
        resolved = self._resolve(commit)
        movies_version = _view_movies_version(view)
        resolved.group(MOVIES.name, movies_version)  # must exist at that commit
        movies = self._group(MOVIES.name, movies_version, create=False)
        if movies is None:
            raise DataError(f"feature group {MOVIES.name} v{movies_version} does not exist: run a backfill")
        with translate_errors(f"creating training data from view {name} v{version}"):
            # Explicit bounds: without them the SDK keeps only event_time < now
            # (FeatureViewEngine._set_event_time), dropping a snapshot dated later today.
            features, labels = view.training_data(
                start_time=date(1970, 1, 2),
                end_time=resolved.snapshot_date + timedelta(days=1),
                description=description or f"store commit {resolved.number}",
                extra_filter=movies.get_feature(STORE_COMMIT) <= resolved.number,
                primary_key=True,
                event_time=True,
                training_helper_columns=True,
                dataframe_type="pandas",
            )
            td_version = view.get_last_accessed_training_dataset()
        frame = pd.concat([features.reset_index(drop=True), labels.reset_index(drop=True)], axis=1)
        rows = self._current_view_rows(frame, resolved.number, f"training data of {name} v{version}",
                                       _view_group_version(view, MOVIE_SIGNALS.name))
        return rows, int(td_version)

    def read_rejects(self, *, commit: int | None = None) -> pa.Table:
        resolved = self._resolve(commit)
        stored = self.read_rows(SNAPSHOT_REJECTS.name, self.bookkeeping_version)
        return _current_rejects(stored, resolved.number)

    # -------------------------------------------------------------------------------------
    # history groups (predictions)
    # -------------------------------------------------------------------------------------

    def merge_rows(self, name: str, version: int, table: pa.Table) -> int:
        spec = HISTORY_GROUPS.get(name)
        if spec is None:
            raise DataError(f"{name!r} is not a history group")
        try:
            table = table.select(list(spec.column_names)).cast(spec.arrow_schema)
        except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(f"rows for {name} do not match its schema: {exc}") from None
        keys = [*spec.primary_key, spec.event_time]
        if table.group_by(keys).aggregate([]).num_rows != table.num_rows:
            raise DataError(f"rows for {name} repeat a key {keys}")
        self._append_missing_features(name, version, spec)
        # Hopsworks upserts offline rows on primary key + event time: other keys are kept.
        self.insert_rows(name, version, table)
        handle = self._created(name, version)
        with translate_errors(f"reading the commits of {name} v{version}"):
            details = handle.commit_details(limit=1)
        return max((int(k) for k in details), default=0)

    def _saved_feature_names(self, name: str, version: int) -> list[str] | None:
        """Names of a saved group's features (None when the group does not exist)."""
        handle = self._group(name, version, create=False)
        if handle is None:
            return None
        return [f.name for f in handle.columns]

    def _append_missing_features(self, name: str, version: int, spec: FeatureGroupSpec) -> None:
        """A history group saved before this code's schema gained a column (``rating_low``,
        ``rating_high``) gets it appended, null in its older rows, so the insert's columns
        match; a missing key or event time is a different group, refused."""
        handle = self._group(name, version, create=False)
        if handle is None:
            return
        present = {f.name for f in handle.columns}
        missing = [f for f in spec.features if f.name not in present]
        keys = {*spec.primary_key, spec.event_time}
        if any(f.name in keys for f in missing):
            raise DataError(f"feature group {name} v{version} in Hopsworks lacks key columns "
                            f"{[f.name for f in missing if f.name in keys]}: it is not this code's {name}")
        if not missing:
            return
        feature = self._feature()
        with translate_errors(f"adding {[f.name for f in missing]} to feature group {name} v{version}"):
            handle.append_features(
                [feature(name=f.name, type=offline_type(f.dtype), description=f.description) for f in missing])

    def read_all_rows(self, name: str, version: int) -> pa.Table:
        spec = HISTORY_GROUPS.get(name)
        if spec is None:
            raise DataError(f"{name!r} is not a history group")
        present = self._saved_feature_names(name, version)
        absent = [c for c in spec.column_names if present is not None and c not in present]
        if not absent:
            return self.read_rows(name, version)
        # a group from before a column was added (no insert by this code since): null there
        rows = self.read_rows(name, version, columns=[c for c in spec.column_names if c not in absent])
        return pa.Table.from_arrays(
            [rows[c] if c in rows.column_names else pa.nulls(rows.num_rows, spec.arrow_schema.field(c).type)
             for c in spec.column_names], schema=spec.arrow_schema)

    def status(self) -> dict[str, Any]:
        latest = self.latest_commit()
        if latest is None:
            return store_status(self.backend, self.address, None)
        rejects_total = self.read_rejects(commit=latest.number).num_rows
        with translate_errors(f"listing feature views {MOVIE_RATINGS_VIEW.name}"):
            found_views = self._fs.get_feature_views(name=MOVIE_RATINGS_VIEW.name) or []
            views = sorted(
                ({"name": v.name, "version": v.version, "label": MOVIE_RATINGS_VIEW.label,
                  "groups": {fg.name: fg.version for fg in v.query.featuregroups}}
                 for v in found_views),
                key=lambda v: v["version"],
            )
        return store_status(self.backend, self.address, latest, commits=len(self.commits()),
                            rejects_total=rejects_total, views=views)


_HELPER_FEATURES_SCHEMA = pa.schema([pa.field(f.name, f.dtype) for f in HELPER_FEATURES])


def _view_movies_version(view: Any) -> int:
    return _view_group_version(view, MOVIES.name)


def _view_group_version(view: Any, group: str) -> int:
    for fg in view.query.featuregroups:
        if fg.name == group:
            return int(fg.version)
    raise DataError(f"feature view {view.name} does not read the {group} group (created "
                    "before the signals group existed: create a new view version)")


def _reject_rows(rejects: pa.Table, commit: int) -> pa.Table:
    rows = rejects.cast(REJECTS_SCHEMA).rename_columns(
        [_REJECT_RENAMES.get(n, n) for n in REJECTS_SCHEMA.names]
    )
    n = rows.num_rows
    rows = rows.append_column(STORE_COMMIT, pa.array(np.full(n, commit, np.int64)))
    rows = rows.append_column("reject_index", pa.array(np.arange(n, dtype=np.int64)))
    return rows.select(SNAPSHOT_REJECTS.arrow_schema.names).cast(SNAPSHOT_REJECTS.arrow_schema)


def _current_rejects(stored: pa.Table, upto_commit: int) -> pa.Table:
    """Rejects as of a commit: per snapshot date, those of the last commit of that date.

    A rerun of a day replaces that day's rejects, as in the local store.
    """
    visible = stored.filter(pc.less_equal(stored[STORE_COMMIT], upto_commit))
    if visible.num_rows == 0:
        return REJECTS_SCHEMA.empty_table()
    last = visible.group_by("snapshot_date").aggregate([(STORE_COMMIT, "max")])
    keep = set(zip(last["snapshot_date"].to_pylist(), last[f"{STORE_COMMIT}_max"].to_pylist(), strict=True))
    mask = [
        (d, c) in keep
        for d, c in zip(visible["snapshot_date"].to_pylist(), visible[STORE_COMMIT].to_pylist(), strict=True)
    ]
    kept = visible.filter(pa.array(mask)).sort_by([(STORE_COMMIT, "ascending"), ("reject_index", "ascending")])
    back = {v: k for k, v in _REJECT_RENAMES.items()}
    kept = kept.rename_columns([back.get(n, n) for n in kept.column_names])
    return kept.select(REJECTS_SCHEMA.names).cast(REJECTS_SCHEMA)


def open_hopsworks_store(settings: Settings, *, sdk: Any | None = None) -> HopsworksFeatureStore:
    """Log in (once per process) and open the project's feature store.

    Args:
        settings: the project's :class:`~movie_ratings.settings.Settings`.
        sdk: the ``hopsworks`` module (imported when omitted; tests pass a fake).

    Raises:
        ConfigurationError: settings missing (named), extra not installed, key refused.
        TransientError: Hopsworks could not be reached.
    """
    return feature_store_of(connect(settings, sdk=sdk))


def feature_store_of(session: HopsworksSession) -> HopsworksFeatureStore:
    """The feature store of a logged-in project."""
    with translate_errors(f"opening the feature store of project {session.config.project}"):
        feature_store = session.project.get_feature_store()
    feature_cls = getattr(session.sdk, "Feature", None)  # a fake's; the real one comes from hsfs
    return HopsworksFeatureStore(feature_store, feature_cls=feature_cls, address=session.config.address)
