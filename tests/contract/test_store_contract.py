"""What every feature store backend must do (see tests/contract/conftest.py for the backends)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from contract_backends import Backend, film

from movie_ratings.errors import BrokenSourceError, DataError
from movie_ratings.schema import (
    MOVIE_GENRES,
    MOVIE_PREDICTIONS,
    MOVIE_RATINGS_VIEW,
    MOVIE_SIGNALS,
    MOVIES,
    REJECTS_SCHEMA,
)

D1, D2, D3 = date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)
VIEW = MOVIE_RATINGS_VIEW.name


def ratings(table: pa.Table) -> dict[int, float]:
    return dict(zip(table["id"].to_pylist(), table["imdb_rating"].to_pylist(), strict=True))


def test_empty_store_has_no_commit_and_reads_fail_clearly(backend: Backend) -> None:
    assert backend.store.latest_commit() is None
    assert backend.store.status()["commit"] is None
    with pytest.raises(DataError, match="empty"):
        backend.store.read_group(MOVIES.name, backend.version)


def test_first_snapshot_is_stored_with_the_declared_schema(backend: Backend) -> None:
    result = backend.write([film(1), film(2), film(3)], D1)
    assert (result.new, result.changed, result.deleted, result.created_commit) == (3, 0, 0, True)
    assert result.commit.number == 1
    movies = backend.store.read_group(MOVIES.name, backend.version)
    assert sorted(movies["id"].to_pylist()) == [1, 2, 3]
    assert movies.schema == MOVIES.arrow_schema
    genres = backend.store.read_group(MOVIE_GENRES.name, backend.version)
    assert genres.schema == MOVIE_GENRES.arrow_schema
    row = {r["id"]: r for r in movies.to_pylist()}[2]
    assert row["top_cast"] == ["Actor A", "Actor B"] and row["release_date"] == date(2020, 5, 1)
    assert row["snapshot_date"] == D1 and row["budget"] is None
    signals = backend.store.read_group(MOVIE_SIGNALS.name, backend.version)
    assert signals.schema == MOVIE_SIGNALS.arrow_schema
    assert ratings(signals) == {1: 7.1, 2: 7.1, 3: 7.1}


def test_same_snapshot_twice_changes_nothing(backend: Backend) -> None:
    backend.write([film(1), film(2)], D1)
    again = backend.write([film(1), film(2)], D1)
    assert again.created_commit is False
    assert (again.new, again.changed, again.unchanged, again.deleted) == (0, 0, 2, 0)
    assert backend.store.latest_commit().number == 1
    assert backend.store.read_group(MOVIES.name, backend.version).num_rows == 2


def test_next_day_writes_new_changed_and_deleted_films(backend: Backend) -> None:
    backend.write([film(1), film(2), film(3)], D1)
    result = backend.write([film(1, genres="Drama, Comedy"), film(2, rating="8.0"), film(4)], D2)
    assert (result.new, result.changed, result.unchanged, result.deleted) == (1, 2, 0, 1)
    # a new rating is a signal: film 2's description is not rewritten
    assert result.per_group["movies"] == {"new": 1, "changed": 0, "unchanged": 2, "deleted": 1}
    assert result.per_group["movie_genres"] == {"new": 1, "changed": 1, "unchanged": 1, "deleted": 1}
    assert result.per_group["movie_signals"] == {"new": 1, "changed": 1, "unchanged": 1, "deleted": 1}
    movies = {r["id"]: r for r in backend.store.read_group(MOVIES.name, backend.version).to_pylist()}
    assert sorted(movies) == [1, 2, 4]
    assert movies[2]["snapshot_date"] == D1
    signals = {r["id"]: r for r in backend.store.read_group(MOVIE_SIGNALS.name, backend.version).to_pylist()}
    assert signals[2]["imdb_rating"] == 8.0 and signals[2]["snapshot_date"] == D2
    genres = {r["id"]: r for r in backend.store.read_group(MOVIE_GENRES.name, backend.version).to_pylist()}
    assert genres[1]["comedy"] == 1 and genres[1]["genres"] == ["Drama", "Comedy"]
    assert {g["name"]: g["rows"] for g in backend.store.status()["feature_groups"]} == {
        "movies": 3, "movie_genres": 3, "movie_signals": 3}


def test_earlier_commit_stays_readable(backend: Backend) -> None:
    backend.write([film(1), film(2, rating="6.0")], D1)
    backend.write([film(1), film(2, rating="9.0"), film(3)], D2)
    backend.write([film(2, rating="9.5"), film(3)], D3)
    read = backend.store.read_group
    assert ratings(read(MOVIE_SIGNALS.name, backend.version, commit=1)) == {1: 7.1, 2: 6.0}
    assert ratings(read(MOVIE_SIGNALS.name, backend.version, commit=2)) == {1: 7.1, 2: 9.0, 3: 7.1}
    assert ratings(read(MOVIE_SIGNALS.name, backend.version)) == {2: 9.5, 3: 7.1}
    assert backend.store.commit(2).snapshot_date == D2
    with pytest.raises(DataError):
        backend.store.commit(9)


def test_columns_can_be_chosen(backend: Backend) -> None:
    backend.write([film(1), film(2)], D1)
    table = backend.store.read_group(MOVIES.name, backend.version, columns=["id", "title"])
    assert table.column_names == ["id", "title"]


def test_deleted_film_can_come_back(backend: Backend) -> None:
    backend.write([film(1), film(2)], D1)
    backend.write([film(1)], D2)
    back = backend.write([film(1), film(2, rating="5.0")], D3)
    assert back.new == 1
    assert ratings(backend.store.read_group(MOVIE_SIGNALS.name, backend.version)) == {1: 7.1, 2: 5.0}


def test_older_snapshot_is_refused(backend: Backend) -> None:
    backend.write([film(1)], D2)
    with pytest.raises(DataError, match="older than"):
        backend.write([film(1)], D1)


def test_rerun_of_a_day_with_other_values_replaces_that_day(backend: Backend) -> None:
    backend.write([film(1), film(2)], D1)
    backend.write([film(1, rating="8.0"), film(2)], D2)
    rerun = backend.write([film(1, rating="8.5"), film(2)], D2)  # corrected export of D2
    assert rerun.created_commit and rerun.changed == 1
    assert ratings(backend.store.read_group(MOVIE_SIGNALS.name, backend.version)) == {1: 8.5, 2: 7.1}
    assert ratings(backend.store.read_group(MOVIE_SIGNALS.name, backend.version, commit=2)) == {1: 8.0, 2: 7.1}


def test_feature_view_joins_the_groups_and_names_the_label(backend: Backend) -> None:
    backend.write([film(1, genres="Drama, Comedy"), film(2, genres="Horror")], D1)
    backend.store.ensure_feature_view(VIEW, backend.version, backend.versions)
    backend.store.ensure_feature_view(VIEW, backend.version, backend.versions)  # idempotent
    view = backend.store.read_feature_view(VIEW, backend.version)
    rows = {r["id"]: r for r in view.to_pylist()}
    assert rows[1]["comedy"] == 1 and rows[1]["horror"] == 0 and rows[2]["horror"] == 1
    assert rows[1]["imdb_rating"] == 7.1 and rows[2]["genres"] == ["Horror"]
    assert view.column_names.count("snapshot_date") == 1
    assert (set(MOVIES.column_names) | set(MOVIE_GENRES.column_names)
            | set(MOVIE_SIGNALS.column_names)) == set(view.column_names)
    assert MOVIE_RATINGS_VIEW.label in view.column_names
    status = backend.store.status()["feature_views"]
    assert [(v["name"], v["version"], v["label"]) for v in status] == [
        (VIEW, backend.version, "imdb_rating")]
    with pytest.raises(DataError, match="already exists"):
        backend.store.ensure_feature_view(VIEW, backend.version,
                                          {MOVIES.name: backend.version + 1, MOVIE_GENRES.name: backend.version})


def test_view_gives_one_current_row_per_film_with_current_genres(backend: Backend) -> None:
    """A film whose genres change after its other features, and one whose rating changes."""
    backend.write([film(1, genres="Drama"), film(2, rating="6.0"), film(3)], D1)
    backend.store.ensure_feature_view(VIEW, backend.version, backend.versions)
    backend.write([film(1, genres="Drama"), film(2, rating="6.5"), film(3)], D2)
    backend.write([film(1, genres="Horror"), film(2, rating="6.5")], D3)
    view = backend.store.read_feature_view(VIEW, backend.version)
    assert sorted(view["id"].to_pylist()) == [1, 2]
    rows = {r["id"]: r for r in view.to_pylist()}
    assert rows[1]["horror"] == 1 and rows[1]["drama"] == 0 and rows[2]["imdb_rating"] == 6.5
    earlier = {r["id"]: r for r in backend.store.read_feature_view(VIEW, backend.version, commit=1).to_pylist()}
    assert sorted(earlier) == [1, 2, 3]
    assert earlier[1]["drama"] == 1 and earlier[2]["imdb_rating"] == 6.0


def test_missing_view_is_a_clear_error(backend: Backend) -> None:
    backend.write([film(1)], D1)
    with pytest.raises(DataError, match="does not exist"):
        backend.store.read_feature_view(VIEW, backend.version + 7)


def test_rejects_of_a_day_are_replaced_not_duplicated(backend: Backend) -> None:
    bad = film(9, rating="12.0")
    backend.write([film(1), film(2), bad], D1)
    backend.write([film(1), film(2), bad], D2)
    backend.write([film(1), film(3), bad], D2)  # D2 again, with a change
    rejects = backend.store.read_rejects()
    assert rejects.schema == REJECTS_SCHEMA
    assert sorted(rejects["snapshot_date"].to_pylist()) == [D1, D2]
    assert "imdb_rating" in rejects["reason"][0].as_py()
    assert backend.store.read_rejects(commit=1).num_rows == 1
    assert backend.store.status()["rejects"] == {"last_snapshot": 1, "total": 2}


def predictions(ids: list[int], model_version: int, day: date, rating: float) -> pa.Table:
    n = len(ids)
    return pa.table({
        "id": ids, "model_version": [model_version] * n, "prediction_date": [day] * n,
        "predicted_rating": [rating] * n, "status": ["Planned"] * n, "release_date": [None] * n, "rated_when_predicted": [False] * n,
        "store_commit": [1] * n, "predicted_at": [datetime(2026, 2, 1, 6, tzinfo=UTC)] * n,
        "rating_low": [rating - 1] * n, "rating_high": [None] * n,
    })


def test_history_group_keeps_every_prediction_once(backend: Backend) -> None:
    name = MOVIE_PREDICTIONS.name
    empty = backend.store.read_all_rows(name, backend.version)
    assert empty.num_rows == 0 and empty.schema == MOVIE_PREDICTIONS.arrow_schema
    first = backend.store.merge_rows(name, backend.version, predictions([1, 2], 1, D1, 6.0))
    backend.store.merge_rows(name, backend.version, predictions([1, 2], 1, D2, 6.5))
    backend.store.merge_rows(name, backend.version, predictions([1], 2, D2, 7.0))
    last = backend.store.merge_rows(name, backend.version, predictions([1], 2, D2, 7.25))  # same key
    assert last > first
    rows = backend.store.read_all_rows(name, backend.version)
    assert rows.schema == MOVIE_PREDICTIONS.arrow_schema
    keyed = {(r["id"], r["model_version"], r["prediction_date"]): r["predicted_rating"] for r in rows.to_pylist()}
    assert keyed == {(1, 1, D1): 6.0, (2, 1, D1): 6.0, (1, 1, D2): 6.5, (2, 1, D2): 6.5, (1, 2, D2): 7.25}


def test_history_group_refuses_bad_rows(backend: Backend) -> None:
    name = MOVIE_PREDICTIONS.name
    with pytest.raises(DataError, match="repeat a key"):
        backend.store.merge_rows(name, backend.version, pa.concat_tables(
            [predictions([1], 1, D1, 6.0), predictions([1], 1, D1, 7.0)]))
    with pytest.raises(DataError, match="schema"):
        backend.store.merge_rows(name, backend.version, predictions([1], 1, D1, 6.0).drop_columns(["status"]))
    assert backend.store.read_all_rows(name, backend.version).num_rows == 0


# ------------------------------------------------------------------------------------------
# the upsert rules every backend shares (movie_ratings.store.upsert)
# ------------------------------------------------------------------------------------------


def test_a_quarantined_film_keeps_its_last_good_row(backend: Backend) -> None:
    backend.write([film(1), film(2, rating="6.0"), film(3)], D1)
    # film 2's new record fails a check (a rating out of range): it is not deleted
    result = backend.write([film(1), film(2, rating="42"), film(3)], D2)
    assert result.deleted == 0
    assert ratings(backend.store.read_group(MOVIE_SIGNALS.name, backend.version))[2] == 6.0
    assert backend.store.latest_commit().counts["rejected"] == 1


def test_mass_deletions_are_refused_and_nothing_is_written(backend: Backend) -> None:
    backend.write([film(i) for i in range(1, 11)], D1)
    before = (backend.store.latest_commit(), backend.stored_rows())
    with pytest.raises(BrokenSourceError, match="would delete 5 of the 10 films"):
        backend.write([film(i) for i in range(1, 6)], D2, max_delete_fraction=0.2)
    assert (backend.store.latest_commit(), backend.stored_rows()) == before


def test_a_snapshot_rewriting_30_percent_of_titles_is_refused_with_the_store_unchanged(
    backend: Backend,
) -> None:
    films = [film(i, title=f"Film {i}") for i in range(1, 201)]
    backend.write(films, D1)
    before = (backend.store.latest_commit(), backend.stored_rows(),
              backend.store.read_group(MOVIES.name, backend.version))
    broken = [film(i, title=f"Film {i + 1}" if i <= 60 else f"Film {i}") for i in range(1, 201)]
    with pytest.raises(BrokenSourceError, match=r"60 of the 200 stored films \(30.0% > 20.0%\)"):
        backend.write(broken, D2, max_descriptive_change_fraction=0.2)
    after = (backend.store.latest_commit(), backend.stored_rows(),
             backend.store.read_group(MOVIES.name, backend.version))
    assert after == before
    # what the feed recomputes every day may change for every film at once
    rerated = [film(i, title=f"Film {i}", rating="5.5") for i in range(1, 201)]
    result = backend.write(rerated, D2, max_descriptive_change_fraction=0.2)
    assert result.changed == 200
    # and a few new titles are an ordinary day
    retitled = [film(i, title=f"New {i}" if i <= 10 else f"Film {i}", rating="5.5")
                for i in range(1, 201)]
    assert backend.write(retitled, D3, max_descriptive_change_fraction=0.2).changed == 10


# --------------------------------------------------------------------------------------
# daily signals apart from descriptions (issue 18)
# --------------------------------------------------------------------------------------


def _group_rows(backend: Backend, name: str) -> int:
    """Rows the group's log holds (history included)."""
    if backend.fake is not None:
        return backend.fake.feature_store.groups[(name, backend.version)].table.num_rows
    from deltalake import DeltaTable  # local store

    return DeltaTable(backend.tmp / "store" / "groups" / f"{name}_{backend.version}").to_pyarrow_dataset().count_rows()


