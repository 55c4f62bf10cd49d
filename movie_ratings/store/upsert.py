"""The one upsert path: what a snapshot changes, whether it may be written, and the counts.

Every backend writes a snapshot the same way: it reads the current rows of each feature
group (:class:`CurrentRows`, one row per live film), hands them to :func:`plan_upsert`, and
writes the plan's changes followed by :func:`next_commit`'s record. Everything that decides
*what* is written lives here, pure (no I/O): the diff against the current rows, keeping the
last good row of a film whose new record was quarantined, the guards that refuse a broken
snapshot (mass deletions, descriptive fields changed for too many films) before anything is
written, and the film counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.errors import BrokenSourceError, DataError
from movie_ratings.schema import (
    DESCRIPTION_GROUPS,
    FEATURE_GROUPS,
    MOVIES,
    PRIMARY_KEY,
    SOURCE_HASH,
)
from movie_ratings.sorted_keys import find_sorted
from movie_ratings.store.base import GroupState, SnapshotInfo, StoreCommit, UpsertResult
from movie_ratings.store.changes import (
    GroupChanges,
    LogIndex,
    changed_in_columns,
    diff_against_log,
    keep_quarantined,
)
from movie_ratings.timing import timed

#: What a film is, as opposed to the signals the feed recomputes every day (popularity,
#: vote counts and averages, IMDb votes and rating): when these change for a large share
#: of films at once, the feed is broken, not the films. Derived columns (release year,
#: first actor, genre flags, counts) follow their source and are not listed.
DESCRIPTIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "movies": (
        "title", "original_title", "release_date", "directors", "writers", "producers",
        "top_cast", "composers", "cinematographers",
    ),
    "movie_genres": ("genres",),
}
#: Below this many stored films a share of changed films says little (a tiny test feed
#: can legitimately change a third of its films), so the descriptive-change guard is off.
MIN_FILMS_FOR_CHANGE_GUARD = 100


@dataclass(frozen=True)
class CurrentRows:
    """A group's current rows as a backend offers them to the diff.

    Attributes:
        index: the live keys and where each one's current row is.
        read_column: a column by name, over the rows ``index`` points into (a log or a
            table of current rows); called once per compared column.
    """

    index: LogIndex
    read_column: Callable[[str], pa.ChunkedArray]

    @classmethod
    def of_table(cls, current: pa.Table) -> CurrentRows:
        """Current rows held in one table (one row per film)."""
        return cls(LogIndex.of_current(current, PRIMARY_KEY), current.column)

    @classmethod
    def empty(cls, name: str) -> CurrentRows:
        """A group that does not exist yet."""
        return cls.of_table(FEATURE_GROUPS[name].arrow_schema.empty_table())

    @property
    def films(self) -> int:
        return len(self.index.ids)


@dataclass(frozen=True)
class KnownUnchanged:
    """Films a daily left out of the description groups' rows because their description
    record is the one stored (see :mod:`movie_ratings.cleaning.prefilter`).

    Attributes:
        ids: the films, sorted.
        source_hashes: their records' source hashes, in the order of ``ids``.
        commit: the store commit the hashes were compared at.
    """

    ids: np.ndarray
    source_hashes: np.ndarray
    commit: int

    @classmethod
    def of(cls, ids: np.ndarray, source_hashes: np.ndarray, commit: int) -> KnownUnchanged:
        order = np.argsort(ids, kind="stable")
        return cls(np.asarray(ids, np.int64)[order], np.asarray(source_hashes, np.int64)[order],
                   commit)


@dataclass(frozen=True)
class UpsertPlan:
    """What to write for a snapshot.

    Attributes:
        changes: per group, the rows to write and the films to delete.
        films_before: per group, live films before the write.
        counts: film counts (new, changed, unchanged, deleted) and rejected records.
        nothing_to_write: a rerun of the latest day that changes nothing: no commit.
    """

    changes: dict[str, GroupChanges]
    films_before: dict[str, int]
    counts: dict[str, int]
    nothing_to_write: bool

    def films_after(self, name: str) -> int:
        change = self.changes[name]
        return self.films_before[name] + change.new - change.deleted


@timed("upsert.diff")
def plan_upsert(
    groups: dict[str, pa.Table],
    current: dict[str, CurrentRows],
    rejects: pa.Table,
    info: SnapshotInfo,
    latest: StoreCommit | None,
    *,
    max_delete_fraction: float = 1.0,
    max_descriptive_change_fraction: float = 1.0,
    unchanged: KnownUnchanged | None = None,
) -> UpsertPlan:
    """Decide what a snapshot writes, or refuse it before anything is written.

    Args:
        groups: the snapshot's rows per feature group (one row per film).
        current: the stored current rows of the same groups.
        rejects: the snapshot's quarantined records (their films keep their last good row).
        info: where the snapshot came from.
        latest: the store's latest commit (None for an empty store).
        max_delete_fraction: refuse a snapshot deleting a larger share of a group's films.
        max_descriptive_change_fraction: refuse a snapshot whose descriptive fields
            (:data:`DESCRIPTIVE_COLUMNS`) change for a larger share of the stored films, once
            the store holds :data:`MIN_FILMS_FOR_CHANGE_GUARD` films.
        unchanged: films whose description rows were left out of ``groups`` (a prefiltered
            daily): they count as unchanged in the description groups, not as deleted.

    Returns:
        The plan.

    Raises:
        DataError: the snapshot is older than the store's latest, or groups are missing.
        BrokenSourceError: too many deletions or descriptive changes (nothing is written).
    """
    if unchanged is not None:
        _check_unchanged(unchanged, current, latest)
    if set(groups) != set(FEATURE_GROUPS):
        raise DataError(f"a snapshot writes the groups {sorted(FEATURE_GROUPS)}, got {sorted(groups)}")
    if latest is not None and info.snapshot_date < latest.snapshot_date:
        raise DataError(
            f"snapshot of {info.snapshot_date} is older than the store's latest "
            f"({latest.snapshot_date}); refusing to write it over newer data"
        )
    quarantined = pc.drop_null(rejects["id"]).to_numpy()
    changes: dict[str, GroupChanges] = {}
    films_before: dict[str, int] = {}
    for name, table in groups.items():
        spec = FEATURE_GROUPS[name]
        rows = current[name]
        films_before[name] = rows.films
        # A group with a content hash compares that one column; which descriptive columns
        # changed is then asked of the changed films only, and only when the guard needs it.
        diff = diff_against_log(rows.index, rows.read_column, table.select(list(spec.column_names)),
                                spec, _compared_descriptive(name))
        if unchanged is not None and name in DESCRIPTION_GROUPS:
            diff = with_unchanged(diff, unchanged.ids)
        changes[name] = keep_quarantined(diff, quarantined)
    for name, change in changes.items():
        check_deletions(name, change.deleted, films_before[name], max_delete_fraction, info)
    stored = films_before[MOVIES.name]
    if stored >= MIN_FILMS_FOR_CHANGE_GUARD and distinct_count(
        [changes[n].changed_ids for n in DESCRIPTIVE_COLUMNS]
    ) > max_descriptive_change_fraction * stored:
        changes = {
            name: _with_descriptive_ids(change, name, current.get(name), groups[name])
            for name, change in changes.items()
        }
    check_descriptive_changes(changes, stored, max_descriptive_change_fraction, info)
    same_day = latest is not None and latest.snapshot_date == info.snapshot_date
    return UpsertPlan(
        changes=changes,
        films_before=films_before,
        counts=film_counts(changes) | {"rejected": rejected_records(rejects)},
        nothing_to_write=same_day and all(c.is_empty for c in changes.values()),
    )


def with_unchanged(change: GroupChanges, ids: np.ndarray) -> GroupChanges:
    """A description group's changes from a snapshot's rows without the films ``ids``
    (known unchanged): they are neither deleted nor new, but unchanged."""
    if not len(ids):
        return change
    if find_sorted(ids, change.upserts[PRIMARY_KEY].to_numpy())[0].any():
        raise DataError("a film is both in the snapshot's rows and among its unchanged films")
    still = ~find_sorted(ids, change.deleted_ids)[0]
    if int((~still).sum()) != len(ids):
        raise DataError("films taken as unchanged are not stored: the store changed since the "
                        "snapshot was cleaned; run the daily again")
    return replace(change, deleted_ids=change.deleted_ids[still],
                   unchanged=change.unchanged + len(ids))


def _check_unchanged(unchanged: KnownUnchanged, current: dict[str, CurrentRows],
                     latest: StoreCommit | None) -> None:
    """Refuse a prefiltered snapshot when the store moved on since it was compared and
    a film's stored source hash is no longer the one it was compared with."""
    if latest is not None and latest.number == unchanged.commit:
        return
    if latest is None:
        raise DataError("a prefiltered daily needs the stored films it was compared with; "
                        "the store is empty")
    rows = current[MOVIES.name]
    moved_on = DataError(f"the store moved on from commit {unchanged.commit} to {latest.number} "
                         "while the snapshot was cleaned, and changed films it took as unchanged: "
                         "run the daily again")
    found, pos = find_sorted(rows.index.ids, unchanged.ids)
    if not found.all():
        raise moved_on
    stored = rows.read_column(SOURCE_HASH).take(pa.array(rows.index.positions[pos], pa.int64()))
    same = pc.fill_null(pc.equal(stored, pa.array(unchanged.source_hashes, pa.int64())), False)
    if pc.all(same).as_py() not in (True, None):
        raise moved_on


