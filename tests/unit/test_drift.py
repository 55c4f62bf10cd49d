"""Drift: the PSI formula and thresholds, binning with missing values as a bin, the label row,
and the training rows read back from the view."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from movie_ratings.monitoring import drift
from movie_ratings.monitoring.drift import count_bin, drift_report, feature_drift, psi, psi_level
from tasks.drift import inference_drift, training_cut, training_rows


def test_psi_is_the_sum_of_share_differences_times_their_log_ratio():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.7 - 0.5) * math.log(0.7 / 0.5) + (0.3 - 0.5) * math.log(0.3 / 0.5)
    assert psi([50, 50], [70, 30]) == pytest.approx(expected)
    # an empty bin counts as a tiny share instead of an infinite PSI
    assert math.isfinite(psi([100, 0], [50, 50]))
    with pytest.raises(ValueError, match="bins differ"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="no rows"):
        psi([0, 0], [1, 1])


@pytest.mark.parametrize(("value", "level"), [(0.0, "stable"), (0.099, "stable"), (0.1, "moderate"),
                                              (0.249, "moderate"), (0.25, "major"), (3.0, "major")])
def test_psi_levels_use_the_usual_thresholds(value, level):
    assert psi_level(value) == level


@pytest.mark.parametrize(("n", "label"), [(0, "0"), (1, "1"), (2, "2–3"), (3, "2–3"), (4, "4–7"),
                                          (15, "8–15"), (63, "32–63"), (64, "64+"), (500, "64+")])
def test_counts_bin_by_powers_of_two(n, label):
    assert count_bin(n) == label


def test_the_same_numeric_distribution_is_stable_and_a_shifted_one_is_not():
    rng = np.random.default_rng(0)
    reference = pa.array(rng.normal(100, 15, 5000))
    same = feature_drift("runtime", drift.NUMERIC, reference, pa.array(rng.normal(100, 15, 2000)))
    assert same.level == "stable" and same.psi < 0.05
    shifted = feature_drift("runtime", drift.NUMERIC, reference, pa.array(rng.normal(120, 15, 2000)))
    assert shifted.level == "major" and shifted.alert
    assert len(shifted.bins) == 11  # 10 quantile bins and the missing bin
    assert sum(b.reference for b in shifted.bins) == pytest.approx(1.0)


def test_a_rise_in_missing_values_is_drift_of_its_own():
    rng = np.random.default_rng(1)
    values = rng.normal(100, 15, 4000)
    current = np.where(rng.random(4000) < 0.5, np.nan, rng.normal(100, 15, 4000))
    result = feature_drift("runtime", drift.NUMERIC, pa.array(values), pa.array(current, from_pandas=True))
    assert result.reference_missing == 0.0 and result.current_missing == pytest.approx(0.5, abs=0.03)
    assert result.bins[-1].label == "missing" and result.level == "major"


def test_categorical_lists_compare_mentions_and_films_without_any():
    genres = pa.list_(pa.string())
    reference = pa.array([["Drama"], ["Comedy"], ["Drama", "Horror"], []] * 50, genres)
    current = pa.array([["Horror"], ["Horror"], [], None] * 20, genres)
    result = feature_drift("genres", drift.CATEGORICAL, reference, current)
    labels = [b.label for b in result.bins]
    assert labels == ["Drama", "Comedy", "Horror", "other", "missing"]
    assert result.reference_missing == 0.25 and result.current_missing == 0.5
    assert result.alert


def test_too_few_current_films_are_reported_but_never_alerted():
    reference = pa.array(np.arange(1000, dtype=float))
    result = feature_drift("budget", drift.NUMERIC, reference, pa.array([5000.0] * 5))
    assert result.psi > 1 and result.level == "too few films" and not result.alert


def view(n: int, start: int, rated: bool, runtime: float, overview: str | None = "A plot") -> pa.Table:
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "release_date": pa.array([date(2000 + i % 20, 1, 1) for i in range(n)], pa.date32()),
        "imdb_rating": pa.array([6.0 + (i % 3) if rated else None for i in range(n)], pa.float64()),
        "runtime": pa.array([runtime + i % 7 for i in range(n)], pa.float64()),
        "budget": pa.array([None] * n, pa.float64()),
        "original_language": pa.array(["en"] * n),
        "genres": pa.array([["Drama"]] * n, pa.list_(pa.string())),
        "n_cast": pa.array([i % 12 for i in range(n)], pa.int32()),
        "overview": pa.array([overview] * n, pa.string()),
    })


def test_the_training_rows_are_the_labelled_films_before_the_cards_cut():
    rows = view(40, 1, True, 100)
    card = {"split": {"kind": "temporal", "test_start": "2010-01-01"}}
    cut = training_cut(card)
    assert cut == date(2010, 1, 1)
    kept = training_rows(rows, cut)
    assert kept.num_rows == 20 and max(kept["release_date"].to_pylist()) < cut
    assert training_cut({"split": {"kind": "random", "test_start": None}}) is None
    assert training_cut({}) is None
    assert training_rows(rows, None).num_rows == 40
    with pytest.raises(ValueError, match="not an ISO date"):
        training_cut({"split": {"kind": "temporal", "test_start": "soon"}})


def test_inference_drift_compares_the_predicted_films_and_the_new_ratings():
    rows = pa.concat_tables([view(400, 1, True, 100), view(60, 1000, False, 150, overview=None)])
    report = inference_drift(rows, pa.array(range(1000, 1060)), {}, pa.array([9.5] * 40))
    by_feature = {f.feature: f for f in report.features}
    assert by_feature["runtime"].level == "major"
    assert by_feature["overview_words"].current_missing == 0.0  # no overview: 0 words, not unknown
    assert by_feature["overview_words"].alert
    assert by_feature["genres"].level == "stable"
    assert "n_directors" not in by_feature  # not in these rows: skipped
    assert report.features[-1].feature == "imdb_rating" and report.features[-1].alert
    assert {f.feature for f in report.alerts} >= {"runtime", "overview_words", "imdb_rating"}
    assert report.rows()[0]["feature"] == "runtime"
    assert "400 training films" in report.reference and "60 films predicted" in report.current
    assert inference_drift(rows, pa.array([], pa.int64()), {}, None) is None


def test_drift_needs_rows_on_both_sides():
    with pytest.raises(ValueError, match="both sides"):
        drift_report(view(0, 1, True, 100), view(3, 1, True, 100))
