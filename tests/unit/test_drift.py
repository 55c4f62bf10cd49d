"""Drift: the PSI formula and thresholds, binning with missing values as a bin, the label row,
and the training rows read back from the view."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from movie_ratings.errors import DataError
from movie_ratings.monitoring import drift
from movie_ratings.monitoring.drift import (
    FeatureDrift,
    count_bin,
    drift_report,
    feature_drift,
    psi,
    psi_level,
)
from movie_ratings.store.base import StoreCommit
from tasks.drift import baseline_films, inference_drift, training_cut, training_rows
from tasks.predict import ViewAtCommit, films_to_predict


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
    # nor too few reference films (a baseline of a handful of upcoming films)
    few_before = feature_drift("budget", drift.NUMERIC, pa.array([1.0] * 5), reference)
    assert few_before.level == "too few films" and not few_before.alert


def test_a_major_shift_alerts_and_a_moderate_one_is_to_watch():
    def judged(value: float) -> FeatureDrift:
        return FeatureDrift("runtime", drift.NUMERIC, value, 500, 500, 0.0, 0.0, ())

    assert judged(0.3).alert and not judged(0.3).watch
    assert judged(0.15).watch and not judged(0.15).alert
    assert not judged(0.05).alert and not judged(0.05).watch


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
    # without a baseline the features against the training films are information only:
    # the new ratings alert, the sparse upcoming films do not
    assert report.baseline == () and report.baseline_problem == "not asked for"
    assert [f.feature for f in report.alerts] == ["imdb_rating"]
    assert report.rows()[0]["feature"] == "runtime" and report.rows()[0]["psi_vs_baseline"] is None
    assert "400 training films" in report.reference and "60 films predicted" in report.current
    assert inference_drift(rows, pa.array([], pa.int64()), {}, None) is None


def test_drift_needs_rows_on_both_sides():
    with pytest.raises(ValueError, match="both sides"):
        drift_report(view(0, 1, True, 100), view(3, 1, True, 100))


# --- the baseline: the films predicted at training time ----------------------------------

TRAINED = date(2026, 5, 1)


def catalogue(rng: np.random.Generator, *, upcoming: int, runtime_mean: float, start: int = 10_000,
              released: int = 600) -> pa.Table:
    """Released films with full metadata, and upcoming ones with sparse metadata (most
    runtimes, overviews and casts unknown), as view rows."""
    n = released + upcoming
    is_upcoming = np.arange(n) >= released
    known = ~is_upcoming | (rng.random(n) < 0.3)
    runtime = np.where(known, rng.normal(np.where(is_upcoming, runtime_mean, 105), 12), np.nan)
    cast = np.where(is_upcoming, rng.poisson(1.5, n), rng.poisson(12, n))
    return pa.table({
        "id": pa.array(np.arange(start, start + n), pa.int64()),
        "status": pa.array(np.where(is_upcoming, "Post Production", "Released").tolist()),
        "release_date": pa.array([TRAINED + timedelta(days=int(d)) if u else date(1990 + int(d) % 30, 3, 1)
                                  for u, d in zip(is_upcoming, rng.integers(1, 300, n), strict=True)],
                                 pa.date32()),
        "imdb_rating": pa.array(np.where(is_upcoming, np.nan, rng.normal(6.3, 1.0, n)), from_pandas=True),
        "runtime": pa.array(runtime, from_pandas=True),
        "budget": pa.array([None] * n, pa.float64()),
        "original_language": pa.array(["en"] * n),
        "genres": pa.array([["Drama"]] * n, pa.list_(pa.string())),
        "n_cast": pa.array(cast, pa.int32()),
        "overview": pa.array([("A plot " * 8) if k and not u else (None if u else "Plot") for k, u in
                              zip(known, is_upcoming, strict=True)], pa.string()),
    })


def commit(number: int, day: date) -> StoreCommit:
    return StoreCommit(number=number, created_at="", snapshot_date=day, source="demo", source_version=None,
                       is_demo=True, groups={})


class Views:
    """A store holding the view at some commits (the calls the baseline makes, counted)."""

    def __init__(self, views: dict[int, tuple[date, pa.Table]]) -> None:
        self.views, self.reads = views, []

    def commit(self, number: int) -> StoreCommit:
        if number not in self.views:
            raise DataError(f"store commit {number} does not exist")
        return commit(number, self.views[number][0])

    def read_feature_view(self, name: str, version: int, *, commit: int | None = None) -> pa.Table:
        self.reads.append((name, version, commit))
        if commit not in self.views:
            raise DataError(f"store commit {commit} does not exist")
        return self.views[commit][1]


CARD = {"store_commit": 1, "snapshot_date": TRAINED.isoformat(),
        "split": {"kind": "temporal", "test_start": "2015-01-01"}}


def test_the_baseline_is_the_films_to_predict_at_the_cards_commit_and_date():
    rng = np.random.default_rng(3)
    then = catalogue(rng, upcoming=200, runtime_mean=100)
    # a film upcoming at training time, released since: in the baseline, not predicted now
    now_rows = then.filter(pc.not_equal(then["id"], 10_600))
    store = Views({1: (TRAINED, then)})
    current = ViewAtCommit(now_rows, commit(9, TRAINED + timedelta(days=8)))
    baseline = baseline_films(store, CARD, current, view_version=1)
    assert baseline.problem is None and store.reads == [("movie_ratings", 1, 1)]
    assert baseline.rows.num_rows == 200 and 10_600 in baseline.rows["id"].to_pylist()
    assert "store commit 1, 2026-05-01" in baseline.name
    # the snapshot date from the commit when the card lacks it; as of that date, not today
    assert baseline_films(store, {"store_commit": 1}, current, view_version=1).rows.num_rows == 200
    assert baseline_films(store, CARD, current, view_version=1, recent_days=0).rows.num_rows == 200


def test_the_runs_own_rows_are_the_baseline_right_after_training():
    rows = catalogue(np.random.default_rng(4), upcoming=50, runtime_mean=100)
    store = Views({})
    baseline = baseline_films(store, CARD, ViewAtCommit(rows, commit(1, TRAINED)), view_version=1)
    assert baseline.rows.num_rows == 50 and store.reads == []  # no second read


@pytest.mark.parametrize(("card", "reason"), [
    ({}, "the model card records no store commit"),
    ({"store_commit": 7, "snapshot_date": "2026-05-01"}, "store commit 7 cannot be read: DataError: store commit 7 does not exist"),
    ({"store_commit": 7}, "store commit 7 cannot be read: DataError: store commit 7 does not exist"),
    ({"store_commit": 1, "snapshot_date": "soon"}, "snapshot_date 'soon' is not an ISO date"),
    ({"store_commit": "one"}, "store_commit 'one' is not a commit number"),
    ({"store_commit": 1, "snapshot_date": "2030-01-01"}, "no film was to be predicted at store commit 1 (2030-01-01)"),
])
def test_a_baseline_that_cannot_be_computed_says_why(card, reason):
    rows = catalogue(np.random.default_rng(5), upcoming=50, runtime_mean=100)
    store = Views({1: (TRAINED, rows)})
    baseline = baseline_films(store, card, ViewAtCommit(rows, commit(9, TRAINED)), view_version=1)
    assert baseline.rows is None and reason in baseline.problem
    report = inference_drift(rows, films_to_predict(rows, TRAINED)["id"], card, None, baseline)
    assert report.baseline == () and reason in report.baseline_problem and report.alerts == ()


def drift_now(upcoming_runtime: float, seed: int = 6) -> drift.DriftReport:
    """Trained on 2026-05-01 with 400 upcoming films; a week later 400 others to predict."""
    rng = np.random.default_rng(seed)
    then = catalogue(rng, upcoming=400, runtime_mean=100)
    later = catalogue(rng, upcoming=400, runtime_mean=upcoming_runtime, start=20_000, released=0)
    now_rows = pa.concat_tables([then.filter(pc.equal(then["status"], "Released")), later])
    store = Views({1: (TRAINED, then)})
    current = ViewAtCommit(now_rows, commit(8, TRAINED + timedelta(days=7)))
    baseline = baseline_films(store, CARD, current, view_version=1)
    predicted = films_to_predict(now_rows, current.commit.snapshot_date)
    return inference_drift(now_rows, predicted["id"], CARD, None, baseline)


def test_sparse_upcoming_films_unchanged_since_training_do_not_alert():
    report = drift_now(upcoming_runtime=100)
    against_training = {f.feature: f for f in report.features}
    # far from the training films (sparse metadata by nature)...
    assert against_training["runtime"].alert and against_training["n_cast"].alert
    assert against_training["overview_words"].alert
    # ...but like the films predicted at training time: no alert, nothing to watch
    assert {f.feature for f in report.baseline} == set(against_training)
    assert max(f.psi for f in report.baseline) < 0.1
    assert report.alerts == () and report.watches == ()
    assert report.baseline_reference.startswith("400 films predicted at training time")


def test_upcoming_films_whose_runtime_shifted_alert():
    report = drift_now(upcoming_runtime=135)
    assert [f.feature for f in report.alerts] == ["runtime"]
    assert report.baseline_of("runtime").psi >= 0.25
    row = next(r for r in report.rows() if r["feature"] == "runtime")
    assert row["level_vs_baseline"] == "major" and row["baseline_rows"] == 400


def test_the_alert_artifact_names_what_each_psi_compares():
    from tasks.drift import drift_markdown

    text = drift_markdown(drift_now(upcoming_runtime=135), TRAINED)
    assert "| runtime vs films predicted at training time | numeric |" in text
    assert re.search(r"\n[0-9]+ films predicted against 400 films predicted at training time \(store commit 1, 2026-05-01\)", text)
