"""The embedded Delta Lake feature store: upserts, idempotence, versions, recovery, locking."""

from __future__ import annotations

import itertools
import threading
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from movie_ratings.cleaning.parse import read_snapshot_csv
from movie_ratings.cleaning.snapshot import clean_snapshot
from movie_ratings.errors import BrokenSourceError, DataError
from movie_ratings.schema import MOVIE_GENRES, MOVIE_RATINGS_VIEW, MOVIES, REJECTS_SCHEMA
from movie_ratings.store.base import SnapshotInfo
from movie_ratings.store.changes import with_live_flag
from movie_ratings.store.local import LocalFeatureStore, StoreLockedError, delta_dataset
from tasks.features import build_features

HEADER = (
    "id,title,vote_average,vote_count,status,release_date,revenue,runtime,budget,imdb_id,"
    "original_language,original_title,overview,popularity,tagline,genres,production_companies,"
    "production_countries,spoken_languages,cast,director,director_of_photography,writers,"
    "producers,music_composer,imdb_rating,imdb_votes,poster_path"
)
VERSIONS = {MOVIES.name: 1, MOVIE_GENRES.name: 1}


def _row(movie_id: int, title: str = "A film", rating: str = "7.1", genres: str = "Drama") -> str:
    return (
        f'{movie_id},{title},6.5,120.0,Released,2020-05-01,0,101,0,tt{movie_id:07d},en,{title},'
        f'"An overview, with a comma",3.2,,"{genres}",Studio A,United States of America,English,'
        f'"Actor A, Actor B",Director D,,Writer W,Producer P,,{rating},1500.0,/p{movie_id}.jpg'
    )


def _groups(tmp_path: Path, rows: list[str], as_of: date) -> tuple[dict[str, pa.Table], pa.Table]:
    path = tmp_path / f"snap-{as_of}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    clean = clean_snapshot(read_snapshot_csv(path), as_of=as_of, source="csv",
                           max_reject_fraction=0.9)
    return build_features(clean.table, as_of).tables, clean.rejects


def _write(store: LocalFeatureStore, tmp_path: Path, rows: list[str], as_of: date):
    groups, rejects = _groups(tmp_path, rows, as_of)
    return store.upsert_snapshot(groups, VERSIONS, SnapshotInfo(as_of, "csv"), rejects)


D1, D2, D3 = date(2026, 2, 1), date(2026, 2, 2), date(2026, 2, 3)


@pytest.fixture
def store(tmp_path: Path) -> LocalFeatureStore:
    return LocalFeatureStore(tmp_path / "store", lock_timeout=1.0)


def test_empty_store_has_no_commit_and_reads_fail_clearly(store: LocalFeatureStore) -> None:
    assert store.latest_commit() is None
    assert store.status()["commit"] is None
    with pytest.raises(DataError, match="empty"):
        store.read_group("movies", 1)


def test_first_write_stores_every_row(store: LocalFeatureStore, tmp_path: Path) -> None:
    result = _write(store, tmp_path, [_row(1), _row(2), _row(3)], D1)
    assert (result.new, result.changed, result.deleted, result.created_commit) == (3, 0, 0, True)
    assert result.commit.number == 1
    movies = store.read_group("movies", 1)
    assert sorted(movies["id"].to_pylist()) == [1, 2, 3]
    assert movies.schema == MOVIES.arrow_schema
    assert store.read_group("movie_genres", 1).schema == MOVIE_GENRES.arrow_schema


def test_same_snapshot_twice_changes_nothing(store: LocalFeatureStore, tmp_path: Path) -> None:
    _write(store, tmp_path, [_row(1), _row(2)], D1)
    again = _write(store, tmp_path, [_row(1), _row(2)], D1)
    assert again.created_commit is False
    assert (again.new, again.changed, again.unchanged, again.deleted) == (0, 0, 2, 0)
    assert store.latest_commit().number == 1


