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
from movie_ratings.modeling.card import CandidateScore, Comparison, Recipe, Refit, Tuning
from movie_ratings.modeling.encoders import INPUT_COLUMNS, MovieFeatures
from movie_ratings.modeling.estimators import (
    CANDIDATES,
    OURS,
    make_candidate,
    make_estimator,
    tune_boosting,
    tuned_recipe,
)
from movie_ratings.schema import GENRE_FEATURES, LABEL, MOVIE_RATINGS_VIEW, POST_RELEASE_COLUMNS
from movie_ratings.settings import get_settings
from movie_ratings.store import FeatureStore, get_feature_store
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


#: A candidate whose fit and hold-out prediction take longer than this is recorded as failed
#: and never selected (it cannot be interrupted in-process; this bounds what can be chosen).
CANDIDATE_TIME_BUDGET_SECONDS = 900.0


@dataclass
class CandidateResult:
    """One candidate fitted on the training part and scored on the hold-out, or why not.

    Attributes:
        name: candidate name.
        model: the full pipeline (fitted preprocessing + estimator); None when it failed.
        metrics: hold-out metrics (empty when it failed).
        predictions: hold-out predictions (clipped to 1-10; empty when it failed).
        fit_seconds: fit and predict time.
        details: trees, sampled rows.
        recipe: how to fit it again (None when it failed).
        error: why it failed (None when it succeeded).
    """

    name: str
    model: Pipeline | None
    metrics: dict[str, float]
    predictions: np.ndarray
    fit_seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    recipe: Recipe | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def score(self) -> CandidateScore:
        """The card's record of this candidate."""
        if not self.ok:
            return CandidateScore(status="failed", error=self.error, fit_seconds=round(self.fit_seconds, 2))
        return CandidateScore(**rounded_metrics(self.metrics), fit_seconds=round(self.fit_seconds, 2), **self.details)


@dataclass
class Design:
    """The preprocessing fitted on the training part and its train/test matrices.

    Kept so that another recipe with the same preprocessing (production's, in the promotion
    gate) is fitted on exactly the same inputs.
    """

    features: MovieFeatures
    train: np.ndarray
    test: np.ndarray
    use_text: bool
    seed: int


@dataclass
class FittedCandidates:
    """Every candidate fitted on the training rows and scored on the test rows."""

    results: dict[str, CandidateResult]
    baseline: Comparison
    feature_names: list[str]
    preprocessing_seconds: float
    text_ablation: dict[str, Any]
    tuning: Tuning | None = None
    design: Design | None = None

    @property
    def succeeded(self) -> dict[str, CandidateResult]:
        return {name: r for name, r in self.results.items() if r.ok}

    @property
    def best(self) -> CandidateResult:
        """The candidate with the lowest hold-out RMSE among those that succeeded.

        Raises:
            DataError: every candidate failed (naming each one's reason).
        """
        ok = self.succeeded
        if not ok:
            reasons = "; ".join(f"{r.name}: {r.error}" for r in self.results.values())
            raise DataError(f"every candidate failed, nothing to register: {reasons}")
        return min(ok.values(), key=lambda r: (r.metrics["rmse"], r.name))