def _compared_descriptive(name: str) -> tuple[str, ...]:
    """The group's descriptive columns that its diff compares anyway."""
    compared = FEATURE_GROUPS[name].compared_columns
    return tuple(c for c in DESCRIPTIVE_COLUMNS.get(name, ()) if c in compared)


def _with_descriptive_ids(
    change: GroupChanges, name: str, rows: CurrentRows | None, incoming: pa.Table
) -> GroupChanges:
    """The changes with ``descriptive_ids`` over every descriptive column of the group
    (those behind a content hash are compared for the changed films only)."""
    hidden = tuple(c for c in DESCRIPTIVE_COLUMNS.get(name, ()) if c not in _compared_descriptive(name))
    if not hidden or rows is None:
        return change
    found = changed_in_columns(rows.index, rows.read_column, incoming, PRIMARY_KEY, hidden,
                               change.changed_ids)
    ids = np.union1d(np.asarray(change.descriptive_ids, np.int64), found.astype(np.int64))
    return replace(change, descriptive_ids=ids)


def check_deletions(
    name: str, deleted: int, current: int, max_fraction: float, info: SnapshotInfo
) -> None:
    """Refuse a snapshot that would delete too large a share of a group's films.

    Raises:
        BrokenSourceError: naming the counts, the limit and the setting that raises it.
    """
    if current and deleted > max_fraction * current:
        raise BrokenSourceError(
            f"the snapshot of {info.snapshot_date} from {info.source} would delete {deleted:,} "
            f"of the {current:,} films in {name} ({deleted / current:.1%} > {max_fraction:.1%}): "
            "it looks truncated or broken, nothing was written. If the films really left "
            "the feed, raise MOVIE_RATINGS_MAX_DELETE_FRACTION for this run."
        )


