"""The candidate regressors, each bounded in time on the full 1.2M-film data.

Every candidate is fitted on the same matrix (the output of
:class:`movie_ratings.modeling.encoders.MovieFeatures`), so their scores differ only by the
learning algorithm.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from sklearn.tree import DecisionTreeRegressor
from xgboost import XGBRegressor

#: Our model: gradient boosting with early stopping, the rest are the old notebook's five.
OURS = "xgboost_tuned"
CANDIDATES: tuple[str, ...] = (
    OURS, "xgboost", "random_forest", "linear_regression", "svr", "decision_tree",
)
#: Kernel SVR is quadratic in rows to fit and linear in support vectors to predict: it is
#: fitted on a sample of this many training films. Predicting is its real cost: with 5,000
#: (nearly all support vectors) 40k films took 14.7 CPU-seconds here, so the 240k-film
#: hold-out of the full data took ~90; 2,500 halves that.
SVR_MAX_ROWS = 2_500
#: Depth bound of the decision tree (the notebook's default has none).
DECISION_TREE_MAX_DEPTH = 20
#: Rows per chunk when a sampled model predicts on several threads (libsvm releases the GIL).
PREDICT_CHUNK_ROWS = 20_000
#: Random forest trees each see at most this many rows (bootstrap sample size) and a third
#: of the features per split: bounded time on the full data (1.2M films).
FOREST_MAX_SAMPLES = 50_000


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
    impute_and_scale = (SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                        StandardScaler())
    if name == OURS:
        return EarlyStoppedBoosting(seed=seed, n_jobs=n_jobs, **tuned_params())
    if name == "xgboost":  # the old notebook's choice: default parameters
        return XGBRegressor(random_state=seed, n_jobs=n_jobs)
    if name == "random_forest":
        return RandomForestRegressor(
            n_estimators=100, max_samples=min(1.0, FOREST_MAX_SAMPLES / max(train_rows, 1)),
            max_features=1 / 3, min_samples_leaf=3, n_jobs=n_jobs, random_state=seed,
        )
    if name == "linear_regression":
        return make_pipeline(*impute_and_scale, LinearRegression())
    if name == "svr":
        return SampledFit(make_pipeline(*impute_and_scale, SVR()), SVR_MAX_ROWS, seed, n_jobs)
    if name == "decision_tree":
        # The notebook's default tree grows until every leaf is pure: ~40 levels and over
        # two minutes on 1.2M films, and a worse fit; 20 levels bound both.
        return DecisionTreeRegressor(random_state=seed, max_depth=DECISION_TREE_MAX_DEPTH)
    if name == "mean_baseline":
        return DummyRegressor(strategy="mean")
    raise ValueError(f"unknown candidate {name!r}; choose from {', '.join(CANDIDATES)}")