def test_next_day_writes_only_new_changed_and_deleted(store: LocalFeatureStore, tmp_path: Path) -> None:
    _write(store, tmp_path, [_row(1), _row(2), _row(3)], D1)
    # 1 unchanged, 2 re-rated, 3 gone, 4 new, 1 changes genre only (a second group)
    result = _write(store, tmp_path, [_row(1, genres="Drama, Comedy"), _row(2, rating="8.0"), _row(4)], D2)
    assert (result.new, result.changed, result.unchanged, result.deleted) == (1, 2, 0, 1)
    # a new rating is a signal: the film's description (movies) is not rewritten
    assert result.per_group["movies"] == {"new": 1, "changed": 0, "unchanged": 2, "deleted": 1}
    assert result.per_group["movie_genres"] == {"new": 1, "changed": 1, "unchanged": 1, "deleted": 1}
    assert result.per_group["movie_signals"] == {"new": 1, "changed": 1, "unchanged": 1, "deleted": 1}
    movies = {r["id"]: r for r in store.read_group("movies", 1).to_pylist()}
    assert sorted(movies) == [1, 2, 4]
    signals = {r["id"]: r for r in store.read_group("movie_signals", 1).to_pylist()}
    assert signals[2]["imdb_rating"] == 8.0 and signals[2]["snapshot_date"] == D2
    assert movies[1]["snapshot_date"] == movies[2]["snapshot_date"] == D1  # unchanged rows keep their event time
    status = store.status()
    assert {g["name"]: g["rows"] for g in status["feature_groups"]} == {
        "movies": 3, "movie_genres": 3, "movie_signals": 3}


def test_earlier_commit_still_readable(store: LocalFeatureStore, tmp_path: Path) -> None:
    _write(store, tmp_path, [_row(1), _row(2, rating="6.0")], D1)
    _write(store, tmp_path, [_row(1), _row(2, rating="9.0"), _row(3)], D2)
    old = {r["id"]: r["imdb_rating"] for r in store.read_group("movie_signals", 1, commit=1).to_pylist()}
    new = {r["id"]: r["imdb_rating"] for r in store.read_group("movie_signals", 1).to_pylist()}
    assert old == {1: 7.1, 2: 6.0}
    assert new == {1: 7.1, 2: 9.0, 3: 7.1}


def test_deleted_film_can_come_back(store: LocalFeatureStore, tmp_path: Path) -> None:
    _write(store, tmp_path, [_row(1), _row(2)], D1)
    _write(store, tmp_path, [_row(1)], D2)
    back = _write(store, tmp_path, [_row(1), _row(2)], D3)
    assert back.new == 1
    assert sorted(store.read_group("movies", 1)["id"].to_pylist()) == [1, 2]


def test_older_snapshot_is_refused(store: LocalFeatureStore, tmp_path: Path) -> None:
    _write(store, tmp_path, [_row(1)], D2)
    with pytest.raises(DataError, match="older than"):
        _write(store, tmp_path, [_row(1)], D1)


def test_rerun_of_a_day_with_other_values_keeps_one_row_per_key_and_day(
    store: LocalFeatureStore, tmp_path: Path
) -> None:
    _write(store, tmp_path, [_row(1)], D1)
    _write(store, tmp_path, [_row(1, rating="8.0")], D2)
    _write(store, tmp_path, [_row(1, rating="8.5")], D2)  # corrected export of the same day
    path = store.root / "groups" / "movie_signals_1"
    log = delta_dataset(path, DeltaTable(path).version()).to_table()
    pairs = list(zip(log["id"].to_pylist(), log["snapshot_date"].to_pylist(), strict=True))
    assert len(pairs) == len(set(pairs)) == 2
    assert store.read_group("movie_signals", 1)["imdb_rating"].to_pylist() == [8.5]


