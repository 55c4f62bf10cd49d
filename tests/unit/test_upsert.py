"""The store-agnostic upsert rules (movie_ratings.store.upsert), on tables built in memory."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from movie_ratings.errors import BrokenSourceError, DataError
from movie_ratings.schema import MOVIE_GENRES, MOVIE_SIGNALS, MOVIES, REJECTS_SCHEMA
from movie_ratings.store.base import GroupState, SnapshotInfo, StoreCommit
from movie_ratings.store.upsert import (
    MIN_FILMS_FOR_CHANGE_GUARD,
    CurrentRows,
    plan_upsert,
)
from tasks.features import content_hash

D1, D2 = date(2026, 1, 1), date(2026, 1, 2)


def _groups(ids: list[int], day: date, *, title: str = "T{}", rating: float = 7.0,
            genre: str = "Drama") -> dict[str, pa.Table]:
    values = {"snapshot_date": day, "imdb_rating": rating, "genres": [genre], "popularity": 1.0}
    out = {}
    for spec in (MOVIES, MOVIE_GENRES, MOVIE_SIGNALS):
        columns = []
        for f in spec.features:
            if f.name == "id":
                columns.append(pa.array(ids, f.dtype))
            elif f.name == "title":
                columns.append(pa.array([title.format(i) for i in ids], f.dtype))
            elif f.name in values:
                columns.append(pa.array([values[f.name]] * len(ids), f.dtype))
            else:
                columns.append(pa.nulls(len(ids), f.dtype))
        out[spec.name] = pa.Table.from_arrays(columns, schema=spec.arrow_schema)
    return {name: _rehashed(table) if name == MOVIES.name else table for name, table in out.items()}


def _rehashed(movies: pa.Table) -> pa.Table:
    """The movies rows with their content hash, as build_movies computes it."""
    return movies.set_column(movies.schema.get_field_index("content_hash"), "content_hash",
                             content_hash({n: movies[n] for n in MOVIES.hashed_columns}))


def _current(groups: dict[str, pa.Table]) -> dict[str, CurrentRows]:
    return {name: CurrentRows.of_table(table) for name, table in groups.items()}


def _commit(day: date, films: int) -> StoreCommit:
    return StoreCommit(1, "2026-01-01T00:00:00+00:00", day, "demo", None, True,
                       {"movies_1": GroupState("movies", 1, 0, films)})


def _rejects(ids: list[int]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"snapshot_date": D2, "source": "demo", "record": i, "id": i, "column": "runtime",
          "reason": "bad", "raw": "..."} for i in ids], schema=REJECTS_SCHEMA)


def _plan(before: dict[str, pa.Table], after: dict[str, pa.Table], *, rejects: pa.Table | None = None,
          day: date = D2, **limits: float):
    films = before[MOVIES.name].num_rows
    return plan_upsert(after, _current(before), rejects if rejects is not None else _rejects([]),
                       SnapshotInfo(day, "demo"), _commit(D1, films) if films else None, **limits)


def test_counts_new_changed_unchanged_and_deleted_films() -> None:
    before = _groups([1, 2, 3, 4], D1)
    after = _groups([2, 3, 4, 5], D2)
    signals = after[MOVIE_SIGNALS.name]
    after[MOVIE_SIGNALS.name] = signals.set_column(
        signals.schema.get_field_index("imdb_rating"), "imdb_rating", pa.array([7.0, 8.0, 7.0, 7.0]))
    plan = _plan(before, after)
    assert plan.counts == {"new": 1, "changed": 1, "unchanged": 2, "deleted": 1, "rejected": 0}
    assert plan.changes[MOVIES.name].changed == 0  # a new rating leaves the description alone
    assert plan.changes[MOVIE_SIGNALS.name].changed == 1
    assert plan.films_after(MOVIES.name) == 4 and not plan.nothing_to_write


def test_a_quarantined_film_is_not_deleted() -> None:
    plan = _plan(_groups([1, 2, 3], D1), _groups([1, 3], D2), rejects=_rejects([2, 2]))
    # one record with two problems: two reject rows, one rejected record
    assert plan.counts["deleted"] == 0 and plan.counts["rejected"] == 1


def test_too_many_deletions_are_refused() -> None:
    with pytest.raises(BrokenSourceError, match="would delete 2 of the 4 films"):
        _plan(_groups([1, 2, 3, 4], D1), _groups([1, 2], D2), max_delete_fraction=0.25)


def test_an_older_snapshot_is_refused() -> None:
    with pytest.raises(DataError, match="older than the store's latest"):
        _plan(_groups([1], D1), _groups([1], date(2025, 12, 31)), day=date(2025, 12, 31))


def test_the_same_day_again_writes_nothing() -> None:
    before = _groups([1, 2], D1)
    assert _plan(before, _groups([1, 2], D1), day=D1).nothing_to_write


@pytest.mark.parametrize(("changed", "refused"), [(30, True), (20, False)])
def test_descriptive_changes_above_the_share_are_refused(changed: int, refused: bool) -> None:
    ids = list(range(100))
    before = _groups(ids, D1)
    after = _groups(ids, D2)
    titles = [f"T{i}" if i >= changed else f"Renamed {i}" for i in ids]
    after[MOVIES.name] = _rehashed(after[MOVIES.name].set_column(
        after[MOVIES.name].schema.get_field_index("title"), "title", pa.array(titles)))
    if refused:
        with pytest.raises(BrokenSourceError, match=r"30 of the 100 stored films \(30.0% > 20.0%\)"):
            _plan(before, after, max_descriptive_change_fraction=0.2)
    else:
        assert _plan(before, after, max_descriptive_change_fraction=0.2).counts["changed"] == 20


def test_genres_count_and_a_film_changed_in_both_groups_counts_once() -> None:
    ids = list(range(100))
    after = _groups(ids, D2, title="X{}", genre="Comedy")  # every title and every genre list
    with pytest.raises(BrokenSourceError, match="100 of the 100 stored films"):
        _plan(_groups(ids, D1), after, max_descriptive_change_fraction=0.2)


def test_daily_signals_are_not_descriptive() -> None:
    ids = list(range(100))
    plan = _plan(_groups(ids, D1), _groups(ids, D2, rating=3.0), max_descriptive_change_fraction=0.2)
    assert plan.counts["changed"] == 100
    assert plan.changes[MOVIES.name].changed == 0 and plan.changes[MOVIE_SIGNALS.name].changed == 100


def test_films_changed_beyond_the_share_in_other_columns_are_not_refused() -> None:
    """The guard asks which columns changed only when the hash says more films changed
    than the share allows; overviews and budgets are not descriptive."""
    ids = list(range(100))
    after = _groups(ids, D2)
    movies = after[MOVIES.name]
    after[MOVIES.name] = _rehashed(movies.set_column(
        movies.schema.get_field_index("overview"), "overview", pa.array(["new text"] * 100)))
    plan = _plan(_groups(ids, D1), after, max_descriptive_change_fraction=0.2)
    assert plan.changes[MOVIES.name].changed == 100


def test_unchanged_films_are_found_by_the_hash_column_alone() -> None:
    """A daily diff of the movies group reads the stored content hash and no other column."""
    ids = list(range(100))
    before, after = _groups(ids, D1), _groups(ids, D2, rating=3.0)
    current = _current(before)
    read: list[str] = []
    rows = current[MOVIES.name]

    def spy(name: str) -> pa.ChunkedArray:
        read.append(name)
        return rows.read_column(name)

    current[MOVIES.name] = CurrentRows(rows.index, spy)
    plan_upsert(after, current, _rejects([]), SnapshotInfo(D2, "demo"), _commit(D1, 100),
                max_descriptive_change_fraction=0.2)
    assert read == ["content_hash"]


def test_a_small_store_is_not_guarded() -> None:
    ids = list(range(MIN_FILMS_FOR_CHANGE_GUARD - 1))
    plan = _plan(_groups(ids, D1), _groups(ids, D2, title="X{}"), max_descriptive_change_fraction=0.2)
    assert plan.counts["changed"] == len(ids)
