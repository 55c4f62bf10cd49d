"""Pure functions that turn a feature-group log into current rows and a snapshot into changes.

A feature group is stored as a log keyed by (primary key, event time): a row is appended
only when a film's features change, and a deletion is a tombstone row. This mirrors how
Hopsworks merges offline inserts on primary key + event time, keeps every earlier version
readable for free, and makes a daily update cost only the changed rows.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.schema import FeatureGroupSpec
from movie_ratings.sorted_keys import find_sorted

#: Columns compared at once by :func:`diff_against_log` (the machine it was tuned on has 2 cores).
DIFF_THREADS = 2
#: Marks a tombstone row in the stored log (not a feature; never leaves the store).
DELETED = "_deleted"


@dataclass(frozen=True)
class GroupChanges:
    """What a snapshot changes in one feature group.

    Attributes:
        upserts: incoming rows that are new or differ from the current row.
        deleted_ids: keys present in the group but absent from the snapshot.
        new: count of keys not yet in the group.
        changed: count of keys whose values differ.
        unchanged: count of keys with identical values.
        descriptive_ids: keys already stored whose descriptive columns (see
            :func:`diff_against_log`) changed; empty when none were named.
        changed_ids: keys already stored whose values changed.
    """

    upserts: pa.Table
    deleted_ids: np.ndarray
    new: int
    changed: int
    unchanged: int
    descriptive_ids: np.ndarray = field(default_factory=lambda: np.array([], np.int64))
    changed_ids: np.ndarray = field(default_factory=lambda: np.array([], np.int64))

    @property
    def deleted(self) -> int:
        return len(self.deleted_ids)

    @property
    def is_empty(self) -> bool:
        return self.upserts.num_rows == 0 and self.deleted == 0

    def changed_or_new_ids(self, key: str) -> np.ndarray:
        return self.upserts[key].to_numpy()


@dataclass(frozen=True)
class LogIndex:
    """Where the current row of each live key sits in a feature-group log.

    Built from three narrow columns (key, event time, tombstone flag), so a daily update
    can find every film's current row without reading the wide feature columns.

    Attributes:
        ids: live keys, sorted.
        positions: row number in the log of each key's current row.
    """

    ids: np.ndarray
    positions: np.ndarray

    @classmethod
    def build(cls, log_keys: pa.Table, key: str, event_time: str) -> LogIndex:
        """Index a log from its key, event time and (optional) ``_deleted`` columns."""
        ids = log_keys[key].to_numpy()
        times = pc.cast(log_keys[event_time], pa.int32()).to_numpy()
        order = np.lexsort((-times, ids))  # by key, newest first
        sorted_ids = ids[order]
        first = np.r_[True, sorted_ids[1:] != sorted_ids[:-1]] if len(ids) else np.array([], bool)
        latest = order[first]
        if DELETED in log_keys.column_names:
            deleted = pc.fill_null(log_keys[DELETED], False).to_numpy(zero_copy_only=False)
            latest = latest[~deleted[latest]]
        return cls(ids=ids[latest], positions=latest)

    @classmethod
    def of_current(cls, current: pa.Table, key: str) -> LogIndex:
        """Index a table that already holds one row per key."""
        ids = current[key].to_numpy()
        order = np.argsort(ids, kind="stable")
        return cls(ids=ids[order], positions=order)


def current_rows(log: pa.Table, key: str, event_time: str) -> pa.Table:
    """The latest row of each key in a log, tombstones removed, in log order.

    Args:
        log: rows of a feature group, possibly several per key, with a ``_deleted`` column.
        key: primary key column.
        event_time: event time column.

    Returns:
        A new table with one row per live key and without the ``_deleted`` column.
    """
    index = LogIndex.build(log, key, event_time)
    out = log.drop_columns([DELETED]) if DELETED in log.column_names else log
    if len(index.positions) == log.num_rows:  # nothing superseded or deleted: no copy
        return out
    return out.take(pa.array(np.sort(index.positions)))


def _lists_equal(a: pa.Array, b: pa.Array) -> np.ndarray:
    """Row-wise equality of two list arrays: same length and the same items in order.

    Rows whose item ranges have the same length in both arrays are compared item by item
    straight from the arrays' item buffers, as zero-copy slices over the runs of such rows
    (every row but the few whose length changed), without copying the lists first.
    """
    n = len(a)
    a_null = pc.is_null(a).to_numpy(zero_copy_only=False)
    b_null = pc.is_null(b).to_numpy(zero_copy_only=False)
    a_off, b_off = a.offsets.to_numpy(), b.offsets.to_numpy()
    a_len, b_len = np.diff(a_off), np.diff(b_off)
    # A null list may still span items; such a row is compared too but counts as equal
    # only when both are null.
    good = (a_len == b_len) & (a_null == b_null)
    bad_rows = np.flatnonzero(~good)
    starts, ends = np.r_[0, bad_rows + 1], np.r_[bad_rows, n]
    runs = [(s, e) for s, e in zip(starts.tolist(), ends.tolist(), strict=True) if e > s]
    items_a = pa.chunked_array(
        [a.values.slice(a_off[s], a_off[e] - a_off[s]) for s, e in runs], a.type.value_type
    )
    items_b = pa.chunked_array(
        [b.values.slice(b_off[s], b_off[e] - b_off[s]) for s, e in runs], b.type.value_type
    )
    differs = ~good
    if len(items_a):
        items_equal = _scalars_equal(items_a, items_b)
        parents = np.repeat(np.flatnonzero(good), a_len[good])
        differs[parents[~items_equal]] = True
    return ~differs | (a_null & b_null)


def _scalars_equal(a: pa.Array | pa.ChunkedArray, b: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Element-wise equality where null equals null and NaN equals NaN."""
    same = pc.or_(
        pc.fill_null(pc.equal(a, b), False), pc.and_(pc.is_null(a), pc.is_null(b))
    )
    if pa.types.is_floating(a.type):
        same = pc.or_(same, pc.fill_null(pc.and_(pc.is_nan(a), pc.is_nan(b)), False))
    return same.to_numpy(zero_copy_only=False)


