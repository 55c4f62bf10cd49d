"""Splits, target encoding, metrics, seed parity and promotion on tiny inline tables."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from movie_ratings.errors import DataError
from movie_ratings.modeling.encoders import MovieFeatures
from tasks.evaluate import regression_metrics, segment_table
from tasks.parity import OLD_NOTEBOOK_FEATURES, old_notebook_rows
from tasks.promote import decide_promotion
from tasks.training_data import labelled_rows, random_split, temporal_split

LISTS = pa.list_(pa.string())


def dated(*days: str | None, ratings: list[float] | None = None) -> pa.Table:
    values = [date.fromisoformat(d) if d else None for d in days]
    ratings = ratings or [5.0] * len(days)
    return pa.table({"release_date": pa.array(values, pa.date32()), "imdb_rating": ratings})


# ---- splits -------------------------------------------------------------------------------

def test_temporal_split_tests_on_the_latest_releases_and_trains_undated_films() -> None:
    rows = dated("2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01", None, "2024-01-01")
    split = temporal_split(rows, test_size=0.4)
    assert split.test.tolist() == [3, 5]
    assert split.train.tolist() == [0, 1, 2, 4]
    assert split.test_start == date(2023, 1, 1)


def test_temporal_split_with_an_explicit_start() -> None:
    rows = dated("2020-01-01", "2021-06-01", "2022-01-01")
    split = temporal_split(rows, test_start=date(2021, 6, 1))
    assert split.test.tolist() == [1, 2] and split.train.tolist() == [0]
    assert split.describe()["test_start"] == "2021-06-01"


@pytest.mark.parametrize("start", [date(1900, 1, 1), date(2100, 1, 1)])
def test_temporal_split_refuses_an_empty_side(start: date) -> None:
    with pytest.raises(DataError, match="temporal split"):
        temporal_split(dated("2020-01-01", "2021-01-01"), test_start=start)


def test_temporal_split_needs_dated_films() -> None:
    with pytest.raises(DataError, match="release date"):
        temporal_split(dated(None, None))


def test_random_split_is_seeded_and_disjoint() -> None:
    rows = dated(*["2020-01-01"] * 50)
    a, b, c = (random_split(rows, test_size=0.2, seed=s) for s in (1, 1, 2))
    assert a.test.tolist() == b.test.tolist() != c.test.tolist()
    assert len(a.test) == 10 and not set(a.test) & set(a.train)
    assert sorted([*a.train, *a.test]) == list(range(50))


def test_labelled_rows_keeps_rated_films_only() -> None:
    rows = pa.table({"id": [1, 2, 3], "imdb_rating": [7.0, None, 3.0]})
    assert labelled_rows(rows)["id"].to_pylist() == [1, 3]


# ---- target encoding -----------------------------------------------------------------------

# (the time-aware history encodings are tested in test_encoders.py)


def test_movie_features_name_every_output_column() -> None:
    from movie_ratings.modeling.encoders import INPUT_COLUMNS

    n = 30
    columns = {}
    for name in INPUT_COLUMNS:
        if name in ("directors", "writers", "producers", "top_cast", "companies", "composers",
                    "cinematographers", "countries", "spoken_languages"):
            columns[name] = pa.array([[f"x{i % 3}"] for i in range(n)], LISTS)
        elif name in ("original_language", "title", "tagline", "overview"):
            columns[name] = pa.array([f"word{i % 4} text" for i in range(n)])
        elif name == "release_date":
            columns[name] = pa.array([date(2000 + i % 20, 1, 1) for i in range(n)], pa.date32())
        else:
            columns[name] = pa.array(np.arange(n, dtype=float))
    table = pa.table(columns)
    features = MovieFeatures(folds=3)
    matrix = features.fit_transform(table, np.linspace(2, 9, n))
    assert matrix.shape == (n, len(features.get_feature_names_out()))
    assert features.transform(table).shape == matrix.shape
    with pytest.raises(KeyError, match="overview"):
        features.transform(table.drop_columns(["overview"]))


# ---- metrics and segments ------------------------------------------------------------------

def test_regression_metrics() -> None:
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    assert m["mse"] == pytest.approx(2 / 3) and m["rmse"] == pytest.approx(math.sqrt(2 / 3))
    assert m["mae"] == pytest.approx(2 / 3) and m["r2"] == pytest.approx(0.0)
    assert math.isnan(regression_metrics(np.array([]), np.array([]))["rmse"])
    assert math.isnan(regression_metrics(np.array([5.0, 5.0]), np.array([5.0, 4.0]))["r2"])


def test_segment_table_splits_by_year_votes_and_genre() -> None:
    from movie_ratings.schema import GENRE_FEATURES

    rows = pa.table({"release_year": [1975, 2021, 2022], "imdb_votes": [10.0, 5000.0, None],
                     **{g: [1 if g == "drama" else 0] * 3 for g in GENRE_FEATURES}})
    table = segment_table(rows, np.array([5.0, 7.0, 8.0]), {"m": np.array([6.0, 7.0, 8.0])})
    by = {(r["kind"], r["segment"]): r for r in table}
    assert by[("release year", "before 1980")]["m_rmse"] == 1.0
    assert by[("release year", "2020 and later")]["films"] == 2
    assert by[("imdb votes", "fewer than 100")]["films"] == 1
    assert by[("genre", "drama")]["films"] == 3 and ("genre", "horror") not in by


# ---- seed parity ---------------------------------------------------------------------------

def test_the_old_notebook_used_27_features_including_imdb_votes() -> None:
    assert len(OLD_NOTEBOOK_FEATURES) == 27 and "imdb_votes" in OLD_NOTEBOOK_FEATURES


def test_old_notebook_rows_are_released_films_with_no_missing_column() -> None:
    from movie_ratings.schema import GENRE_FEATURES

    base = {name: [1.0, 1.0, 1.0] for name in OLD_NOTEBOOK_FEATURES}
    base |= {g: [0, 0, 0] for g in GENRE_FEATURES}
    base |= {"original_language": ["en", "en", None], "first_producer": ["p", "p", "p"],
             "first_actor": ["a", "a", "a"], "first_company": ["c", "c", "c"],
             "budget": [None, 5.0, 5.0], "status": ["Released", "Planned", "Released"],
             "imdb_rating": [7.0, 7.0, 7.0]}
    # budget null stays (the raw file had 0 there); a Planned film and a null language go.
    assert old_notebook_rows(pa.table(base), OLD_NOTEBOOK_FEATURES).tolist() == [0]


# ---- promotion -----------------------------------------------------------------------------

def test_a_model_worse_than_production_is_not_promoted() -> None:
    decision = decide_promotion({"rmse": 0.9}, {"rmse": 0.8}, production_version=3)
    assert not decision.promote and "production v3" in decision.reason and "0.8000" in decision.reason


def test_a_better_model_is_promoted() -> None:
    assert decide_promotion({"rmse": 0.7}, {"rmse": 0.8}).promote


def test_first_model_and_forced_promotion() -> None:
    assert decide_promotion({"rmse": 0.9}, None).promote
    forced = decide_promotion({"rmse": 0.9}, {"rmse": 0.1}, force=True)
    assert forced.promote and "forced" in forced.reason


def test_a_model_with_nan_error_is_never_promoted() -> None:
    assert not decide_promotion({"rmse": float("nan")}, None, force=True).promote


@pytest.mark.parametrize("text", [
    "The Matrix Reloaded", "  spaced   out\ttitle\nnext line ", "don't stop-me now__ 12 3 ab",
    "İstanbul ÀB cd x y", "ΣΊΣΥΦΟΣ ǄEMAL", "", "a", "ab", "<script>alert(1)</script>",
])
def test_text_tokens_are_scikit_learns(text: str) -> None:
    """Our faster analyzer makes exactly the tokens of scikit-learn's 1-2-gram analyzer, so
    hashed features (and models fitted on them) do not change."""
    from sklearn.feature_extraction.text import HashingVectorizer

    from movie_ratings.modeling.encoders import words_and_bigrams

    sklearn_analyzer = HashingVectorizer(ngram_range=(1, 2)).build_analyzer()
    assert words_and_bigrams(text) == sklearn_analyzer(text)


def test_sampled_fit_predicts_the_same_on_threads() -> None:
    from sklearn.svm import SVR

    from movie_ratings.modeling.estimators import PREDICT_CHUNK_ROWS, SampledFit

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(1_000, 5)), rng.normal(size=1_000)
    single = SampledFit(SVR(), max_rows=300, seed=1).fit(X, y)
    threaded = SampledFit(SVR(), max_rows=300, seed=1, n_jobs=2).fit(X, y)
    assert single.fitted_rows_ == threaded.fitted_rows_ == 300
    rows = rng.normal(size=(2 * PREDICT_CHUNK_ROWS + 7, 5))
    np.testing.assert_array_equal(threaded.predict(rows), single.predict(rows))


# ---- failing candidates, bounded linear models, tuning, the recipe gate --------------------

def view_rows(n: int = 120, seed: int = 0) -> pa.Table:
    """``n`` rated films with every model input, one a week from 2000 on."""
    from movie_ratings.modeling.encoders import INPUT_COLUMNS

    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    for name in INPUT_COLUMNS:
        if name in ("directors", "writers", "producers", "top_cast", "companies", "composers",
                    "cinematographers", "countries", "spoken_languages"):
            columns[name] = pa.array([[f"{name}{i % 7}"] for i in range(n)], LISTS)
        elif name in ("original_language", "title", "tagline", "overview"):
            columns[name] = pa.array([f"word{i % 4} text" for i in range(n)])
        elif name == "release_date":
            columns[name] = pa.array([date(2000, 1, 3) + (date(2000, 1, 10) - date(2000, 1, 3)) * i
                                      for i in range(n)], pa.date32())
        else:
            columns[name] = pa.array(np.abs(rng.normal(size=n)))
    columns["imdb_rating"] = pa.array(np.clip(5 + columns["runtime"].to_numpy() + rng.normal(0, 0.3, n), 1, 10))
    return pa.table(columns)


class _PredictsNaN:
    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.full(len(X), np.nan)


class _Raises:
    def fit(self, X, y):
        raise RuntimeError("solver diverged")


def _with_broken(monkeypatch: pytest.MonkeyPatch, broken: dict[str, object]) -> None:
    import tasks.train

    real = tasks.train.make_estimator
    monkeypatch.setattr(tasks.train, "make_estimator",
                        lambda recipe, **kw: broken.get(recipe.estimator) or real(recipe, **kw))


def test_a_candidate_predicting_nan_is_never_chosen_and_one_raising_is_recorded(monkeypatch) -> None:
    from tasks.train import fit_candidates

    rows = view_rows()
    split = temporal_split(rows, test_size=0.25)
    # linear_regression would win on this linear label: broken, it must not.
    _with_broken(monkeypatch, {"linear_regression": _PredictsNaN(), "random_forest": _Raises()})
    fitted = fit_candidates(rows, split, ("linear_regression", "random_forest", "decision_tree"),
                            measure_text=False)
    assert fitted.best.name == "decision_tree"
    nan, raised = fitted.results["linear_regression"], fitted.results["random_forest"]
    assert not nan.ok and "non-finite" in nan.error and nan.model is None
    assert not raised.ok and raised.error == "RuntimeError: solver diverged"
    assert raised.score().status == "failed" and raised.score().error == "RuntimeError: solver diverged"
    assert set(fitted.succeeded) == {"decision_tree"}


def test_training_fails_clearly_only_when_every_candidate_fails(monkeypatch) -> None:
    from tasks.train import fit_candidates

    rows = view_rows()
    _with_broken(monkeypatch, {"linear_regression": _PredictsNaN(), "decision_tree": _Raises()})
    fitted = fit_candidates(rows, temporal_split(rows, test_size=0.25), ("linear_regression", "decision_tree"),
                            measure_text=False)
    with pytest.raises(DataError, match=r"every candidate failed.*linear_regression: .*non-finite.*"
                                        r"decision_tree: RuntimeError: solver diverged"):
        _ = fitted.best


def test_a_candidate_over_its_time_budget_is_recorded_as_failed() -> None:
    from tasks.train import fit_candidates

    rows = view_rows()
    fitted = fit_candidates(rows, temporal_split(rows, test_size=0.25), ("decision_tree",),
                            measure_text=False, budget_seconds=0.0)
    assert "over its time budget of 0 s" in fitted.results["decision_tree"].error


def test_linear_and_kernel_candidates_cannot_explode_outside_the_training_range() -> None:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from movie_ratings.modeling.estimators import make_candidate

    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    # Two nearly identical columns in training: least squares gives them huge opposite weights.
    train = np.column_stack([x, x + rng.normal(0, 1e-7, 400), rng.normal(size=400)])
    y = np.clip(6 + train[:, 2] + rng.normal(0, 0.2, 400), 1, 10)
    test = np.column_stack([x[:50], x[:50] + 3.0, 1e6 * np.ones(50)])  # they part; one column far out
    plain = make_pipeline(StandardScaler(), LinearRegression()).fit(train, y).predict(test)
    assert np.abs(plain).max() > 100  # what the issue saw, in small
    for name in ("linear_regression", "svr"):
        predictions = make_candidate(name, train_rows=400, seed=0).fit(train, y).predict(test)
        assert np.isfinite(predictions).all()
        assert predictions.min() >= y.min() and predictions.max() <= y.max()


def test_inputs_are_clipped_to_the_training_range_and_a_few_sds() -> None:
    from movie_ratings.modeling.estimators import ClipToTrainingRange

    clip = ClipToTrainingRange(max_sds=5).fit(np.array([[-1.0, -9.0], [2.0, 9.0]]))
    out = clip.transform(np.array([[-50.0, -50.0], [50.0, 50.0], [0.5, 1.0]]))
    assert out.tolist() == [[-1.0, -5.0], [2.0, 5.0], [0.5, 1.0]]


def test_the_tuning_search_validates_on_the_newest_training_films_only() -> None:
    from movie_ratings.modeling.estimators import TUNING_GRID, validation_slice
    from tasks.train import fit_candidates

    days = np.array([10.0, np.nan, 30.0, 20.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0])
    fit, validation, start = validation_slice(days, share=0.2)
    assert validation.tolist() == [8, 9] and start == 80 and 1 in fit  # undated films only fit
    assert validation_slice(np.full(20, np.nan))[2] is None  # nothing to order: the search goes random

    rows = view_rows(200)
    split = temporal_split(rows, test_size=0.25)
    fitted = fit_candidates(rows, split, ("xgboost_tuned",), measure_text=False)
    tuning = fitted.tuning
    assert tuning is not None and len(tuning.trials) == len(tuning.grid) == len(TUNING_GRID) <= 6
    assert all(t.rmse is not None and t.rounds for t in tuning.trials)
    best = min(tuning.trials, key=lambda t: t.rmse)
    assert tuning.chosen == best.params and tuning.rounds == best.rounds
    # The validation slice is the end of the training part, never the hold-out.
    assert date.fromisoformat(tuning.validation_start) < split.test_start
    assert tuning.fit_rows + tuning.validation_rows == len(split.train)
    assert tuning.validation == "the newest 15% of dated training films"
    recipe = fitted.results["xgboost_tuned"].recipe
    assert recipe.rounds == tuning.rounds and recipe.params == tuning.chosen
    assert fitted.results["xgboost_tuned"].model.named_steps["model"].n_estimators == tuning.rounds


def test_seed_parity_is_not_computable_when_the_old_filter_keeps_too_few_films() -> None:
    from movie_ratings.schema import GENRE_FEATURES
    from tasks.parity import seed_parity

    n = 60
    rows = pa.table({
        **{name: [1.0] * n for name in OLD_NOTEBOOK_FEATURES},
        **{g: [0] * n for g in GENRE_FEATURES},
        "original_language": ["en"] * n, "first_producer": pa.nulls(n, pa.string()),
        "first_actor": ["a"] * n, "first_company": ["c"] * n, "status": ["Released"] * n,
        "imdb_rating": [7.0] * n,
    })
    parity = seed_parity(rows, random_split(rows, test_size=0.2, seed=1))
    assert set(parity) == {"old_notebook_random_split", "old_notebook_temporal_no_votes"}
    for comparison in parity.values():
        assert not comparison.computable and comparison.rmse is None
        assert "leaves 0 training" in comparison.not_computable
        assert "empty among released films: first_producer" in comparison.not_computable
        assert comparison.rmse_text().startswith("not computable: ")


def test_promotion_compares_recipes_and_a_tie_promotes_the_newer_refit() -> None:
    assert decide_promotion({"rmse": 0.8}, {"rmse": 0.8}).promote
    worse = decide_promotion({"rmse": 0.9}, {"rmse": 0.8}, production_version=2)
    assert not worse.promote and "production v2's recipe's 0.8000" in worse.reason
    unknown = decide_promotion({"rmse": 0.9}, None, production_version=2, not_comparable="no recipe")
    assert unknown.promote and "not comparable (no recipe)" in unknown.reason


def test_undated_training_films_are_tuned_on_a_random_slice() -> None:
    from movie_ratings.modeling.estimators import tune_boosting

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 5 + X[:, 0] + rng.normal(0, 0.1, 300)
    tuning = tune_boosting(X, y, np.full(300, np.nan), seed=1, grid=({}, {"max_depth": 3}))
    assert tuning.validation_start is None and tuning.validation.startswith("a random 15%")
    assert tuning.rounds and tuning.fit_rows + tuning.validation_rows == 300


def test_the_same_recipe_ties_and_is_promoted_whatever_the_rounding_of_the_card() -> None:
    from movie_ratings.modeling.card import ProductionComparison
    from tasks.register import promotion_decision

    same = ProductionComparison(version=1, rmse=0.873975)  # the card keeps 6 decimals
    assert promotion_decision({"rmse": 0.87397549}, same).promote
    assert not promotion_decision({"rmse": 0.8740}, same).promote
    unknown = ProductionComparison(version=1, comparable=False, reason="its card has no recipe")
    assert promotion_decision({"rmse": 5.0}, unknown).promote


def test_the_search_skips_configurations_once_its_time_is_spent() -> None:
    from movie_ratings.modeling.estimators import tune_boosting

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = 5 + X[:, 0] + rng.normal(0, 0.1, 200)
    days = np.arange(200, dtype=float)
    tuning = tune_boosting(X, y, days, seed=1, grid=({}, {"max_depth": 3}, {"max_depth": 4}), budget_seconds=0.0)
    first, *rest = tuning.trials
    assert first.rmse is not None and tuning.chosen == {} and tuning.rounds == first.rounds
    assert [t.error for t in rest] == ["skipped: the search's 0 s were spent"] * 2
    assert "validation RMSE " in tuning.describe() and tuning.describe().count("skipped") == 2


def test_segments_by_information_level() -> None:
    from movie_ratings.schema import GENRE_FEATURES

    rows = pa.table({
        "release_year": [2020] * 3, "imdb_votes": [10.0] * 3,
        **{g: [0] * 3 for g in GENRE_FEATURES},
        "directors": pa.array([["d"], [], None], LISTS), "top_cast": pa.array([["a"], ["b"], None], LISTS),
        "runtime": [90.0, None, None], "overview": ["o", None, None],
    })
    table = segment_table(rows, np.array([5.0, 7.0, 8.0]), {"m": np.array([6.0, 7.0, 6.0])})
    by = {(r["kind"], r["segment"]): r for r in table if r["kind"] == "information level"}
    assert by[("information level", "4 of 4 known")]["m_rmse"] == 1.0
    assert by[("information level", "1 of 4 known")]["films"] == 1  # an empty list is not known
    assert by[("information level", "0 of 4 known")]["m_rmse"] == 2.0
    assert ("information level", "2 of 4 known") not in by
