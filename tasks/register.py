"""Registering a trained model: compare with production, write the card, register, promote."""

from __future__ import annotations

import base64
import json
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.errors import DataError
from movie_ratings.modeling.artifacts import (
    code_commit,
    load_version,
    predict_ratings,
    save_pipeline,
)
from movie_ratings.modeling.encoders import INPUT_COLUMNS
from movie_ratings.registry import MODEL_NAME, ModelVersion, get_model_registry
from movie_ratings.registry.base import MODEL_FILE
from movie_ratings.schema import LABEL
from movie_ratings.settings import get_settings
from tasks.evaluate import regression_metrics
from tasks.policies import IO_RETRIES
from tasks.promote import PromotionDecision, decide_promotion
from tasks.train import FittedCandidates, Split, TrainingData


def _rounded(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in metrics.items()}


def model_card(
    data: TrainingData, split: Split, fitted: FittedCandidates, parity: dict[str, Any],
    decision: PromotionDecision, production: dict[str, Any] | None, *, seed: int,
    candidates: tuple[str, ...], commit: str, created_at: datetime,
) -> dict[str, Any]:
    """The model card: everything needed to know what the model is and how good it is."""
    best = fitted.best
    return {
        "description": (
            f"{best.name} predicting the IMDb rating before release from pre-release features "
            f"of the {data.view_name} feature view (no votes, popularity or revenue)."
        ),
        "estimator": best.name,
        "metrics": {**_rounded(best.metrics), "films": len(split.test)},
        "baseline": _rounded(fitted.baseline),
        "parity": {name: _rounded(m) for name, m in parity.items()},
        "candidates": {
            name: {**_rounded(r.metrics), "fit_seconds": round(r.fit_seconds, 2), **r.details}
            for name, r in fitted.results.items()
        },
        "text_ablation": {k: _rounded(v) if isinstance(v, dict) else v for k, v in fitted.text_ablation.items()},
        "production_on_this_holdout": production,
        "promotion": decision.to_json(),
        "params": {"split": split.kind, "test_size": split.test_size,
                   "test_start": split.test_start.isoformat() if split.test_start else None,
                   "candidates": list(candidates), "seed": seed},
        "split": split.describe(),
        "input_columns": list(INPUT_COLUMNS),
        "features": fitted.feature_names,
        "label": LABEL,
        "feature_view": {"name": data.view_name, "version": data.view_version},
        "store_commit": data.store_commit,
        "training_dataset_version": data.training_dataset_version,
        "snapshot_date": data.snapshot_date.isoformat(),
        "source": data.source,
        "is_demo": data.is_demo,
        "code_commit": commit,
        "created_at": created_at.isoformat(timespec="seconds"),
        "preprocessing_seconds": round(fitted.preprocessing_seconds, 2),
    }


def score_production(registry: Any, data: TrainingData, split: Split) -> tuple[ModelVersion | None, dict[str, float] | None, str | None]:
    """Production re-scored on the new hold-out: (version, metrics, problem)."""
    try:
        production = registry.production(MODEL_NAME)
    except DataError as exc:  # e.g. a registry record that fails its integrity check
        return None, None, f"the production model cannot be read, so it is not compared: {exc}"
    if production is None:
        return None, None, None
    try:
        pipeline = load_version(production)
        test = data.rows.take(split.test)
        metrics = regression_metrics(data.labels[split.test], predict_ratings(pipeline, test))
    except (DataError, KeyError, ValueError) as exc:
        return production, None, f"production v{production.version} cannot score the new hold-out: {exc}"
    return production, metrics, None


def write_artifacts(directory: Path, fitted: FittedCandidates, plots: dict[str, bytes],
                    segments: list[dict[str, Any]], input_example: list[dict[str, Any]]) -> None:
    """The files registered with the model: pipeline, plots, tables, an input example."""
    save_pipeline(fitted.best.model, directory / MODEL_FILE)
    for name, png in plots.items():
        (directory / f"{name}.png").write_bytes(png)
    (directory / "segments.json").write_text(json.dumps(segments, indent=1))
    (directory / "input_example.json").write_text(json.dumps(input_example, indent=1, default=str))


def input_example(data: TrainingData, split: Split, rows: int = 3) -> list[dict[str, Any]]:
    """A few training rows' model inputs (JSON-ready), as the registry's input example."""
    example = data.rows.take(split.train[:rows]).select(list(INPUT_COLUMNS)).to_pylist()
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in example]


@task(name="score-production", cache_policy=NO_CACHE, timeout_seconds=1800, **IO_RETRIES)
def score_production_task(data: TrainingData, split: Split) -> tuple[int | None, dict[str, float] | None]:
    """Re-score the production model on the new hold-out (None when there is none)."""
    logger = get_run_logger()
    production, metrics, problem = score_production(get_model_registry(get_settings()), data, split)
    if problem:
        logger.warning(problem)
    elif production is not None and metrics is not None:
        logger.info("production v%s on the new hold-out: rmse %.4f", production.version, metrics["rmse"])
    else:
        logger.info("no production model yet")
    return (production.version if production else None), metrics


