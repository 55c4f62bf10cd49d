"""The demo feed: schema, conventions, behaviour over time, CSV output and caching."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pytest

from movie_ratings import schema
from movie_ratings.sources.base import Snapshot
from movie_ratings.sources.demo import DEMO_EPOCH, DemoSource, demo_snapshot, write_snapshot_csv
from movie_ratings.sources.demo import source as demo_source

#: Columns that never change while a film's release status stays the same (before release
#: some are not known yet; the full record shows from the release day on).
STATIC_COLUMNS = (
    "title",
    "original_title",
    "release_date",
    "imdb_id",
    "original_language",
    "overview",
    "tagline",
    "runtime",
    "budget",
    *schema.LIST_COLUMNS,
    "poster_path",
)


def day(n: int) -> date:
    return DEMO_EPOCH + timedelta(days=n)


def values(table: pa.Table, column: str) -> list:
    return table[column].to_pylist()


def row_changes(before: pa.Table, after: pa.Table) -> tuple[int, int, int]:
    """(new, changed, removed) rows between two snapshots; nulls compare equal."""
    ids_before, ids_after = before["id"].to_numpy(), after["id"].to_numpy()
    common = np.intersect1d(ids_before, ids_after)
    take_before = pa.array(np.searchsorted(ids_before, common))
    take_after = pa.array(np.searchsorted(ids_after, common))
    changed = np.zeros(len(common), dtype=bool)
    for column in schema.RAW_COLUMN_NAMES:
        a, b = before[column].take(take_before), after[column].take(take_after)
        same = pc.or_(pc.fill_null(pc.equal(a, b), False), pc.and_(pc.is_null(a), pc.is_null(b)))
        changed |= ~same.to_numpy()
    return (
        len(ids_after) - len(common),
        int(changed.sum()),
        len(ids_before) - len(common),
    )


@pytest.fixture(scope="module")
def epoch_2000() -> pa.Table:
    return demo_snapshot(DEMO_EPOCH, size=2000)


# --------------------------------------------------------------------------------------
# Shape, determinism, conventions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 500, 1234])
def test_epoch_has_exactly_size_films_with_the_raw_columns_and_types(size: int) -> None:
    table = demo_snapshot(DEMO_EPOCH, size=size)

    assert table.num_rows == size
    assert tuple(table.column_names) == schema.RAW_COLUMN_NAMES
    for name, raw_type in schema.RAW_COLUMNS.items():
        if name == "id":
            expected = pa.int64()
        elif pa.types.is_floating(raw_type):
            expected = pa.float64()
        else:
            expected = pa.string()  # release_date too: the raw file holds text
        assert table.schema.field(name).type == expected, name


def test_same_arguments_give_the_same_table_and_another_seed_differs() -> None:
    first = demo_snapshot(day(3), seed=7, size=800)
    again = demo_snapshot(day(3), seed=7, size=800)
    other = demo_snapshot(day(3), seed=8, size=800)

    assert first.equals(again)
    assert not first.equals(other)


def test_ids_are_unique_and_sorted() -> None:
    ids = demo_snapshot(day(20), size=1000)["id"].to_numpy()

    assert (ids >= 1).all()
    assert (np.diff(ids) > 0).all()


def test_imdb_rating_and_votes_are_null_together_and_in_range(epoch_2000: pa.Table) -> None:
    rating = epoch_2000["imdb_rating"].to_numpy(zero_copy_only=False)
    votes = epoch_2000["imdb_votes"].to_numpy(zero_copy_only=False)
    rated = ~np.isnan(rating)

    assert (rated == ~np.isnan(votes)).all()
    assert 0.35 < rated.mean() < 0.65  # about half of all films are rated
    assert ((rating[rated] >= 1) & (rating[rated] <= 10)).all()
    assert np.allclose(rating[rated], np.round(rating[rated], 1))
    assert (votes[rated] >= 5).all()
    assert np.allclose(votes[rated], np.round(votes[rated]))
    assert np.std(rating[rated]) > 0.6  # ratings spread like IMDb's


def test_statuses_and_release_dates_follow_the_real_file(epoch_2000: pa.Table) -> None:
    statuses = pd.Series(values(epoch_2000, "status"))
    released = pd.to_datetime(pd.Series(values(epoch_2000, "release_date")), format="%Y-%m-%d")
    rating = pd.Series(values(epoch_2000, "imdb_rating"), dtype=float)

    assert set(statuses) <= set(schema.STATUSES)
    assert (statuses == "Released").mean() > 0.85
    upcoming = statuses.isin(schema.UPCOMING_STATUSES)
    assert upcoming.sum() > 0
    # Upcoming films lie in the future (or have no date) and are never rated.
    assert (released[upcoming].isna() | (released[upcoming] > pd.Timestamp(DEMO_EPOCH))).all()
    assert rating[upcoming | statuses.isin(["Rumored", "Canceled"])].isna().all()
    assert released.dt.year.min() >= 1900
    assert released.max() <= pd.Timestamp(day(3 * 365))
    # Skewed to recent years.
    assert (released.dt.year >= 2000).mean() > 0.4


def test_numeric_conventions(epoch_2000: pa.Table) -> None:
    frame = epoch_2000.to_pandas()

    for column in schema.ZERO_MEANS_UNKNOWN:
        assert (frame[column] >= 0).all(), column
        assert (frame[column] == 0).mean() > 0.1, column  # 0 means unknown, and is common
    assert (frame["budget"] == 0).mean() > 0.7
    assert (frame["revenue"] == 0).mean() > 0.8
    assert frame["vote_average"].between(0, 10).all()
    assert (frame["popularity"] >= 0).all()
    for column in ("vote_count", "imdb_votes", "budget", "revenue", "runtime"):
        known = frame[column].dropna()
        assert np.allclose(known, np.round(known)), column
    # TMDB's average tracks the IMDb rating.
    rated = frame[frame["imdb_rating"].notna() & (frame["vote_count"] >= 10)]
    assert rated["vote_average"].corr(rated["imdb_rating"]) > 0.5


def test_null_rates_are_high_where_the_real_file_has_gaps(epoch_2000: pa.Table) -> None:
    null_rate = {
        name: epoch_2000[name].null_count / epoch_2000.num_rows for name in schema.RAW_COLUMN_NAMES
    }

    assert null_rate["tagline"] > 0.7
    for column in (
        "music_composer",
        "director_of_photography",
        "producers",
        "writers",
        "production_companies",
    ):
        assert 0.2 < null_rate[column] < 0.9, column
    for column in ("overview", "poster_path", "imdb_id", "genres", "cast"):
        assert 0.02 < null_rate[column] < 0.6, column
    for column in ("id", "title", "status", "original_language", "popularity", "vote_count"):
        assert null_rate[column] == 0, column


def test_identifiers_match_the_schema_patterns(epoch_2000: pa.Table) -> None:
    imdb_ids = [v for v in values(epoch_2000, "imdb_id") if v is not None]
    posters = [v for v in values(epoch_2000, "poster_path") if v is not None]

    assert all(schema.IMDB_ID_PATTERN.match(v) and len(v) >= 9 for v in imdb_ids)
    assert len(set(imdb_ids)) == len(imdb_ids)
    assert all(schema.POSTER_PATH_PATTERN.match(v) for v in posters)
    languages = pd.Series(values(epoch_2000, "original_language"))
    assert languages.str.fullmatch(r"[a-z]{2}").all()
    assert languages.value_counts().index[0] == "en"
    assert languages.nunique() > 10


def test_list_columns_are_comma_space_strings(epoch_2000: pa.Table) -> None:
    for column in schema.LIST_COLUMNS:
        for text in values(epoch_2000, column):
            if text is None:
                continue
            items = text.split(schema.LIST_SEPARATOR)
            assert all(item and item == item.strip() for item in items), (column, text)
            assert len(items) == len(set(items)), (column, text)
    genres = {g for text in values(epoch_2000, "genres") if text for g in text.split(", ")}
    assert genres <= set(schema.GENRES)
    counts = [len(t.split(", ")) for t in values(epoch_2000, "cast") if t]
    assert max(counts) <= 30 and max(counts) > 10
    assert max(len(t.split(", ")) for t in values(epoch_2000, "producers") if t) <= 6
    assert max(len(t.split(", ")) for t in values(epoch_2000, "writers") if t) <= 4
    assert max(len(t.split(", ")) for t in values(epoch_2000, "production_companies") if t) <= 5
    countries = {c for t in values(epoch_2000, "production_countries") if t for c in t.split(", ")}
    assert "United States of America" in countries  # names, not codes
    # Names are reused: some people appear in many films.
    cast = pd.Series([p for t in values(epoch_2000, "cast") if t for p in t.split(", ")])
    assert cast.value_counts().iloc[0] >= 20


def test_texts_carry_quotes_commas_newlines_and_non_ascii(epoch_2000: pa.Table) -> None:
    overviews = [v for v in values(epoch_2000, "overview") if v]
    titles = values(epoch_2000, "title") + values(epoch_2000, "original_title")

    assert any("\n" in v for v in overviews)
    assert any('"' in v for v in overviews)
    assert any("," in v for v in overviews)
    assert any("," in t for t in titles)
    assert any('"' in t for t in titles)
    assert any(re.search(r"[À-ÿ]", t) for t in titles)
    assert any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]", t) for t in titles)


# --------------------------------------------------------------------------------------
# Time behaviour
# --------------------------------------------------------------------------------------


def test_a_date_before_the_epoch_raises() -> None:
    with pytest.raises(ValueError, match="2026-01-01"):
        demo_snapshot(DEMO_EPOCH - timedelta(days=1), size=100)


@pytest.mark.parametrize(("seed", "size"), [(-1, 100), (0, 0)])
def test_bad_seed_or_size_raises(seed: int, size: int) -> None:
    with pytest.raises(ValueError):
        demo_snapshot(DEMO_EPOCH, seed=seed, size=size)


def test_new_films_arrive_daily_with_higher_ids_as_upcoming_films() -> None:
    before, after = demo_snapshot(day(9), size=2000), demo_snapshot(day(10), size=2000)
    ids_before = set(values(before, "id"))
    new = after.filter(pa.array([i not in ids_before for i in values(after, "id")]))

    assert 1 <= new.num_rows <= 15  # about max(3, size * 0.0005) a day
    assert min(values(new, "id")) > max(ids_before)
    assert set(values(new, "status")) <= {"Planned", "In Production", "Rumored"}
    assert new["imdb_rating"].null_count == new.num_rows


@pytest.mark.parametrize("start", [0, 45, 200])
def test_without_churn_at_most_one_percent_of_rows_change_from_one_day_to_the_next(start: int) -> None:
    before = demo_snapshot(day(start), size=5000, churn=0)
    after = demo_snapshot(day(start + 1), size=5000, churn=0)
    new, changed, removed = row_changes(before, after)

    assert new > 0
    assert (new + changed + removed) / after.num_rows <= 0.01


def test_earlier_films_are_unchanged_by_asking_for_a_later_date() -> None:
    base_max = max(values(demo_snapshot(DEMO_EPOCH, size=1500), "id"))
    early = demo_snapshot(day(5), size=1500, churn=0)
    late = demo_snapshot(day(40), size=1500, churn=0)
    early_frame = early.to_pandas().set_index("id")
    late_frame = late.to_pandas().set_index("id")
    common = early_frame.index.intersection(late_frame.index)

    assert len(common) >= 1490
    # Films created on days 1-5 are the same films whatever date is asked for.
    assert (common > base_max).sum() > 0
    static = list(STATIC_COLUMNS)
    same_side = common[(early_frame.loc[common, "status"] == "Released")
                       == (late_frame.loc[common, "status"] == "Released")]
    assert len(same_side) >= 1400
    pd.testing.assert_frame_equal(early_frame.loc[same_side, static], late_frame.loc[same_side, static])
    # Films released long ago do not change at all.
    old = early_frame.loc[common]
    old = old[
        (old["status"] == "Released")
        & (pd.to_datetime(old["release_date"]) < pd.Timestamp(day(-40)))
    ]
    assert len(old) > 1000
    pd.testing.assert_frame_equal(old, late_frame.loc[old.index])


SIGNALS = ("popularity", "vote_count", "vote_average", "imdb_votes")


@pytest.mark.parametrize("churn", [0.002, 0.3, 1.0])
def test_churn_moves_the_signals_of_that_share_of_films_and_nothing_else(churn: float) -> None:
    before = demo_snapshot(day(60), size=5000, churn=churn).to_pandas().set_index("id")
    after = demo_snapshot(day(61), size=5000, churn=churn).to_pandas().set_index("id")
    calm = demo_snapshot(day(61), size=5000, churn=0).to_pandas().set_index("id")
    common = before.index.intersection(after.index)
    moved = (before.loc[common, "popularity"] != after.loc[common, "popularity"])
    assert abs(moved.mean() - churn) <= max(0.02, churn * 0.1)
    # only the signals move: every other column is the day's without churn
    others = [c for c in after.columns if c not in SIGNALS]
    pd.testing.assert_frame_equal(after[others], calm[others])
    # votes only grow; films without votes or rating stay without
    assert (after.loc[common, "vote_count"] >= before.loc[common, "vote_count"]).all()
    assert (after["imdb_votes"].isna() == calm["imdb_votes"].isna()).all()
    assert ((after["vote_count"] == 0) == (calm["vote_count"] == 0)).all()


def test_churn_is_deterministic_per_seed_and_day() -> None:
    one = demo_snapshot(day(12), size=1000, seed=3)
    assert one.equals(demo_snapshot(day(12), size=1000, seed=3))
    other = demo_snapshot(day(12), size=1000, seed=4).to_pandas().set_index("id")
    mine = one.to_pandas().set_index("id")
    common = mine.index.intersection(other.index)
    assert (mine.loc[common, "popularity"] != other.loc[common, "popularity"]).any()
    with pytest.raises(ValueError, match="churn"):
        demo_snapshot(day(1), size=10, churn=1.5)


def test_the_day_of_a_film_does_not_depend_on_the_date_asked() -> None:
    on_the_day, later = demo_snapshot(day(3), size=800), demo_snapshot(day(30), size=800)
    base_max = max(values(demo_snapshot(DEMO_EPOCH, size=800), "id"))
    added = [i for i in values(on_the_day, "id") if i > base_max]
    keep_early = pa.array([i in set(added) for i in values(on_the_day, "id")])
    keep_late = pa.array([i in set(added) for i in values(later, "id")])
    early_rows = on_the_day.filter(keep_early).select(list(STATIC_COLUMNS))
    late_rows = later.filter(keep_late).select(list(STATIC_COLUMNS))

    assert len(added) >= 3
    # A deleted film may be missing later; every film still there is the same film.
    assert late_rows.num_rows >= early_rows.num_rows - 1
    late_ids = set(values(later.filter(keep_late), "id"))
    still = pa.array([i in late_ids for i in added])
    assert early_rows.filter(still).equals(late_rows)


def test_upcoming_films_get_released_and_then_rated_over_several_days() -> None:
    snapshots = {
        d: demo_snapshot(day(d), size=3000).to_pandas().set_index("id") for d in range(0, 61, 4)
    }
    first = snapshots[0]
    rated_on: dict[int, int] = {}
    for d, frame in snapshots.items():
        for film in frame.index[frame["imdb_rating"].notna()]:
            rated_on.setdefault(film, d)
    upcoming = set(first.index[first["status"].isin(schema.UPCOMING_STATUSES)])
    newly_rated = {film: d for film, d in rated_on.items() if film in upcoming}

    assert len(newly_rated) >= 3
    assert len(set(newly_rated.values())) >= 2  # spread over several days
    for film, d in newly_rated.items():
        row = snapshots[d].loc[film]
        assert row["status"] == "Released"
        assert pd.Timestamp(row["release_date"]) < pd.Timestamp(day(d))  # a few days after release


def test_status_moves_to_released_on_the_release_date() -> None:
    first = demo_snapshot(DEMO_EPOCH, size=2000).to_pandas()
    dates = pd.to_datetime(first["release_date"])
    soon = first[
        (first["status"] == "Post Production")
        & (dates > pd.Timestamp(day(2)))
        & (dates < pd.Timestamp(day(100)))
    ]
    film = soon.iloc[0]
    release = (pd.Timestamp(film["release_date"]).date() - DEMO_EPOCH).days

    def status_on(n: int) -> str:
        frame = demo_snapshot(day(n), size=2000)
        return frame.filter(pc.equal(frame["id"], film["id"]))["status"][0].as_py()

    assert status_on(release - 1) == "Post Production"
    assert status_on(release) == "Released"


def test_a_few_films_are_deleted() -> None:
    early, late = demo_snapshot(day(30), size=2000), demo_snapshot(day(90), size=2000)
    late_ids = set(values(late, "id"))
    gone = early.filter(pa.array([i not in late_ids for i in values(early, "id")]))

    assert 1 <= gone.num_rows <= 40
    assert set(values(gone, "status")) == {"Rumored"}


def test_a_far_date_stays_fast() -> None:
    started = time.perf_counter()
    table = demo_snapshot(day(5 * 365), size=500)

    assert time.perf_counter() - started < 10
    assert table.num_rows > 500 + 3 * 5 * 365 * 0.8


# --------------------------------------------------------------------------------------
# Signal
# --------------------------------------------------------------------------------------


def _director_f_statistic(frame: pd.DataFrame) -> float:
    """Between-director over within-director mean square of ratings (about 1 with no effect)."""
    stats = frame.groupby("director")["imdb_rating"].agg(["mean", "var", "count"])
    stats = stats[stats["count"] >= 3]
    groups, films = len(stats), int(stats["count"].sum())
    grand = (stats["mean"] * stats["count"]).sum() / films
    between = (stats["count"] * (stats["mean"] - grand) ** 2).sum() / (groups - 1)
    within = ((stats["count"] - 1) * stats["var"]).sum() / (films - groups)
    return between / within


def test_directors_carry_a_learnable_signal(epoch_2000: pa.Table) -> None:
    frame = epoch_2000.to_pandas()
    solo = frame[
        frame["imdb_rating"].notna()
        & frame["director"].notna()
        & ~frame["director"].fillna("").str.contains(",")
    ]
    shuffled = solo.assign(
        imdb_rating=np.random.default_rng(0).permutation(solo["imdb_rating"].to_numpy())
    )

    assert _director_f_statistic(solo) > 2.0
    assert _director_f_statistic(shuffled) < 1.6


def test_genres_shift_the_rating(epoch_2000: pa.Table) -> None:
    frame = epoch_2000.to_pandas()
    rated = frame[frame["imdb_rating"].notna()]
    genres = rated["genres"].fillna("")

    documentary = rated.loc[genres.str.contains("Documentary"), "imdb_rating"].mean()
    horror = rated.loc[genres.str.contains("Horror"), "imdb_rating"].mean()
    assert documentary - horror > 1.0


# --------------------------------------------------------------------------------------
# CSV and the source
# --------------------------------------------------------------------------------------


def test_csv_round_trips_through_pyarrow_and_pandas(tmp_path: Path, epoch_2000: pa.Table) -> None:
    path = write_snapshot_csv(epoch_2000, tmp_path / "nested" / schema.KAGGLE_FILE)

    assert path == tmp_path / "nested" / schema.KAGGLE_FILE
    assert os.listdir(path.parent) == [schema.KAGGLE_FILE]  # no temporary file left
    read = pa_csv.read_csv(
        path,
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(strings_can_be_null=True),
    )
    assert read.num_rows == epoch_2000.num_rows
    assert tuple(read.column_names) == schema.RAW_COLUMN_NAMES
    # Counts keep their ".0", so every float column reads back as a float, like the real file.
    assert read.schema == pa.schema(schema.RAW_COLUMNS.items())
    position = schema.RAW_COLUMN_NAMES.index("release_date")
    expected = epoch_2000.set_column(
        position, "release_date", epoch_2000["release_date"].cast(pa.date32())
    )
    assert read.equals(expected)

    frame = pd.read_csv(path)
    assert list(frame.columns) == list(schema.RAW_COLUMN_NAMES)
    assert len(frame) == epoch_2000.num_rows
    assert frame["overview"].fillna("").tolist() == [
        v or "" for v in values(epoch_2000, "overview")
    ]
    assert frame["vote_count"].dtype == np.float64


def test_write_is_atomic_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pa_csv, "write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_snapshot_csv(demo_snapshot(DEMO_EPOCH, size=10), tmp_path / "x.csv")
    assert os.listdir(tmp_path) == []


def test_fetch_writes_once_then_reuses_the_cached_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = DemoSource(tmp_path, seed=3, size=300)
    snapshot = source.fetch(day(2))

    assert snapshot == Snapshot(
        path=tmp_path / "demo-s3-n300-c0.3-2026-01-03.csv",
        as_of=day(2),
        source="demo",
        version="seed=3,size=300,churn=0.3",
        is_demo=True,
    )
    assert source.name == "demo"
    mtime = snapshot.path.stat().st_mtime_ns

    def must_not_run(*args: object, **kwargs: object) -> pa.Table:
        raise AssertionError("the cached file should be reused")

    monkeypatch.setattr(demo_source, "demo_snapshot", must_not_run)
    again = source.fetch(day(2))
    assert again == snapshot
    assert again.path.stat().st_mtime_ns == mtime


def test_fetch_without_a_date_uses_today_in_utc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> datetime:
            assert tz is UTC
            return datetime(2026, 3, 4, 23, 30, tzinfo=UTC)

    monkeypatch.setattr(demo_source, "datetime", FrozenClock)
    snapshot = DemoSource(tmp_path, size=200).fetch()

    assert snapshot.as_of == date(2026, 3, 4)
    assert snapshot.path.name == "demo-s42-n200-c0.3-2026-03-04.csv"
    assert snapshot.path.exists()


def test_fetch_before_the_epoch_raises_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="demo feed starts"):
        DemoSource(tmp_path, size=100).fetch(date(2025, 12, 31))
    assert os.listdir(tmp_path) == []


def test_the_demo_cache_keeps_only_the_newest_files(tmp_path: Path) -> None:
    source = DemoSource(tmp_path, size=50)
    days = [DEMO_EPOCH + timedelta(days=d) for d in range(5)]
    for day in days:
        source.fetch(day)
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == sorted(source.path_for(d).name for d in days[-(source.keep_files + 1):])
    # An older date asked for again is regenerated, and the newest files stay.
    assert source.fetch(days[0]).path.exists()
    assert source.path_for(days[-1]).exists()


# --------------------------------------------------------------------------------------
# A demo that cannot be gamed: sparse upcoming films, drifting people, unseen signal
# --------------------------------------------------------------------------------------


def _items(text: str | None) -> list[str]:
    return text.split(", ") if text else []


def test_upcoming_films_are_sparser_and_fill_in_at_release() -> None:
    before, after = demo_snapshot(day(0), size=6000), demo_snapshot(day(400), size=6000)
    b, a = before.to_pandas().set_index("id"), after.to_pandas().set_index("id")
    upcoming = b["status"].isin(["Planned", "In Production", "Post Production"])
    released = b["status"] == "Released"
    out_later = b.index[upcoming & b.index.isin(a.index)]
    out_later = out_later[(a.loc[out_later, "status"] == "Released").to_numpy()]
    assert len(out_later) > 100
    # before release runtime, overview and cast are missing far more often than after
    for column, missing in (("runtime", lambda f: f == 0), ("overview", pd.isna), ("cast", pd.isna)):
        before_rate = missing(b.loc[out_later, column]).mean()
        after_rate = missing(a.loc[out_later, column]).mean()
        assert before_rate > after_rate + 0.15, (column, before_rate, after_rate)
        assert before_rate > missing(b.loc[released, column]).mean() + 0.15, column
    # what was known before release is still true after it: the listed cast is the top of
    # the billing, a known runtime or overview does not change
    for film in out_later:
        cast_before, cast_after = _items(b.at[film, "cast"]), _items(a.at[film, "cast"])
        assert cast_before == cast_after[: len(cast_before)]
        if b.at[film, "runtime"] > 0:
            assert b.at[film, "runtime"] == a.at[film, "runtime"]
        if isinstance(b.at[film, "overview"], str):
            assert b.at[film, "overview"] == a.at[film, "overview"]
    n_before = b.loc[out_later, "cast"].map(lambda t: len(_items(t))).mean()
    n_after = a.loc[out_later, "cast"].map(lambda t: len(_items(t))).mean()
    assert n_before < 0.7 * n_after


def test_people_drift_and_part_of_the_rating_is_seen_by_no_feature() -> None:
    from movie_ratings.sources.demo.pools import draw_pools

    pools = draw_pools(42, 20_000)
    assert 0.25 < np.std(pools.drift) < 0.45  # quality changes by decade, person by person
    assert abs(np.corrcoef(pools.drift, pools.quality)[0, 1]) < 0.05
    # films that share everything a model sees still differ: the same director, cast,
    # genres and year give ratings that spread like independent draws would
    table = demo_snapshot(DEMO_EPOCH, size=20_000).to_pandas()
    rated = table.dropna(subset=["imdb_rating"])
    groups = rated.groupby(["director", "genres", "original_language"])["imdb_rating"]
    spread = groups.std().dropna()
    assert len(spread) > 30 and spread.median() > 0.7  # 0.59 when noise was all it had


def test_the_settings_demo_defaults_are_the_sources() -> None:
    """settings.py keeps its own copies (importing the simulator there would load numpy and
    pyarrow for every command): they must agree with the source's defaults."""
    import inspect

    from movie_ratings.settings import Settings

    defaults = {name: p.default for name, p in inspect.signature(DemoSource).parameters.items()}
    fields = Settings.model_fields
    assert fields["demo_churn"].default == defaults["churn"]
    assert fields["demo_seed"].default == defaults["seed"]
    assert fields["demo_size"].default == defaults["size"]
