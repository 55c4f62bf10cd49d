"""The candidate regressors, each bounded in time on the full 1.2M-film data.

Every candidate is fitted on the same matrix (the output of
:class:`movie_ratings.modeling.encoders.MovieFeatures`), so their scores differ only by the
learning algorithm. A candidate is refitted from its :class:`~movie_ratings.modeling.card.Recipe`
(:func:`make_estimator`): the tuned boosting model's recipe carries the configuration its
search chose (:func:`tune_boosting`) and a fixed number of rounds.

These classes are pickled inside registered models: their import path stays stable.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin, clone
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from sklearn.tree import DecisionTreeRegressor
from xgboost import XGBRegressor

from movie_ratings.modeling.card import Recipe, Tuning, TuningTrial

#: Our model: gradient boosting with early stopping, the rest are the old notebook's five.
OURS = "xgboost_tuned"
CANDIDATES: tuple[str, ...] = (
    OURS, "xgboost", "random_forest", "linear_regression", "svr", "decision_tree",
)
#: Kernel SVR is quadratic in rows to fit and linear in support vectors to predict: it is
#: fitted on a sample of this many training films. Predicting is its real cost, and nearly
#: every sampled film becomes a support vector: half the sample halves it (README,
#: Performance).
SVR_MAX_ROWS = 2_500
#: Depth bound of the decision tree (the notebook's default has none).
DECISION_TREE_MAX_DEPTH = 20
#: Rows per chunk when a sampled model predicts on several threads (libsvm releases the GIL).
PREDICT_CHUNK_ROWS = 20_000
#: Random forest trees each see at most this many rows (bootstrap sample size) and a third
#: of the features per split: bounded time on the full data (1.2M films).
FOREST_MAX_SAMPLES = 50_000
#: Standardised inputs of the linear and kernel models are clipped to the training range and
#: to this many standard deviations: far outside the training data a linear model explodes.
CLIP_SDS = 5.0
#: The tuned model's search: overrides of :func:`tuned_params`, each early-stopped on a
#: time-ordered validation slice of the training part. Few and cheap on purpose.
TUNING_GRID: tuple[dict[str, Any], ...] = (
    {},
    {"max_depth": 6, "min_child_weight": 10},
    {"max_depth": 10, "min_child_weight": 40},
    {"colsample_bytree": 0.5, "reg_lambda": 10.0},
    {"max_depth": 6, "min_child_weight": 50, "subsample": 0.6},
)
#: The newest share of the (dated) training films is the search's validation slice.
TUNING_VALIDATION_SHARE = 0.15
#: The search fits on at most this many rows and scores on at most this many.
TUNING_MAX_FIT_ROWS = 100_000
TUNING_MAX_VALIDATION_ROWS = 50_000
#: Boosting stops after this many rounds without improvement on the validation slice.
EARLY_STOPPING_ROUNDS = 40


class ClipToTrainingRange(BaseEstimator, TransformerMixin):
    """Clip each (standardised) column to its training range, and to ``max_sds`` either side.

    Args:
        max_sds: bound on absolute values (the input is standardised first).
    """

    def __init__(self, max_sds: float = CLIP_SDS) -> None:
        self.max_sds = max_sds

    def fit(self, X: np.ndarray, y: Any = None) -> ClipToTrainingRange:
        X = np.asarray(X, dtype=np.float64)
        self.low_ = np.maximum(np.min(X, axis=0), -self.max_sds)
        self.high_ = np.minimum(np.max(X, axis=0), self.max_sds)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(X, dtype=np.float64), self.low_, self.high_)


class BoundedRegressor(BaseEstimator, RegressorMixin):
    """``estimator`` whose predictions are clipped to the range of the training labels.

    Args:
        estimator: the regressor to fit.
    """

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: np.ndarray, y: np.ndarray) -> BoundedRegressor:
        y = np.asarray(y, dtype=np.float64)
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.low_, self.high_ = float(np.min(y)), float(np.max(y))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        # NaN stays NaN: a broken fit must show, not hide inside the clip.
        return np.clip(np.asarray(self.estimator_.predict(X), dtype=np.float64), self.low_, self.high_)


class SampledFit(BaseEstimator, RegressorMixin):
    """Fit ``estimator`` on a seeded random sample of at most ``max_rows`` rows.

    Args:
        estimator: the regressor to fit.
        max_rows: sample size cap.
        seed: sampling seed.
    """

    def __init__(self, estimator: Any, max_rows: int = SVR_MAX_ROWS, seed: int = 0, n_jobs: int = 1) -> None:
        self.estimator = estimator
        self.max_rows = max_rows
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray) -> SampledFit:
        rows = np.arange(len(y))
        if len(rows) > self.max_rows:
            rows = np.sort(np.random.default_rng(self.seed).choice(rows, self.max_rows, replace=False))
        self.estimator_ = clone(self.estimator).fit(X[rows], np.asarray(y)[rows])
        self.fitted_rows_ = len(rows)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        jobs = getattr(self, "n_jobs", 1)  # models pickled before n_jobs existed
        if jobs <= 1 or len(X) <= PREDICT_CHUNK_ROWS:
            return self.estimator_.predict(X)
        chunks = [X[i:i + PREDICT_CHUNK_ROWS] for i in range(0, len(X), PREDICT_CHUNK_ROWS)]
        with ThreadPoolExecutor(jobs) as pool:
            return np.concatenate(list(pool.map(self.estimator_.predict, chunks)))


class EarlyStoppedBoosting(BaseEstimator, RegressorMixin):
    """XGBoost whose number of trees is chosen on a held-out slice of the training rows.

    Args:
        validation_fraction: share of training rows used only to stop boosting.
        seed: seed of the slice and of XGBoost.
        params: XGBoost parameters.
    """

    def __init__(self, validation_fraction: float = 0.1, seed: int = 0, n_jobs: int = 2,
                 **params: Any) -> None:
        self.validation_fraction = validation_fraction
        self.seed = seed
        self.n_jobs = n_jobs
        self.params = params

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"validation_fraction": self.validation_fraction, "seed": self.seed,
                "n_jobs": self.n_jobs, **self.params}

    def set_params(self, **params: Any) -> EarlyStoppedBoosting:
        for key in ("validation_fraction", "seed", "n_jobs"):
            if key in params:
                setattr(self, key, params.pop(key))
        self.params.update(params)
        return self

    def fit(self, X: np.ndarray, y: np.ndarray) -> EarlyStoppedBoosting:
        y = np.asarray(y)
        held = np.random.default_rng(self.seed).random(len(y)) < self.validation_fraction
        self.model_ = XGBRegressor(
            random_state=self.seed, n_jobs=self.n_jobs, early_stopping_rounds=50, **self.params
        )
        self.model_.fit(X[~held], y[~held], eval_set=[(X[held], y[held])], verbose=False)
        self.best_iteration_ = int(self.model_.best_iteration)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)

    @property
    def feature_importances_(self) -> np.ndarray:
        return self.model_.feature_importances_


def tuned_params() -> dict[str, Any]:
    """Our boosting parameters: many shallow-ish trees, slow learning, row/column sampling."""
    # learning_rate 0.1 and at most 600 trees bound the time on 1.2M films (0.05 needed 822
    # trees for the same error within 1%); early stopping usually ends well before.
    return {
        "n_estimators": 600, "learning_rate": 0.1, "max_depth": 8, "min_child_weight": 20,
        "subsample": 0.8, "colsample_bytree": 0.7, "reg_lambda": 5.0, "tree_method": "hist",
        "max_bin": 128,
    }


def make_candidate(name: str, *, train_rows: int, seed: int, n_jobs: int = 2) -> Any:
    """A fresh, unfitted candidate regressor.

    Args:
        name: one of :data:`CANDIDATES` or ``mean_baseline``.
        train_rows: training set size (bounds the forest's per-tree sample).
        seed: random seed of the estimator.
        n_jobs: threads for estimators that can use them.

    Raises:
        ValueError: an unknown name.
    """
    # Linear and kernel models see standardised inputs clipped to the training range, and
    # predict within the training labels' range: extrapolation cannot explode.
    bounded_inputs = (SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                      StandardScaler(), ClipToTrainingRange())
    if name == OURS:  # untuned: our default configuration, rounds by early stopping
        return EarlyStoppedBoosting(seed=seed, n_jobs=n_jobs, **tuned_params())
    if name == "xgboost":  # the old notebook's choice: default parameters
        return XGBRegressor(random_state=seed, n_jobs=n_jobs)
    if name == "random_forest":
        return RandomForestRegressor(
            n_estimators=100, max_samples=min(1.0, FOREST_MAX_SAMPLES / max(train_rows, 1)),
            max_features=1 / 3, min_samples_leaf=3, n_jobs=n_jobs, random_state=seed,
        )
    if name == "linear_regression":
        return BoundedRegressor(make_pipeline(*bounded_inputs, LinearRegression()))
    if name == "svr":
        return SampledFit(BoundedRegressor(make_pipeline(*bounded_inputs, SVR())), SVR_MAX_ROWS, seed, n_jobs)
    if name == "decision_tree":
        # The notebook's default tree grows until every leaf is pure: ~40 levels and over
        # two minutes on 1.2M films, and a worse fit; 20 levels bound both.
        return DecisionTreeRegressor(random_state=seed, max_depth=DECISION_TREE_MAX_DEPTH)
    if name == "mean_baseline":
        return DummyRegressor(strategy="mean")
    raise ValueError(f"unknown candidate {name!r}; choose from {', '.join(CANDIDATES)}")


def make_estimator(recipe: Recipe, *, train_rows: int, n_jobs: int = 2) -> Any:
    """A fresh, unfitted estimator of a recipe (fixed rounds: no early stopping).

    Args:
        recipe: estimator name, chosen hyperparameters, rounds, seed.
        train_rows: rows it will be fitted on.
        n_jobs: threads.

    Raises:
        ValueError: an unknown estimator, or a boosted recipe without its rounds.
    """
    if recipe.estimator == OURS:
        if recipe.rounds is None or recipe.rounds < 1:
            raise ValueError(f"the {OURS} recipe needs its number of rounds, got {recipe.rounds}")
        params = {**tuned_params(), **recipe.params, "n_estimators": recipe.rounds}
        return XGBRegressor(random_state=recipe.seed, n_jobs=n_jobs, **params)
    return make_candidate(recipe.estimator, train_rows=train_rows, seed=recipe.seed, n_jobs=n_jobs)


def validation_slice(days: np.ndarray, share: float = TUNING_VALIDATION_SHARE) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Fit and validation rows of a time-ordered slice: the newest ``share`` of dated rows validate.

    Args:
        days: release day number per training row (NaN when undated: such rows only fit).
        share: share of dated rows in the validation slice.

    Returns:
        Fit row indices, validation row indices, and the first validation day (None when
        no row is dated or either side would be empty).
    """
    days = np.asarray(days, dtype=np.float64)
    dated = ~np.isnan(days)
    if dated.sum() < 2:
        return np.flatnonzero(np.ones(len(days), bool)), np.array([], np.int64), None
    start = float(np.quantile(days[dated], 1 - share, method="higher"))
    is_validation = dated & (np.nan_to_num(days, nan=-np.inf) >= start)
    if is_validation.all() or not is_validation.any():
        return np.flatnonzero(np.ones(len(days), bool)), np.array([], np.int64), None
    return np.flatnonzero(~is_validation), np.flatnonzero(is_validation), int(start)


def tune_boosting(X: np.ndarray, y: np.ndarray, days: np.ndarray, *, seed: int, n_jobs: int = 2,
                  grid: tuple[dict[str, Any], ...] = TUNING_GRID, budget_seconds: float = float("inf")) -> Tuning:
    """Choose the tuned model's configuration and rounds on the training part only.

    Each configuration of ``grid`` (overrides of :func:`tuned_params`) is fitted on the
    older training films (a seeded sample of at most :data:`TUNING_MAX_FIT_ROWS`) and
    early-stopped on the newest ones (at most :data:`TUNING_MAX_VALIDATION_ROWS`); the one
    with the lowest validation RMSE wins, with the rounds it stopped at.

    Args:
        X: training matrix.
        y: training labels.
        days: release day number per training row (NaN when undated).
        seed: sampling and XGBoost seed.
        n_jobs: threads.
        grid: configurations to try.
        budget_seconds: configurations not started within this time are skipped (recorded).

    Returns:
        The search and its result (``rounds`` None when no configuration could be fitted).

    Raises:
        ValueError: fewer than 10 training films.
    """
    started = time.perf_counter()
    fit_rows, validation_rows, first_day = validation_slice(days)
    validation = f"the newest {TUNING_VALIDATION_SHARE:.0%} of dated training films"
    if first_day is None:  # too few dated films to order: a seeded random slice instead
        if len(y) < 10:
            raise ValueError(f"{len(y)} training films are too few for a validation slice")
        held = np.random.default_rng(seed).random(len(y)) < TUNING_VALIDATION_SHARE
        fit_rows, validation_rows = np.flatnonzero(~held), np.flatnonzero(held)
        validation = (f"a random {TUNING_VALIDATION_SHARE:.0%} of training films (too few dated films "
                      "for a time-ordered slice)")
    rng = np.random.default_rng(seed)
    if len(fit_rows) > TUNING_MAX_FIT_ROWS:
        fit_rows = np.sort(rng.choice(fit_rows, TUNING_MAX_FIT_ROWS, replace=False))
    if len(validation_rows) > TUNING_MAX_VALIDATION_ROWS:
        validation_rows = np.sort(rng.choice(validation_rows, TUNING_MAX_VALIDATION_ROWS, replace=False))
    y = np.asarray(y, dtype=np.float64)
    trials: list[Any] = []
    for overrides in grid:
        params = {**tuned_params(), **overrides}
        if trials and time.perf_counter() - started > budget_seconds:
            trials.append(TuningTrial(params=overrides, error=f"skipped: the search's {budget_seconds:.0f} s were spent"))
            continue
        try:
            model = XGBRegressor(random_state=seed, n_jobs=n_jobs, early_stopping_rounds=EARLY_STOPPING_ROUNDS,
                                 **params)
            model.fit(X[fit_rows], y[fit_rows], eval_set=[(X[validation_rows], y[validation_rows])],
                      verbose=False)
            rmse = float(model.evals_result()["validation_0"]["rmse"][model.best_iteration])
            trials.append(TuningTrial(params=overrides, rmse=round(rmse, 6), rounds=int(model.best_iteration) + 1))
        except Exception as exc:  # one configuration failing must not end the search
            trials.append(TuningTrial(params=overrides, error=f"{type(exc).__name__}: {exc}"))
    scored = [t for t in trials if t.rmse is not None and np.isfinite(t.rmse)]
    best = min(scored, key=lambda t: (t.rmse, grid.index(t.params))) if scored else None
    return Tuning(
        grid=[dict(g) for g in grid], trials=trials,
        chosen=dict(best.params) if best else {}, rounds=best.rounds if best else None,
        fit_rows=len(fit_rows), validation_rows=len(validation_rows), validation=validation,
        validation_start=(date(1970, 1, 1) + timedelta(days=first_day)).isoformat() if first_day is not None else None,
        seconds=round(time.perf_counter() - started, 2),
    )


def tuned_recipe(tuning: Tuning, *, seed: int, use_text: bool) -> Recipe:
    """The tuned model's recipe from its search.

    Raises:
        ValueError: no configuration of the search could be fitted.
    """
    if tuning.rounds is None:
        errors = "; ".join(t.error for t in tuning.trials if t.error) or "no finite validation score"
        raise ValueError(f"no configuration of the search could be fitted: {errors}")
    return Recipe(estimator=OURS, params=tuning.chosen, rounds=tuning.rounds, use_text=use_text, seed=seed)
