"""Split-conformal intervals: the quantile rule, levels, monotone widths, coverage, round trip."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyarrow as pa
import pytest

from movie_ratings.modeling.intervals import (
    LEVELS,
    IntervalCalibration,
    calibrate,
    calibration_of,
    conformal_quantile,
    information_level,
)


def test_the_conformal_quantile_is_the_ceil_n_plus_1_times_coverage_smallest_error():
    errors = np.arange(1, 11, dtype=float)  # 1..10
    assert conformal_quantile(errors, 0.8) == 9.0  # ceil(11 * 0.8) = 9th smallest
    assert conformal_quantile(np.arange(1, 20, dtype=float), 0.8) == 16.0  # ceil(20 * 0.8)
    with pytest.raises(ValueError, match="too few"):
        conformal_quantile(np.array([1.0, 2.0, 3.0]), 0.8)  # rank 4 of 3


def test_the_information_level_counts_director_cast_runtime_and_overview():
    rows = pa.table({
        "directors": pa.array([["A"], [], None, ["B"]], pa.list_(pa.string())),
        "top_cast": pa.array([["X", "Y"], [], ["Z"], None], pa.list_(pa.string())),
        "runtime": pa.array([120.0, None, 0.0, 90.0]),
        "overview": pa.array(["A plot.", "  ", None, "Plot"]),
    })
    assert information_level(rows).tolist() == [4, 0, 1, 3]
    with pytest.raises(KeyError, match="runtime"):
        information_level(rows.drop_columns(["runtime"]))


def test_levels_with_less_information_never_get_narrower_intervals():
    rng = np.random.default_rng(0)
    n = 4000
    levels = rng.integers(0, LEVELS, n)
    # errors shrink with information, except level 1 which is oddly precise here
    scale = np.array([1.5, 0.2, 1.0, 0.7, 0.5])[levels]
    actual = rng.uniform(3, 8, n)
    predicted = actual + rng.normal(0, 1, n) * scale
    calibration = calibrate(actual, predicted, levels)
    widths = calibration.half_widths
    assert all(a >= b for a, b in itertools.pairwise(widths))
    assert widths[0] > widths[4]
    assert widths[1] == widths[2]  # raised to the less precise better-known level
    assert sum(calibration.rows) == n


def test_a_level_with_few_hold_out_films_uses_the_pooled_quantile():
    rng = np.random.default_rng(1)
    levels = np.r_[np.full(300, 4), np.full(5, 0)]
    actual = rng.uniform(3, 8, levels.size)
    predicted = actual + rng.normal(0, 1, levels.size)
    calibration = calibrate(actual, predicted, levels, min_rows=50)
    pooled = conformal_quantile(np.abs(actual - predicted))
    assert calibration.half_widths[0] == max(pooled, calibration.half_widths[1])
    assert calibration.rows[0] == 5


def test_intervals_hold_about_80_percent_of_fresh_films_and_contain_the_prediction():
    rng = np.random.default_rng(2)

    def films(n):
        levels = rng.integers(0, LEVELS, n)
        actual = rng.uniform(2, 9, n)
        predicted = np.clip(actual + rng.normal(0, 1, n) * (1.6 - 0.3 * levels), 1, 10)
        return actual, predicted, levels

    calibration = calibrate(*films(5000))
    actual, predicted, levels = films(20000)
    low, high = calibration.bounds(predicted, levels)
    held = (actual >= low) & (actual <= high)
    assert 0.78 <= held.mean() <= 0.84
    for level in range(LEVELS):  # conditional on the level too
        assert 0.76 <= held[levels == level].mean() <= 0.86
    assert np.all(low <= predicted) and np.all(predicted <= high)
    assert low.min() >= 1.0 and high.max() <= 10.0


def test_the_calibration_round_trips_through_plain_numbers():
    calibration = IntervalCalibration(0.8, (1.5, 1.2, 1.0, 0.9, 0.8), (10, 20, 30, 40, 50))
    values = calibration.to_dict()
    import json

    assert IntervalCalibration.from_dict(json.loads(json.dumps(values))) == calibration
    assert calibration_of({"intervals": values}) == calibration
    assert calibration_of({"name": "old model"}) is None


@pytest.mark.parametrize("bad", [
    {"coverage": 0.8}, {"coverage": 0.8, "half_widths": [1.0, 2.0]},
    {"coverage": 0.8, "half_widths": [1.0, 1.0, 1.0, 1.0, math.nan]},
    {"coverage": 0.8, "half_widths": [1.0, 1.0, 1.0, 1.0, -1.0]},
    {"coverage": 1.5, "half_widths": [1.0] * 5}, {"coverage": "x", "half_widths": [1.0] * 5},
])
def test_a_malformed_calibration_is_refused(bad):
    with pytest.raises(ValueError):
        IntervalCalibration.from_dict(bad)
    with pytest.raises(ValueError):
        calibration_of({"intervals": bad})


def test_calibration_needs_matching_lengths():
    with pytest.raises(ValueError, match="lengths differ"):
        calibrate(np.ones(10), np.ones(9), np.ones(10))


def test_calibrate_rows_reads_the_levels_from_the_hold_out_rows():
    from movie_ratings.modeling.intervals import calibrate_rows

    n = 200
    rows = pa.table({
        "directors": pa.array([["A"]] * n, pa.list_(pa.string())),
        "top_cast": pa.array([["B"]] * n, pa.list_(pa.string())),
        "runtime": pa.array([100.0] * n), "overview": pa.array(["x"] * n),
    })
    actual = np.linspace(2, 9, n)
    predicted = actual + np.where(np.arange(n) % 2, 0.5, -0.5)
    calibration = calibrate_rows(actual, predicted, rows)
    assert calibration.rows == (0, 0, 0, 0, n)
    assert calibration.half_widths == (0.5,) * LEVELS
