"""``training``: feature view → split → candidates → evaluation → registry → promotion."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from movie_ratings.modeling.estimators import CANDIDATES
from tasks.evaluate import evaluate_task
from tasks.register import (
    decide_promotion_task,
    publish_training_report_task,
    register_model_task,
    score_production_task,
)
from tasks.train import (
    SplitKind,
    fit_candidates_task,
    load_training_data_task,
    seed_parity_task,
    split_task,
)


def _run_name() -> str:
    params = flow_run.get_parameters() or {}
    commit = params.get("store_commit")
    return f"training view v{params.get('view_version', 1)} {'latest' if commit is None else f'commit {commit}'} {params.get('split', 'temporal')}"


@flow(name="training", flow_run_name=_run_name)
def training(
    view_version: int = 1,
    store_commit: int | None = None,
    split: SplitKind = "temporal",
    test_size: float = 0.2,
    test_start: date | None = None,
    candidates: list[str] | None = None,
    seed: int = 42,
    force: bool = False,
) -> dict[str, Any]:
    """Train every candidate, register the best, promote it if it beats production.

    Args:
        view_version: version of the ``movie_ratings`` feature view.
        store_commit: store commit to read (default: the latest).
        split: ``temporal`` (default: test on the most recent releases) or ``random``.
        test_size: share of films in the hold-out.
        test_start: explicit cut-off date of a temporal hold-out (overrides ``test_size``).
        candidates: candidate names (default: all).
        seed: seed of splits, folds and estimators.
        force: promote even if production is better.

    Returns:
        A summary: model version, metrics, seed-parity metrics, promotion.
    """
    names = tuple(candidates) if candidates else CANDIDATES
    data = load_training_data_task(view_version, store_commit)
    held_out = split_task(data, split, test_size, test_start, seed)
    fitted = fit_candidates_task(data, held_out, names, seed)
    parity = seed_parity_task(data, held_out, seed)
    segments, plots = evaluate_task(data, held_out, fitted, parity)
    production_version, production_metrics = score_production_task(data, held_out)
    decision = decide_promotion_task(fitted.best.metrics, production_version, production_metrics, force)
    production = (None if production_metrics is None
                  else {"version": production_version, **production_metrics})
    version = register_model_task(data, held_out, fitted, parity, decision, production, plots,
                                  segments, seed, names)
    publish_training_report_task(version)
    card = version.card
    return {
        "flow": "training",
        "model": version.name,
        "model_version": version.version,
        "estimator": card["estimator"],
        "metrics": card["metrics"],
        "parity": card["parity"],
        "baseline": card["baseline"],
        "promoted": decision.promote,
        "promotion_reason": decision.reason,
        "store_commit": card["store_commit"],
        "is_demo": card["is_demo"],
    }
