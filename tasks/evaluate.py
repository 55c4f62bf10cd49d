"""Evaluation: hold-out metrics, the same by segment, and the plots saved with the model.

Pure functions; images are returned as PNG bytes so the caller decides where they go.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.modeling.intervals import INFORMATION, information_level
from movie_ratings.schema import GENRE_FEATURES

#: Release-year buckets of the segment table: (label, first year, last year).
YEAR_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("before 1980", -10_000, 1979), ("1980-1999", 1980, 1999), ("2000-2009", 2000, 2009),
    ("2010-2019", 2010, 2019), ("2020 and later", 2020, 10_000),
)
#: Films with fewer IMDb votes than this count as "few votes" (their ratings are noisier).
FEW_VOTES = 100
#: What an upcoming film often lacks: its information level is how many of these it has.
# one definition of what a film has, shared with the interval calibration
INFORMATION_FIELDS: tuple[str, ...] = tuple(column for _, column in INFORMATION)


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and R² (R² is NaN for fewer than two films or a constant actual)."""
    actual = np.asarray(actual, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    if len(actual) == 0:
        return {"mse": float("nan"), "rmse": float("nan"), "mae": float("nan"), "r2": float("nan")}
    error = predicted - actual
    mse = float(np.mean(error**2))
    spread = float(np.sum((actual - actual.mean()) ** 2))
    r2 = 1.0 - float(np.sum(error**2)) / spread if spread > 0 else float("nan")
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(error))), "r2": r2}


def segment_masks(test_rows: pa.Table) -> list[tuple[str, str, np.ndarray]]:
    """(kind, segment, mask) for release-year buckets, few vs many votes, each genre, and
    information level (how many of director, cast, runtime and overview are known)."""
    masks = []
    years = pc.cast(test_rows["release_year"], pa.float64()).to_numpy(zero_copy_only=False)
    for label, first, last in YEAR_BUCKETS:
        masks.append(("release year", label, (years >= first) & (years <= last)))
    votes = pc.cast(test_rows["imdb_votes"], pa.float64()).to_numpy(zero_copy_only=False)
    masks.append(("imdb votes", f"fewer than {FEW_VOTES}", votes < FEW_VOTES))
    masks.append(("imdb votes", f"{FEW_VOTES} or more", votes >= FEW_VOTES))
    for genre in GENRE_FEATURES:
        masks.append(("genre", genre, pc.fill_null(test_rows[genre], 0).to_numpy(zero_copy_only=False) == 1))
    if all(name in test_rows.column_names for name in INFORMATION_FIELDS):
        level = information_level(test_rows)
        for k in range(len(INFORMATION_FIELDS) + 1):
            masks.append(("information level", f"{k} of {len(INFORMATION_FIELDS)} known", level == k))
    return masks


def segment_table(test_rows: pa.Table, actual: np.ndarray,
                  predictions: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """RMSE and MAE of each model per segment (segments with no film are left out)."""
    out = []
    for kind, segment, mask in segment_masks(test_rows):
        if not mask.any():
            continue
        row: dict[str, Any] = {"kind": kind, "segment": segment, "films": int(mask.sum())}
        for name, predicted in predictions.items():
            metrics = regression_metrics(actual[mask], predicted[mask])
            row[f"{name}_rmse"] = round(metrics["rmse"], 4)
            row[f"{name}_mae"] = round(metrics["mae"], 4)
        out.append(row)
    return out


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def training_plots(actual: np.ndarray, predicted: np.ndarray, model_name: str,
                   importances: dict[str, float], *, is_demo: bool) -> dict[str, bytes]:
    """Predicted vs actual, residuals, and feature importances, as PNG bytes by name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    suffix = " [DEMO DATA]" if is_demo else ""
    plots = {}
    figure = Figure(figsize=(5.5, 5))
    axes = figure.subplots()
    axes.hexbin(actual, predicted, gridsize=40, extent=(1, 10, 1, 10), mincnt=1, bins="log", cmap="viridis")
    axes.plot([1, 10], [1, 10], color="crimson", linewidth=1)
    axes.set(xlabel="actual IMDb rating", ylabel="predicted rating",
             title=f"{model_name}: predicted vs actual (hold-out){suffix}")
    plots["predicted_vs_actual"] = _png(figure)

    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    residuals = predicted - actual
    left.hexbin(predicted, residuals, gridsize=40, mincnt=1, bins="log", cmap="viridis")
    left.axhline(0, color="crimson", linewidth=1)
    left.set(xlabel="predicted rating", ylabel="predicted - actual", title=f"residuals{suffix}")
    right.hist(residuals, bins=60, color="steelblue")
    right.set(xlabel="predicted - actual", ylabel="films", title="residual distribution")
    plots["residuals"] = _png(figure)

    top = sorted(importances.items(), key=lambda kv: kv[1], reverse=True)[:25]
    figure = Figure(figsize=(7, 7))
    axes = figure.subplots()
    if top:
        names, values = zip(*reversed(top), strict=True)
        axes.barh(names, values, color="steelblue")
    axes.set(xlabel="importance (gain share)", title=f"{model_name}: top features{suffix}")
    plots["feature_importance"] = _png(figure)
    return plots


def feature_importances(model: Any, names: list[str]) -> dict[str, float]:
    """Normalised importances of a fitted estimator (trees: impurity/gain; linear: |coef|)."""
    values = getattr(model, "feature_importances_", None)
    if values is None and hasattr(model, "estimator_"):  # a wrapper (bounded outputs, sampled fit)
        return feature_importances(model.estimator_, names)
    if values is None and hasattr(model, "steps"):
        last = model.steps[-1][1]
        coef = getattr(last, "coef_", None)
        values = np.abs(coef[: len(names)]) if coef is not None else None
    if values is None:
        return {}
    values = np.asarray(values, dtype=np.float64)[: len(names)]
    total = values.sum()
    return {n: float(v / total) for n, v in zip(names, values, strict=False)} if total > 0 else {}


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------


def evaluate_models(data: Any, split: Any, fitted: Any) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Segment table (best model, default XGBoost, baseline) and the plots of the best model.

    Args:
        data: the :class:`tasks.training_data.TrainingData`.
        split: its :class:`tasks.training_data.Split`.
        fitted: the :class:`tasks.train.FittedCandidates`.

    Returns:
        The segment rows and the PNG plots by name.
    """
    test_rows = data.rows.take(split.test)
    actual = data.labels[split.test]
    best = fitted.best
    predictions = {"best": best.predictions,
                   "baseline": np.full(len(actual), data.labels[split.train].mean())}
    succeeded = fitted.succeeded
    if "xgboost" in succeeded and best.name != "xgboost":
        predictions["xgboost_default"] = succeeded["xgboost"].predictions
    segments = segment_table(test_rows, actual, predictions)
    importances = feature_importances(best.model.named_steps["model"], fitted.feature_names)
    if not importances and "xgboost_tuned" in succeeded:
        importances = feature_importances(succeeded["xgboost_tuned"].model.named_steps["model"],
                                          fitted.feature_names)
    plots = training_plots(actual, best.predictions, best.name, importances, is_demo=data.is_demo)
    return segments, plots


@task(name="evaluate", cache_policy=NO_CACHE, timeout_seconds=1800)
def evaluate_task(data: Any, split: Any, fitted: Any, parity: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Segment table (best model, default XGBoost, baseline) and the plots of the best model."""
    segments, plots = evaluate_models(data, split, fitted)
    get_run_logger().info("evaluated %s segments; plots: %s", len(segments), ", ".join(plots))
    return segments, plots
