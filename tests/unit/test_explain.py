"""Explanations: contributions plus base value add up to the prediction (exact tree
contributions for XGBoost, the path fallback for other estimators), grouped and worded from
what a person knows, computed only for the rows asked for."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from xgboost import XGBRegressor

from movie_ratings.modeling.encoders import INPUT_COLUMNS, MovieFeatures
from movie_ratings.modeling.estimators import EarlyStoppedBoosting, make_candidate
from movie_ratings.modeling.explain import (
    describe,
    explain,
    feature_group,
    path_contributions,
)
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from tasks.predict import snapshot_view_rows

AS_OF = date(2026, 5, 1)


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> pa.Table:
    path = write_snapshot_csv(demo_snapshot(AS_OF, size=2500), tmp_path_factory.mktemp("demo") / "s.csv")
    view = snapshot_view_rows(path, AS_OF).rows
    return view.filter(pc.is_valid(view["imdb_rating"]))


def fit(rows: pa.Table, estimator) -> Pipeline:
    features = MovieFeatures(seed=0)
    matrix = features.fit_transform(rows.select(list(INPUT_COLUMNS)), rows["imdb_rating"].to_numpy())
    return Pipeline([("features", features), ("model", estimator.fit(matrix, rows["imdb_rating"].to_numpy()))])


@pytest.mark.parametrize("estimator", [
    lambda: EarlyStoppedBoosting(seed=0, n_jobs=1, n_estimators=80, max_depth=4),
    lambda: XGBRegressor(n_estimators=40, max_depth=3, n_jobs=1, random_state=0),
    lambda: make_candidate("linear_regression", train_rows=2000, seed=0),
    lambda: make_candidate("random_forest", train_rows=2000, seed=0, n_jobs=1),
])
def test_contributions_plus_base_value_add_up_to_the_prediction(rows, estimator):
    train, asked = rows.slice(0, rows.num_rows - 20), rows.slice(rows.num_rows - 20)
    pipeline = fit(train, estimator())
    explanations = explain(pipeline, asked, background=train.slice(0, 200))
    assert len(explanations) == 20
    predicted = np.asarray(pipeline.predict(asked), dtype=np.float64)
    for explanation, expected in zip(explanations, predicted, strict=True):
        total = explanation.base_value + sum(v for _, v in explanation.contributions)
        assert total == pytest.approx(expected, abs=1e-3)
        assert explanation.prediction == pytest.approx(expected, abs=1e-3)
        sizes = [abs(v) for _, v in explanation.contributions]
        assert sizes == sorted(sizes, reverse=True)
    labels = {label for e in explanations for label, _ in e.contributions}
    assert any(label.startswith(("genre ", "no genre")) for label in labels)
    assert not [label for label in labels if "te_mean" in label or "text_score" in label]


def test_xgboost_contributions_are_exact_tree_contributions_and_fast(rows):
    pipeline = fit(rows, EarlyStoppedBoosting(seed=0, n_jobs=1, n_estimators=200, max_depth=6))
    asked = rows.slice(0, 20)
    started = time.perf_counter()
    explanations = explain(pipeline, asked)
    seconds = time.perf_counter() - started
    assert seconds < 2.0
    # exact: the same base value for every film (the trees' expected output)
    assert len({round(e.base_value, 5) for e in explanations}) == 1


def test_the_path_fallback_adds_up_in_any_model():
    class Product:
        def predict(self, x):
            return np.where(np.isnan(x[:, 0]), 5.0, x[:, 0] * x[:, 1]) + x[:, 2]

    matrix = np.array([[2.0, 3.0, 1.0], [1.0, -1.0, 4.0]])
    background = np.array([[0.0, 0.0, 0.0], [np.nan, 0.0, 2.0]])  # outputs 0 and 7
    contributions, base = path_contributions(Product(), matrix, ["a", "a", "b"], background)
    assert base.tolist() == [3.5, 3.5]  # the background films' mean prediction
    assert (contributions.sum(axis=1) + base).tolist() == [7.0, 3.0]
    # group b: x2 minus the background's x2, whatever the order (the model is additive in it)
    assert contributions[:, 1].tolist() == [0.0, 3.0]
    with pytest.raises(ValueError, match="background"):
        path_contributions(Product(), matrix, ["a", "a", "b"], np.empty((0, 3)))


@pytest.mark.parametrize(("name", "group"), [
    ("directors_te_mean", "directors"), ("top_cast_known", "top_cast"), ("n_cast", "top_cast"),
    ("horror", "genres"), ("n_genres", "genres"), ("log_budget", "budget"),
    ("release_month", "release_date"), ("text_score", "text"), ("original_language_te_max", "original_language"),
    ("something_new", "something_new"),
])
def test_transformed_features_group_back_to_what_a_person_knows(name, group):
    assert feature_group(name) == group


def test_groups_are_worded_from_the_films_own_values():
    film = {"directors": ["Jane Doe"], "top_cast": [], "genres": ["Horror", "Thriller"], "runtime": None,
            "budget": 5e7, "writers": ["A", "B", "C"], "release_date": date(2027, 3, 1), "overview": " "}
    assert describe("directors", film) == "director Jane Doe's earlier films"
    assert describe("top_cast", film) == "no cast listed yet"
    assert describe("genres", film) == "genre Horror, Thriller"
    assert describe("runtime", film) == "runtime not known yet"
    assert describe("budget", film) == "budget $50.0M"
    assert describe("writers", film) == "writers' (A, B …) earlier films"
    assert describe("release_date", film) == "release in Mar 2027"
    assert describe("text", film) == "no overview yet"
    assert describe("something_new", film) == "something new"


def test_nothing_to_explain_is_an_empty_list(rows):
    pipeline = fit(rows.slice(0, 500), make_candidate("linear_regression", train_rows=500, seed=0))
    assert explain(pipeline, rows.slice(0, 0)) == []
    with pytest.raises(TypeError, match="pipeline"):
        explain(LinearRegression(), rows.slice(0, 1))


def test_batch_scoring_writes_intervals_and_explanations_when_asked(rows, tmp_path):
    from types import SimpleNamespace

    from movie_ratings.modeling.intervals import IntervalCalibration
    from tasks.predict import LoadedModel, score_csv

    pipeline = fit(rows, XGBRegressor(n_estimators=30, max_depth=3, n_jobs=1, random_state=0))
    csv = write_snapshot_csv(demo_snapshot(AS_OF, size=300), tmp_path / "batch.csv")
    calibration = IntervalCalibration(0.8, (1.6, 1.4, 1.2, 1.0, 0.9), (50,) * 5)
    card = {"intervals": calibration.to_dict()}
    model = LoadedModel(SimpleNamespace(version=4, card=card), pipeline)
    scores, _ = score_csv(csv, model, AS_OF, explain=True)
    assert scores.column_names == ["id", "title", "predicted_rating", "rating_low", "rating_high",
                                   "model_version", "explanation"]
    low, high = scores["rating_low"].to_numpy(), scores["rating_high"].to_numpy()
    predicted = scores["predicted_rating"].to_numpy()
    assert np.all(low <= predicted) and np.all(predicted <= high)
    assert all(text.count(";") == 4 for text in scores["explanation"].to_pylist())
    plain, _ = score_csv(csv, LoadedModel(SimpleNamespace(version=4, card={}), pipeline), AS_OF)
    assert "explanation" not in plain.column_names
    assert plain["rating_low"].null_count == plain.num_rows  # no calibration: empty, never a failure