def check_descriptive_changes(
    changes: dict[str, GroupChanges], stored_films: int, max_fraction: float, info: SnapshotInfo
) -> None:
    """Refuse a snapshot that rewrites what too many stored films are.

    A title, release date, cast or genre list changes for a handful of films a day; the
    same change for a fifth of the catalogue is a shifted column or a corrupted export.

    Raises:
        BrokenSourceError: naming the counts, the limit and the setting that raises it.
    """
    if stored_films < MIN_FILMS_FOR_CHANGE_GUARD:
        return
    touched = distinct_count([c.descriptive_ids for c in changes.values()])
    if touched > max_fraction * stored_films:
        raise BrokenSourceError(
            f"the snapshot of {info.snapshot_date} from {info.source} changes the title, "
            f"release date, people or genres of {touched:,} of the {stored_films:,} stored films "
            f"({touched / stored_films:.1%} > {max_fraction:.1%}): it looks broken (a shifted "
            "column or a corrupted export), nothing was written. If the feed really changed "
            "that much, raise MOVIE_RATINGS_MAX_DESCRIPTIVE_CHANGE_FRACTION (or the flow's "
            "max_descriptive_change_fraction) for this run."
        )


def distinct_count(id_arrays: list[np.ndarray]) -> int:
    """Number of distinct ids over several arrays."""
    ids = np.sort(np.concatenate([np.asarray(a, np.int64) for a in id_arrays] or [np.array([], np.int64)]))
    # Distinct ids by comparing sorted neighbours (faster here than np.unique).
    return int(len(ids) > 0) + int(np.count_nonzero(ids[1:] != ids[:-1]))


def film_counts(changes: dict[str, GroupChanges]) -> dict[str, int]:
    """Film-level counts: a film is changed when any of its groups changed.

    Every film has a ``movies`` row, so new and deleted films are counted there; a new
    film is in the upserts of every group, so it is taken out of the changed count.
    """
    movies = changes[MOVIES.name]
    touched = distinct_count([c.changed_or_new_ids(PRIMARY_KEY) for c in changes.values()])
    changed = touched - movies.new
    total = movies.new + movies.changed + movies.unchanged
    return {
        "new": movies.new,
        "changed": changed,
        "unchanged": total - movies.new - changed,
        "deleted": movies.deleted,
    }


def rejected_records(rejects: pa.Table) -> int:
    """Records quarantined: a record with two problems has two reject rows but counts once."""
    numbered = pc.drop_null(rejects["record"])
    return len(pc.unique(numbered)) + (rejects.num_rows - len(numbered))


def next_commit(
    latest: StoreCommit | None,
    info: SnapshotInfo,
    groups: dict[str, GroupState],
    *,
    rejects_table_version: int | None,
    counts: dict[str, int],
) -> StoreCommit:
    """The commit record that makes a written snapshot visible (numbered after ``latest``)."""
    return StoreCommit(
        number=(latest.number + 1) if latest else 1,
        created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
        snapshot_date=info.snapshot_date,
        source=info.source,
        source_version=info.source_version,
        is_demo=info.is_demo,
        groups=groups,
        rejects_table_version=rejects_table_version,
        counts=dict(counts),
    )


def upsert_result(commit: StoreCommit, created: bool, plan: UpsertPlan) -> UpsertResult:
    """What the write did, for the caller."""
    counts = plan.counts
    return UpsertResult(
        commit=commit,
        created_commit=created,
        new=counts["new"],
        changed=counts["changed"],
        unchanged=counts["unchanged"],
        deleted=counts["deleted"],
        per_group={
            name: {"new": c.new, "changed": c.changed, "unchanged": c.unchanged, "deleted": c.deleted}
            for name, c in plan.changes.items()
        },
    )