def same_values(a: pa.ChunkedArray, b: pa.ChunkedArray) -> np.ndarray:
    """Element-wise equality where two nulls (or two NaNs) are equal; lists item by item.

    Args:
        a: values.
        b: values of the same length and type.

    Returns:
        Boolean numpy array.
    """
    if pa.types.is_list(a.type) or pa.types.is_large_list(a.type):
        a = a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a
        b = b.combine_chunks() if isinstance(b, pa.ChunkedArray) else b
        return _lists_equal(a, b)
    return _scalars_equal(a, b)  # chunked arrays compare as they are, without a copy


def diff_against_log(
    index: LogIndex,
    read_column: Callable[[str], pa.ChunkedArray],
    incoming: pa.Table,
    spec: FeatureGroupSpec,
    descriptive: tuple[str, ...] = (),
) -> GroupChanges:
    """Compare a snapshot's rows with the current rows of a log, one column at a time.

    Only one stored column is in memory at a time, taken at the current rows' positions
    in the incoming order; the incoming side is compared in place.

    Args:
        index: where each live key's current row is in the log.
        read_column: the log's column by name (all log rows, in log order).
        incoming: one row per key, built from the snapshot.
        spec: the group, naming the key and which columns are values.
        descriptive: compared columns whose changes are also reported on their own, in
            ``descriptive_ids`` (the broken-feed guard counts them).

    Returns:
        The changes; unchanged rows are not in ``upserts``.
    """
    (key,) = spec.primary_key
    inc_ids = incoming[key].to_numpy()
    if len(index.ids) == 0:
        return GroupChanges(incoming, np.array([], np.int64), len(inc_ids), 0, 0)
    found, pos = find_sorted(index.ids, inc_ids)
    # For each incoming row, the log row of its current version (null when new).
    aligned = pa.array(index.positions[pos], mask=~found)
    differs = np.zeros(len(inc_ids), dtype=bool)
    described = np.zeros(len(inc_ids), dtype=bool)

    def column_differs(name: str) -> np.ndarray:
        return ~same_values(incoming[name], read_column(name).take(aligned))

    # Arrow reads, takes and compares without the GIL: columns go in parallel, each
    # thread holding one stored column at a time.
    columns = spec.compared_columns
    with ThreadPoolExecutor(DIFF_THREADS) as pool:
        for name, column in zip(columns, pool.map(column_differs, columns), strict=True):
            differs |= column
            if name in descriptive:
                described |= column
    changed = differs & found

    present = np.zeros(len(index.ids), dtype=bool)
    present[pos[found]] = True
    write = np.flatnonzero(~found | changed)
    return GroupChanges(
        upserts=incoming.take(pa.array(write, pa.int64())),
        deleted_ids=index.ids[~present],
        new=int((~found).sum()),
        changed=int(changed.sum()),
        unchanged=int(found.sum() - changed.sum()),
        descriptive_ids=inc_ids[described & found],
        changed_ids=inc_ids[changed],
    )