def rounded_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics as the card keeps them (6 decimals)."""
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in metrics.items()}


def release_days(rows: pa.Table) -> np.ndarray:
    """Release date as days since 1970 per row (NaN when unknown)."""
    days = pc.cast(pc.cast(rows["release_date"], pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)
    return days.astype(np.float64)


def fit_one(name: str, estimator: Any, train_x: np.ndarray, y_train: np.ndarray, test_x: np.ndarray,
            y_test: np.ndarray) -> tuple[Any, np.ndarray, dict[str, float]]:
    """Fit one estimator and score it on the hold-out.

    Returns:
        The fitted estimator, its clipped hold-out predictions and their metrics.

    Raises:
        ValueError: it predicts a non-finite value.
    """
    estimator.fit(train_x, y_train)
    raw = np.asarray(estimator.predict(test_x), dtype=np.float64)
    bad = int((~np.isfinite(raw)).sum())
    if bad:
        raise ValueError(f"{name} predicted {bad:,} non-finite value(s) on the hold-out")
    predictions = np.clip(raw, 1.0, 10.0)
    return estimator, predictions, regression_metrics(y_test, predictions)


def fit_candidates(
    rows: pa.Table, split: Split, names: tuple[str, ...] = CANDIDATES, *, seed: int = 42,
    use_text: bool = True, measure_text: bool = True, on_fitted: Any = None,
    budget_seconds: float = CANDIDATE_TIME_BUDGET_SECONDS, keep_design: bool = True,
) -> FittedCandidates:
    """Fit the preprocessing once on the training rows, then every candidate on its output.

    A candidate that raises, predicts a non-finite value or exceeds ``budget_seconds`` is
    recorded as failed with its reason and never selected. The tuned model's configuration
    and rounds come from a search on a time-ordered validation slice of the training part
    (:func:`~movie_ratings.modeling.estimators.tune_boosting`), never from the hold-out.

    Args:
        rows: labelled rows.
        split: train/test rows.
        names: candidates to fit.
        seed: seed of folds and estimators.
        use_text: include the text score feature.
        measure_text: also refit the default XGBoost without the text feature and report the difference.
        on_fitted: called with each :class:`CandidateResult` (progress logging).
        budget_seconds: time budget of one candidate's fit and hold-out prediction.
        keep_design: keep the fitted preprocessing and matrices (for the promotion gate).

    Returns:
        Every candidate with its hold-out metrics or its failure, the mean baseline, the search.
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
    baseline = mean_baseline(y_train, y_test)
    results: dict[str, CandidateResult] = {}
    tuning: Tuning | None = None
    for name in names:
        started = time.perf_counter()
        recipe: Recipe | None = None
        try:
            if name == OURS:
                # Half the candidate's budget for the search leaves the rest for the fit.
                tuning = tune_boosting(train_matrix, y_train, release_days(rows.take(split.train)), seed=seed,
                                       budget_seconds=budget_seconds / 2)
                recipe = tuned_recipe(tuning, seed=seed, use_text=use_text)
            else:
                recipe = Recipe(estimator=name, use_text=use_text, seed=seed)
            estimator = make_estimator(recipe, train_rows=len(y_train))
            estimator, predictions, metrics = fit_one(name, estimator, train_matrix, y_train, test_matrix, y_test)
            elapsed = time.perf_counter() - started
            if elapsed > budget_seconds:
                raise TimeoutError(f"{name} took {elapsed:.0f} s (search, fit and hold-out prediction), "
                                   f"over its time budget of {budget_seconds:.0f} s")
        except Exception as exc:  # one candidate must never end the run: recorded, never chosen
            result = CandidateResult(name, None, {}, np.array([]), time.perf_counter() - started,
                                     error=f"{type(exc).__name__}: {exc}")
        else:
            details = {}
            if recipe.rounds is not None:
                details["trees"] = recipe.rounds
            if hasattr(estimator, "fitted_rows_"):
                details["fitted_rows"] = estimator.fitted_rows_
            result = CandidateResult(name, Pipeline([("features", features), ("model", estimator)]),
                                     metrics, predictions, time.perf_counter() - started, details, recipe)
        results[name] = result
        if on_fitted is not None:
            on_fitted(result)
    ablation: dict[str, Any] = {}
    if use_text and measure_text:
        ablation = text_ablation(features, train_matrix, test_matrix, y_train, y_test, results, seed)
    design = Design(features, train_matrix, test_matrix, use_text, seed) if keep_design else None
    return FittedCandidates(results, baseline, list(features.get_feature_names_out()),
                            preprocessing_seconds, ablation, tuning, design)


def mean_baseline(y_train: np.ndarray, y_test: np.ndarray) -> Comparison:
    """The mean training rating predicted for every hold-out film, or why it cannot be."""
    if len(y_train) == 0 or len(y_test) == 0:
        return Comparison.failed(f"{len(y_train)} training and {len(y_test)} hold-out films")
    return Comparison(**rounded_metrics(regression_metrics(y_test, np.full(len(y_test), y_train.mean()))),
                      rows=int(len(y_train) + len(y_test)))


def text_ablation(features: MovieFeatures, train_x: np.ndarray, test_x: np.ndarray, y_train: np.ndarray,
                  y_test: np.ndarray, results: dict[str, CandidateResult], seed: int) -> dict[str, Any]:
    """Is the text score worth it? The default XGBoost with and without it (or why not measured).

    A cheap, fixed model, so the answer costs two small fits, not two of ours; "with" is the
    ``xgboost`` candidate itself when it ran (same matrix, same seed, deterministic).
    """
    started = time.perf_counter()
    text_column = len(features.get_feature_names_out()) - 1

    def probe(train: np.ndarray, test: np.ndarray) -> dict[str, float]:
        model = make_candidate("xgboost", train_rows=len(y_train), seed=seed).fit(train, y_train)
        return rounded_metrics(regression_metrics(y_test, np.clip(model.predict(test), 1, 10)))

    try:
        with_text = (rounded_metrics(results["xgboost"].metrics) if "xgboost" in results and results["xgboost"].ok
                     else probe(train_x, test_x))
        without = probe(np.delete(train_x, text_column, axis=1), np.delete(test_x, text_column, axis=1))
    except Exception as exc:  # a comparison never ends the run
        return {"model": "xgboost", "not_computable": f"{type(exc).__name__}: {exc}"}
    return {"model": "xgboost", "with_text": with_text, "without_text": without,
            "fit_seconds": round(time.perf_counter() - started, 2)}