def register_model(
    registry: Any, data: TrainingData, split: Split, fitted: FittedCandidates, parity: dict[str, Any],
    decision: PromotionDecision, production: dict[str, Any] | None, plots: dict[str, bytes],
    segments: list[dict[str, Any]], *, seed: int, candidates: tuple[str, ...], commit: str,
    created_at: datetime,
) -> ModelVersion:
    """Write the artifacts and card, register a new version, and promote it if decided.

    Returns:
        The registered version.
    """
    card = model_card(data, split, fitted, parity, decision, production, seed=seed,
                      candidates=candidates, commit=commit, created_at=created_at)
    with tempfile.TemporaryDirectory(prefix="model-") as tmp:
        write_artifacts(Path(tmp), fitted, plots, segments, input_example(data, split))
        version = registry.register(MODEL_NAME, Path(tmp), card)
    if decision.promote:
        registry.promote(MODEL_NAME, version.version, decision.reason)
    return version


@task(name="register-model", cache_policy=NO_CACHE, timeout_seconds=900, **IO_RETRIES)
def register_model_task(
    data: TrainingData, split: Split, fitted: FittedCandidates, parity: dict[str, Any],
    decision: PromotionDecision, production: dict[str, Any] | None, plots: dict[str, bytes],
    segments: list[dict[str, Any]], seed: int, candidates: tuple[str, ...],
) -> ModelVersion:
    """Write the artifacts and card, register a new version, and promote it if decided."""
    logger = get_run_logger()
    version = register_model(get_model_registry(get_settings()), data, split, fitted, parity, decision,
                             production, plots, segments, seed=seed, candidates=candidates,
                             commit=code_commit(), created_at=datetime.now(UTC))
    logger.info("registered %s v%s (%s, rmse %.4f)", version.name, version.version,
                version.card["estimator"], version.card["metrics"]["rmse"])
    if decision.promote:
        logger.info("promoted v%s to production: %s", version.version, decision.reason)
    else:
        logger.info("not promoted: %s", decision.reason)
    return version


@task(name="decide-promotion", cache_policy=NO_CACHE)
def decide_promotion_task(candidate: dict[str, float], production_version: int | None,
                          production_metrics: dict[str, float] | None, force: bool) -> PromotionDecision:
    decision = decide_promotion(candidate, production_metrics,
                                production_version=production_version, force=force)
    get_run_logger().info("promotion: %s", decision.reason)
    return decision


def training_report(version: ModelVersion) -> tuple[list[dict[str, Any]], str]:
    """The candidates table and a markdown summary of a registered version's card."""
    card = version.card
    rows = [{"model": name, **{k: v for k, v in metrics.items() if k in ("rmse", "mae", "r2", "mse", "fit_seconds")}}
            for name, metrics in card["candidates"].items()]
    rows.append({"model": "mean baseline", **card["baseline"]})
    for name, metrics in card["parity"].items():
        rows.append({"model": name, **{k: metrics[k] for k in ("rmse", "mae", "r2", "mse")}})
    demo = " **[DEMO DATA]**" if card.get("is_demo") else ""
    parity = card["parity"]["old_notebook_temporal_no_votes"]["rmse"]
    ours = card["metrics"]["rmse"]
    lines = [
        f"# {version.name} v{version.version}{demo}",
        "",
        f"- best candidate: `{card['estimator']}`, hold-out RMSE **{ours:.4f}**, MAE "
        f"{card['metrics']['mae']:.4f}, R² {card['metrics']['r2']:.4f} on {card['metrics']['films']:,} films",
        f"- old notebook's recipe on the same temporal hold-out without imdb_votes: RMSE {parity:.4f} "
        f"({(1 - ours / parity):+.1%} lower for ours)" if parity else "",
        f"- old notebook as it was (random split, with imdb_votes): RMSE "
        f"{card['parity']['old_notebook_random_split']['rmse']:.4f}, MSE "
        f"{card['parity']['old_notebook_random_split']['mse']:.4f}, R² "
        f"{card['parity']['old_notebook_random_split']['r2']:.4f}",
        f"- mean baseline RMSE {card['baseline']['rmse']:.4f}",
        f"- split: {card['split']}",
        f"- trained on `{card['feature_view']['name']}` v{card['feature_view']['version']} at store "
        f"commit {card['store_commit']} ({card['snapshot_date']}, source {card['source']}), code {card['code_commit'][:12]}",
        f"- promotion: {'promoted' if card['promotion']['promote'] else 'not promoted'}: {card['promotion']['reason']}",
        f"- plots and tables: `{version.path}`",
    ]
    return rows, "\n".join(line for line in lines if line != "")


@task(name="publish-training-report", cache_policy=NO_CACHE)
def publish_training_report_task(version: ModelVersion) -> None:
    """The candidates table and summary as Prefect artifacts of the run."""
    from prefect.artifacts import (
        create_image_artifact,
        create_markdown_artifact,
        create_table_artifact,
    )

    rows, markdown = training_report(version)
    create_table_artifact(rows, key="training-candidates",
                          description=f"hold-out metrics of every candidate, v{version.version}")
    create_markdown_artifact(markdown, key="training-summary",
                             description=f"{version.name} v{version.version}")
    # The images are embedded as data URLs: the files next to the model are not reachable
    # from a browser looking at a remote Prefect UI.
    for name in ("predicted_vs_actual", "residuals", "feature_importance"):
        path = version.path / f"{name}.png"
        if path.is_file():
            encoded = base64.b64encode(path.read_bytes()).decode("ascii")
            create_image_artifact(f"data:image/png;base64,{encoded}", key=f"training-{name.replace('_', '-')}",
                                  description=f"{name.replace('_', ' ')}, {version.name} v{version.version}")


@task(name="has-production-model", cache_policy=NO_CACHE, timeout_seconds=120, **IO_RETRIES)
def has_production_model_task() -> bool:
    """Whether the registry already has a production model."""
    return get_model_registry(get_settings()).production(MODEL_NAME) is not None
