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
    save_pipeline,
)
from movie_ratings.modeling.card import (
    Comparison,
    FeatureViewRef,
    Metrics,
    ModelCard,
    ProductionComparison,
    Promotion,
    SplitInfo,
)
from movie_ratings.modeling.encoders import INPUT_COLUMNS
from movie_ratings.modeling.estimators import CANDIDATES
from movie_ratings.modeling.intervals import calibrate_rows
from movie_ratings.registry import MODEL_NAME, ModelRegistry, ModelVersion, get_model_registry
from movie_ratings.registry.base import MODEL_FILE
from movie_ratings.schema import LABEL
from movie_ratings.settings import get_settings
from tasks.policies import IO_RETRIES
from tasks.promote import PromotionDecision, decide_promotion
from tasks.train import FittedCandidates, Refitted, rounded_metrics, score_recipe
from tasks.training_data import Split, TrainingData


def model_card(
    data: TrainingData, split: Split, fitted: FittedCandidates, refitted: Refitted | None,
    parity: dict[str, Comparison], decision: PromotionDecision, production: ProductionComparison | None,
    *, seed: int, candidates: tuple[str, ...], commit: str, created_at: datetime,
) -> ModelCard:
    """The model card: everything needed to know what the model is and how good it is.

    ``metrics`` are the hold-out metrics of the selection fit (the recipe fitted on the
    training part); ``refit`` says how many films the registered model was refitted on.
    """
    best = fitted.best
    refit = refitted.card() if refitted is not None else None
    trained_on = (f"refitted on all {refit.films:,} labelled films" if refit
                  else f"fitted on the {len(split.train):,} training films")
    return ModelCard(
        description=(
            f"{best.name} predicting the IMDb rating before release from pre-release features "
            f"of the {data.view_name} feature view (no votes, popularity or revenue); chosen on a "
            f"hold-out of {len(split.test):,} films, then {trained_on}."
        ),
        estimator=best.name,
        metrics=Metrics(**rounded_metrics(best.metrics), films=len(split.test)),
        baseline=fitted.baseline,
        parity=parity,
        candidates={name: r.score() for name, r in fitted.results.items()},
        text_ablation=fitted.text_ablation,
        recipe=best.recipe,
        tuning=fitted.tuning,
        refit=refit,
        production_on_this_holdout=production,
        promotion=Promotion(promote=decision.promote, reason=decision.reason),
        params={"split": split.kind, "test_size": split.test_size,
                "test_start": split.test_start.isoformat() if split.test_start else None,
                "candidates": list(candidates), "seed": seed},
        split=SplitInfo(**split.describe()),
        input_columns=list(INPUT_COLUMNS),
        features=fitted.feature_names,
        label=LABEL,
        feature_view=FeatureViewRef(name=data.view_name, version=data.view_version),
        store_commit=data.store_commit,
        training_dataset_version=data.training_dataset_version,
        snapshot_date=data.snapshot_date.isoformat(),
        source=data.source,
        is_demo=data.is_demo,
        code_commit=commit,
        created_at=created_at.isoformat(timespec="seconds"),
        preprocessing_seconds=round(fitted.preprocessing_seconds, 2),
        intervals=interval_calibration(data, split, fitted),
    )


def interval_calibration(data: TrainingData, split: Split, fitted: FittedCandidates) -> dict[str, Any] | None:
    """The chosen recipe's hold-out residuals as 80% interval widths per information level
    (the refitted model has seen the hold-out, so the selection fit's residuals calibrate it);
    None when the hold-out cannot calibrate (a missing interval never stops training)."""
    best = fitted.best
    if len(split.test) == 0 or len(best.predictions) != len(split.test):
        return None
    try:
        return calibrate_rows(data.labels[split.test], best.predictions, data.rows.take(split.test)).to_dict()
    except ValueError:
        return None


def score_production(registry: ModelRegistry, data: TrainingData, split: Split,
                     fitted: FittedCandidates) -> ProductionComparison | None:
    """Production's recipe fitted on this training part and scored on this hold-out.

    Returns:
        None when there is no production model; ``comparable=False`` with the reason when
        its card has no recipe (a model trained before recipes were recorded) or the recipe
        cannot be fitted here.
    """
    try:
        production = registry.production(MODEL_NAME)
    except DataError as exc:  # e.g. a registry record that fails its integrity check
        return ProductionComparison(comparable=False,
                                    reason=f"the production model cannot be read, so it is not compared: {exc}")
    if production is None:
        return None
    recipe = production.card.recipe
    label = f"production v{production.version}"
    if recipe is None:
        return ProductionComparison(version=production.version, comparable=False,
                                    reason=f"{label}'s card has no recipe (trained before recipes were recorded)")
    if recipe.estimator not in CANDIDATES:
        return ProductionComparison(version=production.version, comparable=False, recipe=recipe,
                                    reason=f"{label}'s estimator {recipe.estimator!r} is no longer a candidate")
    best = fitted.best
    try:
        if recipe == best.recipe:  # the same recipe on the same split: the same score
            metrics = best.metrics
        else:
            metrics = score_recipe(recipe, data.rows, split, fitted.design)
    except Exception as exc:  # production's recipe failing must not stop a new model
        return ProductionComparison(version=production.version, comparable=False, recipe=recipe,
                                    reason=f"{label}'s recipe cannot be fitted here: {type(exc).__name__}: {exc}")
    return ProductionComparison(version=production.version, recipe=recipe, **rounded_metrics(metrics))


