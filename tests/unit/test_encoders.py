"""The fitted preprocessing: time-aware history encodings, missing vs zero, augmentation."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from movie_ratings.modeling.augment import drop_metadata, upcoming_drop_rates
from movie_ratings.modeling.encoders import (
    INPUT_COLUMNS,
    HistoryEncoder,
    MovieFeatures,
    release_days,
)
from movie_ratings.schema import GENRE_FEATURES

LISTS = pa.list_(pa.string())
DAY0 = date(2000, 1, 1)


def days(*offsets: int | None) -> np.ndarray:
    return np.array([np.nan if o is None else (DAY0 - date(1970, 1, 1)).days + o for o in offsets])


def people(*lists: list[str] | None) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(list(lists), LISTS)])


def test_a_film_sees_only_films_released_before_it_minus_the_lag() -> None:
    members = people(["A"], ["A"], ["A", "B"], ["A"], ["B"])
    y = np.array([8.0, 6.0, 4.0, 7.0, 5.0])
    when = days(0, 100, 300, 350, None)
    enc = HistoryEncoder(smoothing=0.0, lag_days=90, career=True).fit(members, y, when)
    out = enc.transform(members, when)
    te_mean, te_max, known, log_films, films, years, mean, last, recent = out.T
    # film 0: nothing before it; known 0 (its list is there), no rating known
    assert known[0] == 0 and log_films[0] == 0 and np.isnan(te_mean[0]) and np.isnan(mean[0])
    # film 1 (day 100): film 0 is 100 days older than it: A has one film rated 8,
    # the prior is the mean of every film before day 10 = 8
    assert known[1] == 1 and te_mean[1] == pytest.approx(0.0) and films[1] == pytest.approx(np.log1p(1))
    # film 3 (day 350): day 300 is within the lag, so only films 0 and 1 count
    prior = 7.0
    assert known[3] == 1 and te_mean[3] == pytest.approx(7.0 - prior)
    assert last[3] == pytest.approx(6.0 - prior) and years[3] == pytest.approx(350 / 365.25)
    newer = np.exp(100 / 3652.5)  # the film of day 100 weighs more than the one of day 0
    assert recent[3] == pytest.approx((8.0 + 6.0 * newer) / (1 + newer) - prior)
    # film 2 (day 300, A and B): A known from films 0 and 1, B never seen before
    assert known[2] == 1 and log_films[2] == pytest.approx(np.log1p(2)) and te_max[2] == te_mean[2]
    # the undated film comes after all history: B's only dated film (rating 4) counts
    assert known[4] == 1 and mean[4] == pytest.approx(4.0 - y[:4].mean())


def test_missing_lists_are_not_empty_ones() -> None:
    members = people(["A"], None, ["Z"])
    enc = HistoryEncoder(career=True).fit(people(["A"]), np.array([7.0]), days(0))
    out = enc.transform(members, days(400, 400, 400))
    assert out[0, 2] == 1
    assert np.isnan(out[1]).all()                      # no cast known: nothing, not zeros
    assert out[2, 2] == 0 and out[2, 3] == 0 and np.isnan(out[2, 0])  # a newcomer: 0 films


def _films(n: int, seed: int) -> tuple[pa.Table, np.ndarray]:
    rng = np.random.default_rng(seed)
    pool = [f"p{i}" for i in range(25)]

    def lists() -> pa.Array:
        return pa.array([list(rng.choice(pool, rng.integers(0, 4), replace=False)) or None
                         for _ in range(n)], LISTS)

    columns: dict[str, pa.Array] = {}
    for name in INPUT_COLUMNS:
        if name in ("directors", "writers", "producers", "top_cast", "companies", "composers",
                    "cinematographers", "countries", "spoken_languages"):
            columns[name] = lists()
        elif name == "original_language":
            columns[name] = pa.array(rng.choice(["en", "fr", None], n).tolist())
        elif name in ("title", "tagline", "overview"):
            columns[name] = pa.array([f"word{i % 5} text" for i in range(n)])
        elif name == "release_date":
            columns[name] = pa.array([DAY0 + timedelta(days=int(d)) for d in rng.integers(0, 3000, n)],
                                     pa.date32())
        else:
            columns[name] = pa.array(rng.integers(0, 3, n).astype(float))
    return pa.table(columns), rng.uniform(2, 9, n)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changing_a_later_rating_never_changes_an_earlier_films_features(seed: int) -> None:
    table, y = _films(300, seed)
    when = release_days(table)
    later = int(np.argsort(when)[200])  # a film with 200 films released before it
    changed = y.copy()
    changed[later] = 10.0 - y[later]
    a = MovieFeatures(use_text=False).fit_transform(table, y)
    b = MovieFeatures(use_text=False).fit_transform(table, changed)
    earlier = when < when[later]
    assert earlier.sum() >= 150
    np.testing.assert_array_equal(a[earlier], b[earlier])  # NaN equals NaN here
    assert not np.array_equal(a[~earlier], b[~earlier], equal_nan=True)  # the change is seen later


def test_training_rows_and_scored_rows_go_through_the_same_code() -> None:
    table, y = _films(200, 4)
    features = MovieFeatures(use_text=False)
    np.testing.assert_array_equal(features.fit_transform(table, y), features.transform(table))
    assert features.transform(table).shape[1] == len(features.get_feature_names_out())


def test_unknown_counts_and_genres_are_nan_not_zero() -> None:
    table, y = _films(60, 5)
    n_genres = np.zeros(60)
    n_genres[:30] = 2
    table = table.set_column(table.column_names.index("n_genres"), "n_genres", pa.array(n_genres))
    features = MovieFeatures(use_text=False)
    matrix = features.fit_transform(table, y)
    names = list(features.get_feature_names_out())
    n_cast = table["n_cast"].to_numpy()
    column = matrix[:, names.index("n_cast")]
    assert np.isnan(column[n_cast == 0]).all() and (column[n_cast > 0] == n_cast[n_cast > 0]).all()
    for genre in GENRE_FEATURES:
        assert np.isnan(matrix[30:, names.index(genre)]).all()
        assert not np.isnan(matrix[:30, names.index(genre)]).any()


def test_drop_rates_make_rated_films_as_sparse_as_upcoming_ones() -> None:
    n = 200
    view = pa.table({
        "imdb_rating": [7.0] * 100 + [None] * 100,
        "status": ["Released"] * 100 + ["Post Production"] * 100,
        "runtime": [90.0] * 90 + [None] * 10 + [90.0] * 40 + [None] * 60,  # 10% vs 60% missing
        "budget": [None] * n,                                             # missing everywhere
        "overview": ["x"] * n, "tagline": ["t"] * n,
        **{c: pa.array([["a"]] * n, LISTS) for c in ("top_cast", "directors", "writers", "producers",
                                                     "companies", "composers", "cinematographers")},
    })
    rates = upcoming_drop_rates(view)
    assert rates == {"runtime": pytest.approx((0.6 - 0.1) / 0.9, abs=1e-4)}
    assert upcoming_drop_rates(view.slice(0, 120)) == {}  # too few upcoming films


def test_drop_metadata_is_seeded_and_leaves_its_input_alone() -> None:
    table, _ = _films(2000, 6)
    before = table.to_pydict()
    a = drop_metadata(table, {"top_cast": 0.5, "runtime": 0.25}, seed=1)
    assert table.to_pydict() == before
    assert a.equals(drop_metadata(table, {"top_cast": 0.5, "runtime": 0.25}, seed=1))
    had_cast = np.array(table["top_cast"].is_valid())
    dropped_cast = np.array(a["top_cast"].is_null()) & had_cast
    assert 0.4 < dropped_cast.sum() / had_cast.sum() < 0.6
    assert np.array(a["n_cast"].is_null())[dropped_cast].all()  # the count goes with the list
    assert not np.array(a["n_cast"].is_null())[~dropped_cast & had_cast].any()
    assert 0.2 < np.array(a["runtime"].is_null()).mean() < 0.3