def test_a_signals_only_day_writes_no_movies_rows(backend: Backend) -> None:
    backend.write([film(1), film(2), film(3)], D1)
    movies_rows, genres_rows = _group_rows(backend, MOVIES.name), _group_rows(backend, MOVIE_GENRES.name)
    signals_rows = _group_rows(backend, MOVIE_SIGNALS.name)
    moved = [film(1, rating="8.0"), film(2), film(3, rating="5.5")]
    moved[1]["popularity"] = "99.5"
    result = backend.write(moved, D2)
    assert result.created_commit and result.changed == 3
    assert result.per_group["movies"]["changed"] == 0
    assert result.per_group["movie_signals"]["changed"] == 3
    assert _group_rows(backend, MOVIES.name) == movies_rows
    assert _group_rows(backend, MOVIE_GENRES.name) == genres_rows
    # the store grows by the signals rows only
    assert _group_rows(backend, MOVIE_SIGNALS.name) == signals_rows + 3


def test_the_view_at_an_older_commit_has_that_days_signals(backend: Backend) -> None:
    backend.write([film(1, rating="6.0"), film(2)], D1)
    backend.store.ensure_feature_view(VIEW, backend.version, backend.versions)
    backend.write([film(1, rating="7.0"), film(2)], D2)
    backend.write([film(1, rating="8.0"), film(2, title="Renamed")], D3)

    def view(commit: int | None) -> dict[int, dict]:
        rows = backend.store.read_feature_view(VIEW, backend.version, commit=commit).to_pylist()
        return {r["id"]: r for r in rows}

    assert {i: r["imdb_rating"] for i, r in view(1).items()} == {1: 6.0, 2: 7.1}
    assert {i: r["imdb_rating"] for i, r in view(2).items()} == {1: 7.0, 2: 7.1}
    latest = view(None)
    assert {i: r["imdb_rating"] for i, r in latest.items()} == {1: 8.0, 2: 7.1}
    assert latest[2]["title"] == "Renamed" and view(2)[2]["title"] == "A film"
    # the description of film 1 is still the one of the first day
    assert view(2)[1]["snapshot_date"] == D1


def test_a_rerun_after_a_deletion_changes_nothing(backend: Backend) -> None:
    """The content hash survives every backend's round trip, tombstones (no hash) included."""
    backend.write([film(1), film(2), film(3)], D1)
    backend.write([film(1), film(2, rating="8.0")], D2)
    again = backend.write([film(1), film(2, rating="8.0")], D2)
    assert again.created_commit is False
    assert (again.new, again.changed, again.unchanged, again.deleted) == (0, 0, 2, 0)