# --------------------------------------------------------------------------------------
# Recipes: the promotion gate and the production refit
# --------------------------------------------------------------------------------------


def score_recipe(recipe: Recipe, rows: pa.Table, split: Split, design: Design | None = None) -> dict[str, float]:
    """Fit a recipe on the split's training part and score it on its hold-out.

    Args:
        recipe: the recipe (e.g. production's, read from its card).
        rows: labelled rows.
        split: train/test rows.
        design: preprocessing already fitted on this training part; reused when the recipe's
            preprocessing is the same (text score, seed), else fitted again.

    Raises:
        ValueError: the recipe cannot be built, or predicts non-finite values.
    """
    y = rows[LABEL].to_numpy()
    if design is not None and (design.use_text, design.seed) == (recipe.use_text, recipe.seed):
        train_x, test_x = design.train, design.test
    else:
        inputs = rows.select(list(INPUT_COLUMNS))
        features = MovieFeatures(use_text=recipe.use_text, seed=recipe.seed)
        train_x = features.fit_transform(inputs.take(split.train), y[split.train])
        test_x = features.transform(inputs.take(split.test))
    estimator = make_estimator(recipe, train_rows=len(split.train))
    _, _, metrics = fit_one(recipe.estimator, estimator, train_x, y[split.train], test_x, y[split.test])
    return metrics


@dataclass
class Refitted:
    """The production model: the chosen recipe fitted on every labelled film."""

    model: Pipeline
    recipe: Recipe
    films: int
    seconds: float

    def card(self) -> Refit:
        return Refit(films=self.films, seconds=round(self.seconds, 2))


def refit_recipe(recipe: Recipe, rows: pa.Table) -> Refitted:
    """Fit the chosen recipe (fixed rounds) on every labelled row: the model to register.

    Raises:
        DataError: the refitted model predicts non-finite values on its own rows.
    """
    started = time.perf_counter()
    y = rows[LABEL].to_numpy()
    features = MovieFeatures(use_text=recipe.use_text, seed=recipe.seed)
    matrix = features.fit_transform(rows.select(list(INPUT_COLUMNS)), y)
    estimator = make_estimator(recipe, train_rows=len(y)).fit(matrix, y)
    if not np.isfinite(estimator.predict(matrix[: min(len(y), 10_000)])).all():
        raise DataError(f"the {recipe.estimator} refitted on {len(y):,} films predicts non-finite values")
    return Refitted(Pipeline([("features", features), ("model", estimator)]), recipe, len(y),
                    time.perf_counter() - started)


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


#: The old recipe is "not computable" when its row filter leaves fewer training films than this.
MIN_PARITY_TRAIN_ROWS = 20


def dropped_by_old_filter(rows: pa.Table, features: tuple[str, ...]) -> str:
    """Why the old notebook's ``dropna`` keeps so few films: its emptiest columns."""
    released = rows.filter(pc.fill_null(pc.equal(rows["status"], "Released"), False))
    if released.num_rows == 0:
        return "no rated film has status Released"
    missing = []
    for name in features:
        if name in ("budget", "runtime"):
            continue
        share = released[name].null_count / released.num_rows
        if share > 0:
            missing.append((share, name))
    empty = [name for share, name in missing if share == 1.0]
    if empty:
        return f"empty among released films: {', '.join(empty)}"
    worst = sorted(missing, reverse=True)[:3]
    return "most often missing: " + ", ".join(f"{name} ({share:.0%})" for share, name in worst)


def _parity_entry(rows: pa.Table, train: np.ndarray, test: np.ndarray, features: tuple[str, ...],
                  seed: int, *, kept: int, all_rows: pa.Table) -> Comparison:
    """One old-recipe score, or "not computable" with the reason (never an exception)."""
    facts: dict[str, Any] = {"rows": kept, "features": len(features)}
    if len(train) < MIN_PARITY_TRAIN_ROWS or len(test) == 0:
        return Comparison.failed(
            f"the old notebook's row filter (released films with none of its {len(features)} columns "
            f"missing) leaves {len(train):,} training and {len(test):,} test films of {all_rows.num_rows:,} "
            f"({dropped_by_old_filter(all_rows, features)})", **facts)
    try:
        metrics = fit_old_notebook(rows, train, test, features, seed)
    except Exception as exc:  # a comparison never ends the run
        return Comparison.failed(f"{type(exc).__name__}: {exc}", **facts)
    return Comparison(**rounded_metrics(metrics), **facts)


