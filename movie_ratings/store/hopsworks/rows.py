"""Rows of the commit-tagged logs: building them (data, tombstones, commit records,
rejects) and reducing them to the current rows as of a commit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.schema import (
    DESCRIPTION_GROUPS,
    FEATURE_GROUPS,
    HELPER_COLUMNS,
    MOVIE_GENRES,
    MOVIE_SIGNALS,
    MOVIES,
    PRIMARY_KEY,
    REJECTS_SCHEMA,
    SNAPSHOT_REJECTS,
    SNAPSHOT_REJECTS_RENAMES,
    STORE_COMMIT,
    STORE_COMMITS,
    TOMBSTONE,
    FeatureGroupSpec,
)
from movie_ratings.store.base import StoreCommit
from movie_ratings.store.changes import GroupChanges, deleted_rows


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
    features = deleted_rows(ids, FEATURE_GROUPS[stored.name], snapshot_date)
    return log_rows(features, stored, commit, tombstone=True)


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


def _reject_rows(rejects: pa.Table, commit: int) -> pa.Table:
    rows = rejects.cast(REJECTS_SCHEMA).rename_columns(
        [SNAPSHOT_REJECTS_RENAMES.get(n, n) for n in REJECTS_SCHEMA.names]
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
    back = {v: k for k, v in SNAPSHOT_REJECTS_RENAMES.items()}
    kept = kept.rename_columns([back.get(n, n) for n in kept.column_names])
    return kept.select(REJECTS_SCHEMA.names).cast(REJECTS_SCHEMA)