def write_artifacts(directory: Path, model: Any, plots: dict[str, bytes],
                    segments: list[dict[str, Any]], input_example: list[dict[str, Any]]) -> None:
    """The files registered with the model: pipeline, plots, tables, an input example."""
    save_pipeline(model, directory / MODEL_FILE)
    for name, png in plots.items():
        (directory / f"{name}.png").write_bytes(png)
    (directory / "segments.json").write_text(json.dumps(segments, indent=1))
    (directory / "input_example.json").write_text(json.dumps(input_example, indent=1, default=str))


def input_example(data: TrainingData, split: Split, rows: int = 3) -> list[dict[str, Any]]:
    """A few training rows' model inputs (JSON-ready), as the registry's input example."""
    example = data.rows.take(split.train[:rows]).select(list(INPUT_COLUMNS)).to_pylist()
    return [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in example]


@task(name="score-production", cache_policy=NO_CACHE, timeout_seconds=3600, **IO_RETRIES)
def score_production_task(data: TrainingData, split: Split, fitted: FittedCandidates) -> ProductionComparison | None:
    """Production's recipe on this run's training part and hold-out (None when there is none)."""
    logger = get_run_logger()
    production = score_production(get_model_registry(get_settings()), data, split, fitted)
    if production is None:
        logger.info("no production model yet")
    elif not production.comparable:
        logger.warning("production v%s is not comparable: %s", production.version, production.reason)
    else:
        logger.info("production v%s's recipe on this split: rmse %.4f", production.version, production.rmse)
    return production


def register_model(
    registry: ModelRegistry, data: TrainingData, split: Split, fitted: FittedCandidates, refitted: Refitted | None,
    parity: dict[str, Comparison], decision: PromotionDecision, production: ProductionComparison | None,
    plots: dict[str, bytes], segments: list[dict[str, Any]], *, seed: int, candidates: tuple[str, ...],
    commit: str, created_at: datetime,
) -> ModelVersion:
    """Write the artifacts and card, register a new version, and promote it if decided.

    The registered model is ``refitted`` (the chosen recipe on every labelled film); without
    it, the selection fit (training part only).

    Returns:
        The registered version.
    """
    card = model_card(data, split, fitted, refitted, parity, decision, production, seed=seed,
                      candidates=candidates, commit=commit, created_at=created_at)
    model = refitted.model if refitted is not None else fitted.best.model
    with tempfile.TemporaryDirectory(prefix="model-") as tmp:
        write_artifacts(Path(tmp), model, plots, segments, input_example(data, split))
        version = registry.register(MODEL_NAME, Path(tmp), card)
    if decision.promote:
        registry.promote(MODEL_NAME, version.version, decision.reason)
    return version


@task(name="register-model", cache_policy=NO_CACHE, timeout_seconds=900, **IO_RETRIES)
def register_model_task(
    data: TrainingData, split: Split, fitted: FittedCandidates, refitted: Refitted | None,
    parity: dict[str, Comparison], decision: PromotionDecision, production: ProductionComparison | None,
    plots: dict[str, bytes], segments: list[dict[str, Any]], seed: int, candidates: tuple[str, ...],
) -> ModelVersion:
    """Write the artifacts and card, register a new version, and promote it if decided."""
    logger = get_run_logger()
    version = register_model(get_model_registry(get_settings()), data, split, fitted, refitted, parity,
                             decision, production, plots, segments, seed=seed, candidates=candidates,
                             commit=code_commit(), created_at=datetime.now(UTC))
    logger.info("registered %s v%s (%s, hold-out rmse %.4f)", version.name, version.version,
                version.card.estimator, version.metric("rmse"))
    if decision.promote:
        logger.info("promoted v%s to production: %s", version.version, decision.reason)
    else:
        logger.info("not promoted: %s", decision.reason)
    return version


def promotion_decision(candidate: dict[str, float], production: ProductionComparison | None, *,
                       force: bool = False) -> PromotionDecision:
    """:func:`tasks.promote.decide_promotion` against production's recipe score (or why none).

    Both sides are compared as the card keeps them (6 decimals), so the same recipe ties.
    """
    candidate = rounded_metrics(candidate)
    if production is None:
        return decide_promotion(candidate, None, force=force)
    if not production.comparable:
        return decide_promotion(candidate, None, production_version=production.version,
                                not_comparable=production.reason or "no score", force=force)
    return decide_promotion(candidate, production.scores(), production_version=production.version, force=force)


