"""The predictions history with intervals: rows with and without interval ends, coverage of
past intervals, and a history written before intervals existed still read and extended."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from movie_ratings.modeling.intervals import IntervalCalibration
from movie_ratings.schema import MOVIE_PREDICTIONS
from movie_ratings.store.local import LocalFeatureStore
from tasks.predict import card_calibration, interval_bounds, monitoring, prediction_rows

D1, D2 = date(2026, 11, 1), date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 6, tzinfo=UTC)


def films(n: int) -> pa.Table:
    return pa.table({
        "id": pa.array(range(1, n + 1), pa.int64()),
        "status": pa.array(["Post Production"] * n),
        "release_date": pa.array([date(2027, 1, 1)] * n, pa.date32()),
        "imdb_rating": pa.array([None] * n, pa.float64()),
        "directors": pa.array([["D"]] * (n - 1) + [[]], pa.list_(pa.string())),
        "top_cast": pa.array([["C"]] * (n - 1) + [[]], pa.list_(pa.string())),
        "runtime": pa.array([100.0] * (n - 1) + [None], pa.float64()),
        "overview": pa.array(["Plot"] * (n - 1) + [None], pa.string()),
    })


CALIBRATION = IntervalCalibration(0.8, (2.0, 1.5, 1.2, 1.0, 0.8), (1, 1, 1, 1, 1))


def test_prediction_rows_carry_the_interval_of_the_cards_calibration():
    rows = films(3)
    predicted = np.array([6.0, 9.5, 5.0])
    low, high = interval_bounds({"intervals": CALIBRATION.to_dict()}, rows, predicted)
    table = prediction_rows(rows, predicted, model_version=2, prediction_date=D1, store_commit=4,
                            predicted_at=NOW, low=low, high=high)
    assert table.schema == MOVIE_PREDICTIONS.arrow_schema
    assert table["rating_low"].to_pylist() == [5.2, 8.7, 3.0]  # the last film knows nothing: widest
    assert table["rating_high"].to_pylist() == [6.8, 10.0, 7.0]  # clipped to the scale


def test_a_model_without_calibration_predicts_without_intervals_and_says_why():
    rows = films(2)
    assert interval_bounds({"name": "old"}, rows, np.array([6.0, 7.0])) == (None, None)
    table = prediction_rows(rows, np.array([6.0, 7.0]), model_version=1, prediction_date=D1,
                            store_commit=1, predicted_at=NOW)
    assert table["rating_low"].null_count == 2 and table["rating_high"].null_count == 2
    assert card_calibration({}) == (None, None)
    calibration, problem = card_calibration({"intervals": {"coverage": 0.8}})
    assert calibration is None and "unusable" in problem
    assert interval_bounds({"intervals": {"coverage": 0.8}}, rows, np.array([6.0, 7.0])) == (None, None)


def history(rows: list[tuple], with_intervals: bool = True) -> pa.Table:
    ids, versions, days, predicted, lows, highs = zip(*rows, strict=True)
    n = len(rows)
    table = pa.table({
        "id": pa.array(ids, pa.int64()), "model_version": pa.array(versions, pa.int32()),
        "prediction_date": pa.array(days, pa.date32()), "predicted_rating": pa.array(predicted, pa.float64()),
        "status": pa.array(["Post Production"] * n), "release_date": pa.array([None] * n, pa.date32()),
        "rated_when_predicted": pa.array([False] * n), "store_commit": pa.array([1] * n, pa.int64()),
        "predicted_at": pa.array([NOW] * n, pa.timestamp("us", tz="UTC")),
        "rating_low": pa.array(lows, pa.float64()), "rating_high": pa.array(highs, pa.float64()),
    })
    return table if with_intervals else table.drop_columns(["rating_low", "rating_high"])


def rated(ratings: dict[int, float]) -> pa.Table:
    return pa.table({"id": pa.array(list(ratings), pa.int64()), "title": [f"F{i}" for i in ratings],
                     "imdb_id": pa.array([None] * len(ratings), pa.string()), "imdb_votes": [100.0] * len(ratings),
                     "imdb_rating": pa.array(list(ratings.values()), pa.float64())})


def test_coverage_counts_the_past_intervals_that_held_the_real_rating_by_date_and_version():
    past = history([
        (1, 1, D1, 6.0, 5.0, 7.0),      # real 7.0: held (ends included)
        (2, 1, D1, 6.0, 5.5, 6.5),      # real 8.0: missed
        (3, 1, D1, 6.0, None, None),    # no interval: not counted
        (1, 2, D2, 6.5, 6.0, 7.5),      # held
        (4, 2, D2, 5.0, 4.0, 6.0),      # not rated yet
    ])
    result = monitoring(past, rated({1: 7.0, 2: 8.0, 3: 5.0}))
    assert result.coverage.to_pylist() == [
        {"prediction_date": D1, "model_version": 1, "films": 2, "covered": 1},
        {"prediction_date": D2, "model_version": 2, "films": 1, "covered": 1},
    ]
    latest = {r["id"]: (r["rating_low"], r["rating_high"]) for r in result.films.to_pylist()}
    assert latest == {1: (6.0, 7.5), 2: (5.5, 6.5), 3: (None, None)}


def test_a_history_without_interval_columns_still_monitors():
    past = history([(1, 1, D1, 6.0, None, None)], with_intervals=False)
    result = monitoring(past, rated({1: 7.0}))
    assert result.coverage.num_rows == 0 and result.films["rating_low"].null_count == 1
    assert result.mae == 1.0


def test_a_history_written_before_intervals_is_read_and_extended(tmp_path):
    store = LocalFeatureStore(tmp_path / "store", lock_timeout=1.0)
    old = history([(1, 1, D1, 6.0, None, None)], with_intervals=False)
    path = store._history_path(MOVIE_PREDICTIONS.name, 1)
    path.parent.mkdir(parents=True)
    write_deltalake(path, old)  # as the code before intervals wrote it
    read = store.read_all_rows(MOVIE_PREDICTIONS.name, 1)
    assert read.schema == MOVIE_PREDICTIONS.arrow_schema and read["rating_low"].to_pylist() == [None]
    store.merge_rows(MOVIE_PREDICTIONS.name, 1, history([(2, 1, D2, 7.0, 6.0, 8.0)]))
    rows = sorted(store.read_all_rows(MOVIE_PREDICTIONS.name, 1).to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["rating_low"], r["rating_high"]) for r in rows] == [(1, None, None), (2, 6.0, 8.0)]