def changed_in_columns(
    index: LogIndex,
    read_column: Callable[[str], pa.ChunkedArray],
    incoming: pa.Table,
    key: str,
    columns: tuple[str, ...],
    candidates: np.ndarray,
) -> np.ndarray:
    """Which of ``candidates`` (stored keys, all in ``incoming``) differ in ``columns``.

    Used when a group compares a content hash only and someone needs to know *which*
    columns changed (the broken-feed guard): only the candidates' rows are compared.

    Returns:
        The candidate keys whose value changed in at least one of ``columns``.
    """
    if not len(candidates) or not columns:
        return np.array([], np.int64)
    inc_ids = incoming[key].to_numpy()
    rows = np.flatnonzero(np.isin(inc_ids, candidates))
    mine = incoming.take(pa.array(rows, pa.int64()))
    pos = np.searchsorted(index.ids, inc_ids[rows])
    aligned = pa.array(index.positions[pos], pa.int64())
    differs = np.zeros(len(rows), dtype=bool)
    for name in columns:
        differs |= ~same_values(mine[name], read_column(name).take(aligned))
    return inc_ids[rows][differs]


def keep_quarantined(changes: GroupChanges, quarantined_ids: np.ndarray) -> GroupChanges:
    """The changes without deleting films whose record in the snapshot was quarantined.

    A film missing from the cleaned snapshot because its new record failed a check has
    not left the feed: it keeps its last good row (the bad record is in the rejects)
    instead of getting a tombstone.

    Args:
        changes: the output of :func:`diff_against_log`.
        quarantined_ids: ids of the snapshot's rejected records (any order, repeats allowed).

    Returns:
        The same changes, with those ids taken out of ``deleted_ids``.
    """
    if not changes.deleted or not len(quarantined_ids):
        return changes
    kept = np.isin(changes.deleted_ids, quarantined_ids)
    return replace(changes, deleted_ids=changes.deleted_ids[~kept]) if kept.any() else changes


def deleted_rows(ids: np.ndarray, spec: FeatureGroupSpec, snapshot_date: date) -> pa.Table:
    """The group's columns for ``ids`` as of ``snapshot_date``, every feature null: what a
    deletion stores on every backend, before the backend's own deletion flag."""
    (key,) = spec.primary_key
    n = len(ids)
    columns = []
    for f in spec.features:
        if f.name == key:
            columns.append(pa.array(ids, f.dtype))
        elif f.name == spec.event_time:
            columns.append(pa.array([snapshot_date] * n, f.dtype))
        else:
            columns.append(pa.nulls(n, f.dtype))
    return pa.Table.from_arrays(columns, schema=spec.arrow_schema)


def tombstones(ids: np.ndarray, spec: FeatureGroupSpec, snapshot_date: date) -> pa.Table:
    """Rows that mark ``ids`` deleted as of ``snapshot_date`` (all features null)."""
    table = deleted_rows(ids, spec, snapshot_date)
    return table.append_column(DELETED, pa.array(np.ones(len(ids), dtype=bool)))


def with_live_flag(table: pa.Table) -> pa.Table:
    """The rows with ``_deleted`` set to false, ready to append to a log."""
    return table.append_column(DELETED, pa.array(np.zeros(table.num_rows, dtype=bool)))


def join_on_key(left: pa.Table, right: pa.Table, key: str, drop: tuple[str, ...] = ()) -> pa.Table:
    """Left join of two tables that have one row per key, keeping ``left``'s order.

    Arrow's hash join does not carry list columns, so rows of ``right`` are aligned by
    key with a sorted search and taken by position.

    Args:
        left: the driving table.
        right: one row per key; its columns except ``key`` and ``drop`` are appended.
        key: join column.
        drop: columns of ``right`` not to carry over.

    Returns:
        A new table.
    """
    right_ids = right[key].to_numpy()
    left_ids = left[key].to_numpy()
    order = np.argsort(right_ids, kind="stable")
    sorted_ids = right_ids[order]
    if len(sorted_ids):
        found, pos = find_sorted(sorted_ids, left_ids)
        take = pa.array(order[pos], mask=~found)
    else:
        take = pa.nulls(len(left_ids), pa.int64())
    out = left
    for name in right.column_names:
        if name == key or name in drop or name in left.column_names:
            continue
        out = out.append_column(right.schema.field(name), right[name].take(take))
    return out