@task(name="decide-promotion", cache_policy=NO_CACHE)
def decide_promotion_task(candidate: dict[str, float], production: ProductionComparison | None,
                          force: bool) -> PromotionDecision:
    decision = promotion_decision(candidate, production, force=force)
    get_run_logger().info("promotion: %s", decision.reason)
    return decision


def _metric_row(label: str, scores: dict[str, Any]) -> dict[str, Any]:
    return {"model": label, **{k: scores.get(k) for k in ("rmse", "mae", "r2", "mse")}}


def training_report(version: ModelVersion) -> tuple[list[dict[str, Any]], str]:
    """The candidates table and a markdown summary of a registered version's card."""
    card = version.card
    rows = []
    for name, score in card.candidates.items():
        row = _metric_row(name, score.model_dump())
        row["fit_seconds"] = score.fit_seconds
        row["note"] = f"failed: {score.error}" if score.status == "failed" else ""
        rows.append(row)
    references = {"mean baseline": card.baseline, **card.parity}
    for name, comparison in references.items():
        if comparison is not None:
            rows.append({**_metric_row(name, comparison.model_dump()), "fit_seconds": None,
                         "note": "" if comparison.computable else comparison.rmse_text()})
    demo = " **[DEMO DATA]**" if card.is_demo else ""
    metrics = card.metrics
    ours = metrics.rmse or float("nan")
    lines = [
        f"# {version.name} v{version.version}{demo}",
        "",
        f"- best candidate: `{card.estimator}`, hold-out RMSE **{ours:.4f}**, MAE "
        f"{metrics.mae or float('nan'):.4f}, R² {metrics.r2 or float('nan'):.4f} on {metrics.films or 0:,} films",
    ]
    if card.refit is not None:
        lines.append(f"- production model refitted with the same recipe on all {card.refit.films:,} "
                     "labelled films (the metrics above are the selection fit's)")
    parity = card.parity.get("old_notebook_temporal_no_votes")
    if parity is not None and parity.computable and parity.rmse:
        lines.append(f"- old notebook's recipe on the same temporal hold-out without imdb_votes: RMSE "
                     f"{parity.rmse:.4f} ({(1 - ours / parity.rmse):+.1%} lower for ours)")
    elif parity is not None:
        lines.append(f"- old notebook's recipe on the same temporal hold-out without imdb_votes: {parity.rmse_text()}")
    as_it_was = card.parity.get("old_notebook_random_split")
    if as_it_was is not None:
        lines.append(f"- old notebook as it was (random split, with imdb_votes): RMSE {as_it_was.rmse_text()}"
                     + (f", MSE {as_it_was.mse:.4f}, R² {as_it_was.r2:.4f}"
                        if as_it_was.computable and as_it_was.mse is not None and as_it_was.r2 is not None
                        else ""))
    if card.baseline is not None:
        lines.append(f"- mean baseline RMSE {card.baseline.rmse_text()}")
    if card.tuning is not None:
        lines.append(f"- xgboost_tuned search on the training part only: {card.tuning.describe()}")
    lines += [
        f"- split: {card.split.model_dump()}",
        f"- trained on `{card.feature_view.name if card.feature_view else '?'}` "
        f"v{card.feature_view.version if card.feature_view else '?'} at store commit {card.store_commit} "
        f"({card.snapshot_date}, source {card.source}), code {(card.code_commit or 'unknown')[:12]}",
    ]
    if card.promotion is not None:
        lines.append(f"- promotion: {'promoted' if card.promotion.promote else 'not promoted'}: "
                     f"{card.promotion.reason}")
    lines.append(f"- plots and tables: `{version.path}`")
    return rows, "\n".join(lines)


def training_summary(version: ModelVersion, decision: PromotionDecision) -> dict[str, Any]:
    """What the training flow returns (JSON-ready; read by :func:`movie_ratings.summary.training_line`)."""
    card = version.card
    return {
        "flow": "training",
        "model": version.name,
        "model_version": version.version,
        "estimator": card.estimator,
        "metrics": card.metrics.model_dump(mode="json"),
        "parity": {name: c.model_dump(mode="json") for name, c in card.parity.items()},
        "baseline": card.baseline.model_dump(mode="json") if card.baseline else None,
        "refit_films": card.refit.films if card.refit else None,
        "failed_candidates": {n: s.error for n, s in card.candidates.items() if s.status == "failed"},
        "promoted": decision.promote,
        "promotion_reason": decision.reason,
        "store_commit": card.store_commit,
        "is_demo": card.is_demo,
    }


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