def seed_parity(rows: pa.Table, split: Split, *, seed: int = 42) -> dict[str, Comparison]:
    """The old notebook's model on the same data, two ways (each "not computable" when it
    keeps too few films, e.g. a view whose producers are all unknown).

    * ``old_notebook_random_split``: exactly as it was: its 27 features including
      ``imdb_votes``, its row filter, label encoding, default XGBoost, random 80/20 split.
    * ``old_notebook_temporal_no_votes``: the same recipe without ``imdb_votes`` (unknown
      before release), trained on our split's training films it would keep and scored on
      our whole hold-out: the number our model has to beat.
    """
    out: dict[str, Comparison] = {}
    try:
        kept = old_notebook_rows(rows, OLD_NOTEBOOK_FEATURES)
        as_it_was = rows.take(kept)
        n_test = round(len(kept) * 0.2)
        if len(kept) - n_test >= MIN_PARITY_TRAIN_ROWS and n_test >= 1:
            random = random_split(as_it_was, test_size=0.2, seed=seed)
            train, test = random.train, random.test
        else:
            train, test = np.array([], np.int64), np.array([], np.int64)
        out["old_notebook_random_split"] = _parity_entry(
            as_it_was, train, test, OLD_NOTEBOOK_FEATURES, seed, kept=len(kept), all_rows=rows)
    except Exception as exc:  # a comparison never ends the run
        out["old_notebook_random_split"] = Comparison.failed(f"{type(exc).__name__}: {exc}")
    no_votes = tuple(f for f in OLD_NOTEBOOK_FEATURES if f != "imdb_votes")
    try:
        kept_no_votes = old_notebook_rows(rows, no_votes)
        train = split.train[np.isin(split.train, kept_no_votes)]
        out["old_notebook_temporal_no_votes"] = _parity_entry(
            rows, train, split.test, no_votes, seed, kept=int(len(train) + len(split.test)), all_rows=rows)
    except Exception as exc:
        out["old_notebook_temporal_no_votes"] = Comparison.failed(f"{type(exc).__name__}: {exc}")
    return out


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------


def load_training_data(store: FeatureStore, view_version: int, store_commit: int | None) -> TrainingData:
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
def fit_candidates_task(data: TrainingData, split: Split, names: tuple[str, ...], seed: int,
                        budget_seconds: float = CANDIDATE_TIME_BUDGET_SECONDS) -> FittedCandidates:
    logger = get_run_logger()

    def log(result: CandidateResult) -> None:
        if not result.ok:
            logger.warning("%s failed, not selectable: %s", result.name, result.error)
            return
        logger.info("%s: rmse %.4f, mae %.4f, r2 %.4f (%.1f s)", result.name, result.metrics["rmse"],
                    result.metrics["mae"], result.metrics["r2"], result.fit_seconds)

    fitted = fit_candidates(data.rows, split, names, seed=seed, on_fitted=log, budget_seconds=budget_seconds)
    if fitted.tuning is not None:
        logger.info("%s search (%.1f s): %s", OURS, fitted.tuning.seconds or 0.0, fitted.tuning.describe())
    logger.info("preprocessing fitted in %.1f s; best: %s", fitted.preprocessing_seconds, fitted.best.name)
    return fitted


@task(name="seed-parity", cache_policy=NO_CACHE, timeout_seconds=1800)
def seed_parity_task(data: TrainingData, split: Split, seed: int) -> dict[str, Comparison]:
    parity = seed_parity(data.rows, split, seed=seed)
    for name, score in parity.items():
        if score.computable:
            get_run_logger().info("%s: rmse %.4f, mse %.4f, r2 %.4f on %s rows", name, score.rmse,
                                  score.mse, score.r2, f"{score.rows:,}")
        else:
            get_run_logger().warning("%s: %s", name, score.rmse_text())
    return parity


@task(name="refit-production-model", cache_policy=NO_CACHE, timeout_seconds=3600)
def refit_task(data: TrainingData, fitted: FittedCandidates) -> Refitted:
    """The chosen recipe fitted on every labelled film of the store commit."""
    best = fitted.best
    assert best.recipe is not None  # a successful candidate always has one
    refitted = refit_recipe(best.recipe, data.rows)
    get_run_logger().info("refitted %s on all %s labelled films in %.1f s", best.name,
                          f"{refitted.films:,}", refitted.seconds)
    return refitted
