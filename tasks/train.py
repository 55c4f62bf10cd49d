"""Training: fit every candidate on one fitted preprocessing, score recipes, refit the chosen one.

Pure functions first; the Prefect tasks at the bottom only log. The training data and its
hold-out are :mod:`tasks.training_data`; the old notebook's model, :mod:`tasks.parity`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sklearn.pipeline import Pipeline

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
from movie_ratings.schema import LABEL
from tasks.evaluate import regression_metrics
from tasks.training_data import Split, TrainingData

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
    return np.asarray(days, dtype=np.float64)


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


def refit_best(data: TrainingData, fitted: FittedCandidates) -> Refitted:
    """The best candidate's recipe refitted on every labelled film (:func:`refit_recipe`)."""
    recipe = fitted.best.recipe
    assert recipe is not None  # a successful candidate always has one
    return refit_recipe(recipe, data.rows)


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------


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


@task(name="refit-production-model", cache_policy=NO_CACHE, timeout_seconds=3600)
def refit_task(data: TrainingData, fitted: FittedCandidates) -> Refitted:
    """The chosen recipe fitted on every labelled film of the store commit."""
    refitted = refit_best(data, fitted)
    get_run_logger().info("refitted %s on all %s labelled films in %.1f s", fitted.best.name,
                          f"{refitted.films:,}", refitted.seconds)
    return refitted
