"""Training: read the feature view, split, fit every candidate on one fitted preprocessing.

Pure functions first (split, fit, seed parity); the Prefect tasks at the bottom only load
from the store and log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from xgboost import XGBRegressor

from movie_ratings.errors import DataError
from movie_ratings.modeling.encoders import INPUT_COLUMNS, MovieFeatures
from movie_ratings.modeling.estimators import CANDIDATES, make_candidate
from movie_ratings.schema import GENRE_FEATURES, LABEL, MOVIE_RATINGS_VIEW, POST_RELEASE_COLUMNS
from movie_ratings.settings import get_settings
from movie_ratings.store import get_feature_store
from tasks.evaluate import regression_metrics
from tasks.policies import IO_RETRIES

SplitKind = Literal["temporal", "random"]


@dataclass(frozen=True)
class TrainingData:
    """Labelled feature-view rows and where they came from.

    Attributes:
        rows: one row per rated film (the view's columns).
        view_name, view_version: the feature view read.
        store_commit: the store commit it was read at.
        snapshot_date, source, is_demo: the snapshot behind that commit.
        unlabelled: films in the view without a rating (not used for training).
        training_dataset_version: the backend's training-dataset version (Hopsworks), if any.
    """

    rows: pa.Table
    view_name: str
    view_version: int
    store_commit: int
    snapshot_date: date
    source: str
    is_demo: bool
    unlabelled: int
    training_dataset_version: int | None = None

    @property
    def labels(self) -> np.ndarray:
        return self.rows[LABEL].to_numpy()


@dataclass(frozen=True)
class Split:
    """Which labelled rows train and which test, and how that was decided."""

    kind: SplitKind
    train: np.ndarray
    test: np.ndarray
    test_size: float | None = None
    test_start: date | None = None
    seed: int | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "train_rows": len(self.train),
            "test_rows": len(self.test),
            "test_size": self.test_size,
            "test_start": self.test_start.isoformat() if self.test_start else None,
            "seed": self.seed,
        }


def labelled_rows(view: pa.Table) -> pa.Table:
    """Rows of the view whose label is known."""
    return view.filter(pc.is_valid(view[LABEL]))


def temporal_split(rows: pa.Table, *, test_size: float = 0.2, test_start: date | None = None) -> Split:
    """Train on films released before a cut-off, test on the films released from it on.

    Films without a release date cannot be placed in time: they only ever train.

    Args:
        rows: labelled rows.
        test_size: share of dated films in the test set (when ``test_start`` is not given).
        test_start: explicit cut-off date.

    Raises:
        DataError: a side of the split would be empty.
    """
    days = pc.cast(rows["release_date"], pa.int32()).to_numpy(zero_copy_only=False)
    dated = ~np.isnan(days.astype(np.float64))
    if test_start is None:
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
        if not dated.any():
            raise DataError("no rated film has a release date: a temporal split is impossible")
        cutoff_day = int(np.quantile(days[dated].astype(np.int64), 1 - test_size, method="higher"))
        test_start = date(1970, 1, 1) + timedelta(days=cutoff_day)
    cutoff = (test_start - date(1970, 1, 1)).days
    is_test = dated & (np.nan_to_num(days.astype(np.float64), nan=-1e9) >= cutoff)
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    if len(train) == 0 or len(test) == 0:
        raise DataError(
            f"temporal split at {test_start} leaves {len(train)} training and {len(test)} test films"
        )
    return Split("temporal", train, test, test_size=round(len(test) / len(rows), 4), test_start=test_start)


def random_split(rows: pa.Table, *, test_size: float = 0.2, seed: int = 42) -> Split:
    """A seeded random hold-out (for comparison with the old notebook only)."""
    n = rows.num_rows
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_size))
    if n_test >= n:
        raise DataError(f"a {test_size:.0%} random split of {n} films leaves no training rows")
    return Split("random", np.sort(order[n_test:]), np.sort(order[:n_test]), test_size=test_size, seed=seed)


def make_split(rows: pa.Table, kind: SplitKind, *, test_size: float, test_start: date | None,
               seed: int) -> Split:
    if kind == "temporal":
        return temporal_split(rows, test_size=test_size, test_start=test_start)
    if kind == "random":
        return random_split(rows, test_size=test_size, seed=seed)
    raise ValueError(f"unknown split {kind!r}: temporal or random")


@dataclass
class CandidateResult:
    name: str
    model: Pipeline
    metrics: dict[str, float]
    predictions: np.ndarray
    fit_seconds: float
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class FittedCandidates:
    """Every candidate fitted on the training rows and scored on the test rows."""

    results: dict[str, CandidateResult]
    baseline: dict[str, float]
    feature_names: list[str]
    preprocessing_seconds: float
    text_ablation: dict[str, Any]

    @property
    def best(self) -> CandidateResult:
        return min(self.results.values(), key=lambda r: (r.metrics["rmse"], r.name))


def fit_candidates(
    rows: pa.Table, split: Split, names: tuple[str, ...] = CANDIDATES, *, seed: int = 42,
    use_text: bool = True, measure_text: bool = True, on_fitted: Any = None,
) -> FittedCandidates:
    """Fit the preprocessing once on the training rows, then every candidate on its output.

    Args:
        rows: labelled rows.
        split: train/test rows.
        names: candidates to fit.
        seed: seed of folds and estimators.
        use_text: include the text score feature.
        measure_text: also refit our model without the text feature and report the difference.
        on_fitted: called with each :class:`CandidateResult` (progress logging).

    Returns:
        Every candidate as a full pipeline (fitted preprocessing + estimator) with hold-out
        metrics, and the mean-rating baseline's metrics.
    """
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown or not names:
        raise ValueError(f"unknown candidates {unknown}; choose from {', '.join(CANDIDATES)}")
    y = rows[LABEL].to_numpy()
    y_train, y_test = y[split.train], y[split.test]
    inputs = rows.select(list(INPUT_COLUMNS))
    started = time.perf_counter()
    features = MovieFeatures(use_text=use_text, seed=seed)
    train_matrix = features.fit_transform(inputs.take(split.train), y_train)
    test_matrix = features.transform(inputs.take(split.test))
    preprocessing_seconds = time.perf_counter() - started
    baseline = regression_metrics(y_test, np.full(len(y_test), y_train.mean()))
    results: dict[str, CandidateResult] = {}
    for name in names:
        started = time.perf_counter()
        estimator = make_candidate(name, train_rows=len(y_train), seed=seed)
        estimator.fit(train_matrix, y_train)
        predictions = np.clip(estimator.predict(test_matrix), 1.0, 10.0)
        details = {}
        if hasattr(estimator, "best_iteration_"):
            details["trees"] = estimator.best_iteration_ + 1
        if hasattr(estimator, "fitted_rows_"):
            details["fitted_rows"] = estimator.fitted_rows_
        result = CandidateResult(
            name, Pipeline([("features", features), ("model", estimator)]),
            regression_metrics(y_test, predictions), predictions,
            time.perf_counter() - started, details,
        )
        results[name] = result
        if on_fitted is not None:
            on_fitted(result)
    ablation: dict[str, Any] = {}
    if use_text and measure_text:
        started = time.perf_counter()
        # Is the text score worth it? The default XGBoost with and without it: a cheap,
        # fixed model, so the answer costs two small fits, not two of ours; "with" is the
        # `xgboost` candidate itself when it ran (same matrix, same seed, deterministic).
        text_column = len(features.get_feature_names_out()) - 1

        def probe(train_x: np.ndarray, test_x: np.ndarray) -> dict[str, float]:
            model = make_candidate("xgboost", train_rows=len(y_train), seed=seed).fit(train_x, y_train)
            return regression_metrics(y_test, np.clip(model.predict(test_x), 1, 10))

        scores = {
            "with_text": (results["xgboost"].metrics if "xgboost" in results
                          else probe(train_matrix, test_matrix)),
            "without_text": probe(np.delete(train_matrix, text_column, axis=1),
                                  np.delete(test_matrix, text_column, axis=1)),
        }
        ablation = {"model": "xgboost", **scores,
                    "fit_seconds": round(time.perf_counter() - started, 2)}
    return FittedCandidates(results, baseline, list(features.get_feature_names_out()),
                            preprocessing_seconds, ablation)


# --------------------------------------------------------------------------------------
# Seed parity: the old notebook's model, rebuilt exactly, on the same data
# --------------------------------------------------------------------------------------

#: The old notebook's 27 features, in its order; categorical ones were label-encoded.
OLD_NOTEBOOK_FEATURES: tuple[str, ...] = (
    "budget", "runtime", "release_year", "original_language", "first_producer", "first_actor",
    "first_company", "imdb_votes", *GENRE_FEATURES,
)
OLD_NOTEBOOK_CATEGORICAL: tuple[str, ...] = ("original_language", "first_producer", "first_actor", "first_company")


def old_notebook_matrix(rows: pa.Table, features: tuple[str, ...], encoders: dict[str, LabelEncoder]) -> np.ndarray:
    """The old notebook's design matrix: label codes for categories, raw zeros for unknowns."""
    columns = []
    for name in features:
        if name in OLD_NOTEBOOK_CATEGORICAL:
            values = np.asarray(pc.fill_null(rows[name], "").to_pylist(), dtype=object)
            columns.append(encoders[name].transform(values).astype(np.float64))
        else:
            values = pc.cast(rows[name], pa.float64())
            if name in ("budget", "runtime"):  # the raw file's 0 = unknown, as the notebook saw it
                values = pc.fill_null(values, 0.0)
            columns.append(values.to_numpy(zero_copy_only=False))
    return np.column_stack(columns)


def old_notebook_rows(rows: pa.Table, features: tuple[str, ...]) -> np.ndarray:
    """Rows the notebook kept: released films with none of its columns missing (its dropna)."""
    keep = pc.equal(rows["status"], "Released")
    for name in (*features, LABEL):
        if name not in ("budget", "runtime"):
            keep = pc.and_(keep, pc.is_valid(rows[name]))
    return np.flatnonzero(pc.fill_null(keep, False).to_numpy(zero_copy_only=False))


def fit_old_notebook(rows: pa.Table, train: np.ndarray, test: np.ndarray,
                     features: tuple[str, ...], seed: int) -> dict[str, float]:
    """Fit the old recipe (label encoders over all rows, default XGBoost) and score ``test``."""
    encoders = {
        name: LabelEncoder().fit(np.asarray(pc.fill_null(rows[name], "").to_pylist(), dtype=object))
        for name in features if name in OLD_NOTEBOOK_CATEGORICAL
    }
    matrix = old_notebook_matrix(rows, features, encoders)
    y = rows[LABEL].to_numpy()
    model = XGBRegressor(random_state=seed, n_jobs=2).fit(matrix[train], y[train])
    return regression_metrics(y[test], model.predict(matrix[test]))


def seed_parity(rows: pa.Table, split: Split, *, seed: int = 42) -> dict[str, Any]:
    """The old notebook's model on the same data, two ways.

    * ``old_notebook_random_split``: exactly as it was: its 27 features including
      ``imdb_votes``, its row filter, label encoding, default XGBoost, random 80/20 split.
    * ``old_notebook_temporal_no_votes``: the same recipe without ``imdb_votes`` (unknown
      before release), trained on our split's training films it would keep and scored on
      our whole hold-out: the number our model has to beat.
    """
    kept = old_notebook_rows(rows, OLD_NOTEBOOK_FEATURES)
    as_it_was = rows.take(kept)
    random = random_split(as_it_was, test_size=0.2, seed=seed)
    no_votes = tuple(f for f in OLD_NOTEBOOK_FEATURES if f != "imdb_votes")
    kept_no_votes = set(old_notebook_rows(rows, no_votes).tolist())
    train = np.array([i for i in split.train if i in kept_no_votes], dtype=np.int64)
    return {
        "old_notebook_random_split": {
            **fit_old_notebook(as_it_was, random.train, random.test, OLD_NOTEBOOK_FEATURES, seed),
            "rows": len(kept), "features": len(OLD_NOTEBOOK_FEATURES),
        },
        "old_notebook_temporal_no_votes": {
            **fit_old_notebook(rows, train, split.test, no_votes, seed),
            "rows": int(len(train) + len(split.test)), "features": len(no_votes),
        },
    }


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------


def load_training_data(store: Any, view_version: int, store_commit: int | None) -> TrainingData:
    """Labelled rows of the ``movie_ratings`` view at a store commit (latest if None)."""
    commit = store.latest_commit() if store_commit is None else store.commit(store_commit)
    if commit is None:
        raise DataError("the feature store is empty: run a backfill before training")
    training_dataset_version = None
    if hasattr(store, "create_training_data"):  # Hopsworks records a training dataset
        view, training_dataset_version = store.create_training_data(
            MOVIE_RATINGS_VIEW.name, view_version, commit=commit.number,
            description=f"movie_ratings v{view_version} at store commit {commit.number}")
    else:
        view = store.read_feature_view(MOVIE_RATINGS_VIEW.name, view_version, commit=commit.number)
    leaked = [c for c in POST_RELEASE_COLUMNS if c in INPUT_COLUMNS]
    assert not leaked, f"post-release columns among model inputs: {leaked}"
    rows = labelled_rows(view)
    if rows.num_rows < 50:
        raise DataError(f"only {rows.num_rows} rated films in {MOVIE_RATINGS_VIEW.name} "
                        f"v{view_version} at store commit {commit.number}: too few to train")
    return TrainingData(rows, MOVIE_RATINGS_VIEW.name, view_version, commit.number,
                        commit.snapshot_date, commit.source, commit.is_demo,
                        view.num_rows - rows.num_rows, training_dataset_version)


@task(name="load-training-data", cache_policy=NO_CACHE, timeout_seconds=1800, **IO_RETRIES)
def load_training_data_task(view_version: int, store_commit: int | None) -> TrainingData:
    data = load_training_data(get_feature_store(get_settings()), view_version, store_commit)
    get_run_logger().info(
        "read %s v%s at store commit %s (%s%s): %s rated films, %s without a rating",
        data.view_name, data.view_version, data.store_commit, data.snapshot_date,
        " DEMO DATA" if data.is_demo else "", f"{data.rows.num_rows:,}", f"{data.unlabelled:,}",
    )
    return data


@task(name="split", cache_policy=NO_CACHE)
def split_task(data: TrainingData, kind: SplitKind, test_size: float, test_start: date | None,
               seed: int) -> Split:
    split = make_split(data.rows, kind, test_size=test_size, test_start=test_start, seed=seed)
    get_run_logger().info("split: %s", split.describe())
    return split


@task(name="fit-candidates", cache_policy=NO_CACHE, timeout_seconds=3600)
def fit_candidates_task(data: TrainingData, split: Split, names: tuple[str, ...], seed: int) -> FittedCandidates:
    logger = get_run_logger()

    def log(result: CandidateResult) -> None:
        logger.info("%s: rmse %.4f, mae %.4f, r2 %.4f (%.1f s)", result.name, result.metrics["rmse"],
                    result.metrics["mae"], result.metrics["r2"], result.fit_seconds)

    fitted = fit_candidates(data.rows, split, names, seed=seed, on_fitted=log)
    logger.info("preprocessing fitted in %.1f s; best: %s", fitted.preprocessing_seconds, fitted.best.name)
    return fitted


@task(name="seed-parity", cache_policy=NO_CACHE, timeout_seconds=1800)
def seed_parity_task(data: TrainingData, split: Split, seed: int) -> dict[str, Any]:
    parity = seed_parity(data.rows, split, seed=seed)
    for name, metrics in parity.items():
        get_run_logger().info("%s: rmse %.4f, mse %.4f, r2 %.4f on %s rows", name, metrics["rmse"],
                              metrics["mse"], metrics["r2"], f"{metrics['rows']:,}")
    return parity