def test_feature_view_joins_groups_with_label(store: LocalFeatureStore, tmp_path: Path) -> None:
    _write(store, tmp_path, [_row(1, genres="Drama, Comedy"), _row(2, genres="Horror")], D1)
    store.ensure_feature_view(MOVIE_RATINGS_VIEW.name, 1, VERSIONS)
    view = store.read_feature_view(MOVIE_RATINGS_VIEW.name, 1)
    rows = {r["id"]: r for r in view.to_pylist()}
    assert rows[1]["comedy"] == 1 and rows[1]["horror"] == 0 and rows[2]["horror"] == 1
    assert rows[1]["imdb_rating"] == 7.1
    assert view.column_names.count("snapshot_date") == 1
    with pytest.raises(DataError, match="already exists"):
        store.ensure_feature_view(MOVIE_RATINGS_VIEW.name, 1, {MOVIES.name: 2, MOVIE_GENRES.name: 1})


def test_rejects_of_a_day_are_replaced_not_duplicated(store: LocalFeatureStore, tmp_path: Path) -> None:
    bad = _row(9, rating="12.0")
    _write(store, tmp_path, [_row(1), _row(2), bad], D1)
    _write(store, tmp_path, [_row(1), _row(2), bad], D2)
    _write(store, tmp_path, [_row(1), _row(3), bad], D2)  # D2 again, with a change
    rejects = store.read_rejects()
    assert rejects.schema == REJECTS_SCHEMA
    assert sorted(rejects["snapshot_date"].to_pylist()) == [D1, D2]
    assert "imdb_rating" in rejects["reason"][0].as_py()
    assert store.status()["rejects"] == {"last_snapshot": 1, "total": 2}


def test_uncommitted_table_write_is_invisible_and_rolled_back(
    store: LocalFeatureStore, tmp_path: Path
) -> None:
    """A run that dies after writing a table but before its commit record."""
    _write(store, tmp_path, [_row(1), _row(2)], D1)
    groups, _ = _groups(tmp_path, [_row(1, rating="1.0"), _row(5)], D2)
    write_deltalake(store.root / "groups" / "movies_1", with_live_flag(groups["movies"]), mode="append")
    write_deltalake(store.root / "groups" / "movie_signals_1", with_live_flag(groups["movie_signals"]),
                    mode="append")

    assert store.latest_commit().number == 1
    assert sorted(store.read_group("movies", 1)["id"].to_pylist()) == [1, 2]

    result = _write(store, tmp_path, [_row(1), _row(2), _row(3)], D2)
    assert (result.new, result.changed, result.deleted) == (1, 0, 0)
    movies = {r["id"]: r["imdb_rating"] for r in store.read_group("movie_signals", 1).to_pylist()}
    assert movies == {1: 7.1, 2: 7.1, 3: 7.1}


def test_group_created_by_a_dead_run_is_removed(store: LocalFeatureStore, tmp_path: Path) -> None:
    groups, _ = _groups(tmp_path, [_row(1)], D1)
    (store.root / "groups").mkdir(parents=True)
    write_deltalake(store.root / "groups" / "movies_1", with_live_flag(groups["movies"]))
    assert store.latest_commit() is None
    result = _write(store, tmp_path, [_row(1), _row(2)], D1)
    assert result.new == 2
    assert store.status()["feature_groups"][0]["rows"] == 2


def test_second_writer_waits_then_gives_up_with_a_retryable_error(
    store: LocalFeatureStore, tmp_path: Path
) -> None:
    _write(store, tmp_path, [_row(1)], D1)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.writer_lock():
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    try:
        with pytest.raises(StoreLockedError, match="another run is writing"):
            _write(store, tmp_path, [_row(1), _row(2)], D2)
    finally:
        release.set()
        thread.join()
    assert store.latest_commit().number == 1


def test_a_film_whose_new_record_is_quarantined_keeps_its_last_good_row(
    store: LocalFeatureStore, tmp_path: Path
) -> None:
    """A bad record is held back, not taken as the film leaving the feed."""
    _write(store, tmp_path, [_row(1), _row(2, rating="6.0"), _row(3)], D1)
    # 2 comes with an impossible rating, 3 really left the feed
    result = _write(store, tmp_path, [_row(1), _row(2, rating="12.0")], D2)
    assert (result.new, result.changed, result.deleted) == (0, 0, 1)
    movies = {r["id"]: r for r in store.read_group("movie_signals", 1).to_pylist()}
    assert sorted(movies) == [1, 2]
    assert movies[2]["imdb_rating"] == 6.0 and movies[2]["snapshot_date"] == D1
    assert store.read_rejects()["id"].to_pylist() == [2]
    assert store.status()["feature_groups"][0]["rows"] == 2
    # a good record of 2 later is a change again, its absence a deletion
    assert _write(store, tmp_path, [_row(1), _row(2, rating="6.5")], D3).changed == 1


