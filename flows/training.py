"""``training``: feature view → split → candidates → evaluation → promotion gate → refit → registry."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from flows.task_runner import ConfiguredTaskRunner
from movie_ratings.modeling.estimators import CANDIDATES
from tasks.evaluate import evaluate_task
from tasks.register import (
    decide_promotion_task,
    publish_training_report_task,
    register_model_task,
    score_production_task,
    training_summary,
)
from tasks.train import (
    CANDIDATE_TIME_BUDGET_SECONDS,
    SplitKind,
    fit_candidates_task,
    load_training_data_task,
    refit_task,
    seed_parity_task,
    split_task,
)


def _run_name() -> str:
    params = flow_run.get_parameters() or {}
    commit = params.get("store_commit")
    return f"training view v{params.get('view_version', 1)} {'latest' if commit is None else f'commit {commit}'} {params.get('split', 'temporal')}"


# The fits are submitted, so they run where the task runner says (threads here, or a Dask
# cluster: MOVIE_RATINGS_DASK_ADDRESS); the flow waits for each, as a direct call would.
@flow(name="training", flow_run_name=_run_name, task_runner=ConfiguredTaskRunner())  # type: ignore[arg-type]
def training(
    view_version: int = 1,
    store_commit: int | None = None,
    split: SplitKind = "temporal",
    test_size: float = 0.2,
    test_start: date | None = None,
    candidates: list[str] | None = None,
    seed: int = 42,
    force: bool = False,
    candidate_budget_seconds: float = CANDIDATE_TIME_BUDGET_SECONDS,
) -> dict[str, Any]:
    """Choose a recipe on a hold-out, refit it on every labelled film, register it, and
    promote it if its recipe is at least as good as production's on the same split.

    Args:
        view_version: version of the ``movie_ratings`` feature view.
        store_commit: store commit to read (default: the latest).
        split: ``temporal`` (default: test on the most recent releases) or ``random``.
        test_size: share of films in the hold-out.
        test_start: explicit cut-off date of a temporal hold-out (overrides ``test_size``).
        candidates: candidate names (default: all).
        seed: seed of splits, folds and estimators.
        force: promote even if production's recipe is better.
        candidate_budget_seconds: a candidate slower than this is recorded as failed.

    Returns:
        A summary: model version, metrics, seed-parity metrics, refit, promotion.
    """
    names = tuple(candidates) if candidates else CANDIDATES
    data = load_training_data_task(view_version, store_commit)
    held_out = split_task(data, split, test_size, test_start, seed)
    fitted = fit_candidates_task.submit(data, held_out, names, seed, candidate_budget_seconds).result()
    parity = seed_parity_task.submit(data, held_out, seed).result()
    segments, plots = evaluate_task(data, held_out, fitted, parity)
    production = score_production_task(data, held_out, fitted)
    decision = decide_promotion_task(fitted.best.metrics, production, force)
    refitted = refit_task.submit(data, fitted).result()
    version = register_model_task(data, held_out, fitted, refitted, parity, decision, production, plots,
                                  segments, seed, names)
    publish_training_report_task(version)
    return training_summary(version, decision)