def test_a_snapshot_deleting_too_many_films_is_refused_and_writes_nothing(
    store: LocalFeatureStore, tmp_path: Path
) -> None:
    """A cut file looks like a feed where most films left: refused, not applied."""
    _write(store, tmp_path, [_row(i) for i in range(1, 11)], D1)
    files = sorted(str(p) for p in store.root.rglob("*"))
    groups, rejects = _groups(tmp_path, [_row(i) for i in range(1, 8)], D2)  # 3 of 10 gone
    with pytest.raises(BrokenSourceError, match=r"would delete 3 of the 10 films in movies \(30.0% > 20.0%\)"):
        store.upsert_snapshot(groups, VERSIONS, SnapshotInfo(D2, "csv"), rejects,
                              max_delete_fraction=0.2)
    assert sorted(str(p) for p in store.root.rglob("*")) == files
    # at the limit it passes
    result = store.upsert_snapshot(groups, VERSIONS, SnapshotInfo(D2, "csv"), rejects,
                                   max_delete_fraction=0.3)
    assert result.deleted == 3


def test_reads_never_call_back_into_python_from_arrow_threads(
    store: LocalFeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deltalake's Python filesystem handler is not used (see ``delta_dataset``)."""
    from deltalake.fs import DeltaStorageHandler

    _write(store, tmp_path, [_row(1), _row(2, rating="12.0")], D1)
    store.ensure_feature_view(MOVIE_RATINGS_VIEW.name, 1, VERSIONS)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("read through deltalake's Python filesystem handler")

    for method in ("open_input_file", "open_input_stream", "get_file_info"):
        monkeypatch.setattr(DeltaStorageHandler, method, refuse)
    assert store.read_group("movies", 1).num_rows == 1
    assert store.read_feature_view(MOVIE_RATINGS_VIEW.name, 1).num_rows == 1
    assert store.read_rejects().num_rows == 1
    assert store.status()["rejects"]["total"] == 1
    assert _write(store, tmp_path, [_row(1), _row(3)], D2).new == 1  # the diff reads too


def test_small_files_are_compacted_and_every_commit_still_reads_back(
    store: LocalFeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import movie_ratings.store.local.delta as local_delta

    monkeypatch.setattr(local_delta, "COMPACT_AFTER_FILES", 3)

    def rows_of(n: int) -> list[str]:  # film 1 is re-rated every day, one new film a day
        return [_row(1, rating=f"{5 + n * 0.5}"), _row(2), *[_row(i + 10) for i in range(n + 1)]]

    days = [date(2026, 2, d) for d in range(1, 9)]
    as_written = {}
    for n, day in enumerate(days):
        commit = _write(store, tmp_path, rows_of(n), day).commit
        as_written[commit.number] = store.read_group("movies", 1).sort_by("id")
        tables = {"movies_1": commit.groups["movies_1"].table_version,
                  "movie_genres_1": commit.groups["movie_genres_1"].table_version}
        for name, version in tables.items():
            assert len(DeltaTable(store.root / "groups" / name, version=version).file_uris()) <= 3
        assert len(DeltaTable(store.root / "rejects", version=commit.rejects_table_version).file_uris()) <= 3

    versions = [c.groups["movies_1"].table_version for c in store.commits()]
    assert any(b - a > 1 for a, b in itertools.pairwise(versions))  # compactions happened
    for number, table in as_written.items():  # time travel across compactions
        assert store.read_group("movies", 1, commit=number).sort_by("id").equals(table)
    assert _write(store, tmp_path, rows_of(len(days) - 1), days[-1]).created_commit is False
