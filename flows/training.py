"""``training``: feature view → split → candidates → evaluation → promotion gate → refit → registry.

The flow runs :func:`training_chain` with its tasks; the benchmark runs the same chain with
plain steps (as :mod:`flows.ingest` explains).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from prefect import flow

from flows.naming import run_name
from flows.task_runner import ConfiguredTaskRunner
from movie_ratings.modeling.card import Comparison, ProductionComparison
from movie_ratings.modeling.estimators import CANDIDATES
from movie_ratings.registry import ModelVersion
from tasks.evaluate import evaluate_task
from tasks.parity import seed_parity_task
from tasks.promote import PromotionDecision
from tasks.register import (
    decide_promotion_task,
    publish_training_report_task,
    register_model_task,
    score_production_task,
    training_summary,
)
from tasks.train import (
    CANDIDATE_TIME_BUDGET_SECONDS,
    FittedCandidates,
    Refitted,
    fit_candidates_task,
    refit_task,
)
from tasks.training_data import Split, SplitKind, TrainingData, load_training_data_task, split_task

#: The segment rows and the PNG plots by name (:func:`tasks.evaluate.evaluate_models`).
Evaluation = tuple[list[dict[str, Any]], dict[str, bytes]]


class TrainingSteps(Protocol):
    """The steps of :func:`training_chain`."""

    def load(self, view_version: int, store_commit: int | None) -> TrainingData: ...

    def split(self, data: TrainingData, kind: SplitKind, test_size: float, test_start: date | None,
              seed: int) -> Split: ...

    def fit_candidates(self, data: TrainingData, split: Split, names: tuple[str, ...], seed: int,
                       budget_seconds: float) -> FittedCandidates: ...

    def seed_parity(self, data: TrainingData, split: Split, seed: int) -> dict[str, Comparison]: ...

    def evaluate(self, data: TrainingData, split: Split, fitted: FittedCandidates,
                 parity: dict[str, Comparison]) -> Evaluation: ...

    def score_production(self, data: TrainingData, split: Split,
                         fitted: FittedCandidates) -> ProductionComparison | None: ...

    def decide_promotion(self, candidate: dict[str, float], production: ProductionComparison | None,
                         force: bool) -> PromotionDecision: ...

    def refit(self, data: TrainingData, fitted: FittedCandidates) -> Refitted: ...

    def register(self, data: TrainingData, split: Split, fitted: FittedCandidates, refitted: Refitted,
                 parity: dict[str, Comparison], decision: PromotionDecision,
                 production: ProductionComparison | None, plots: dict[str, bytes],
                 segments: list[dict[str, Any]], seed: int, names: tuple[str, ...]) -> ModelVersion: ...


@dataclass(frozen=True)
class TrainingRun:
    """The registered version and the promotion decision taken for it."""

    version: ModelVersion
    decision: PromotionDecision


def training_chain(
    steps: TrainingSteps,
    *,
    view_version: int,
    store_commit: int | None,
    split: SplitKind,
    test_size: float,
    test_start: date | None,
    candidates: list[str] | None,
    seed: int,
    force: bool,
    candidate_budget_seconds: float,
) -> TrainingRun:
    """Load, split, fit the candidates, compare with the old notebook, evaluate, score
    production's recipe on the same split, decide the promotion, refit the chosen recipe on
    every labelled film and register it (the arguments are the ``training`` flow's)."""
    names = tuple(candidates) if candidates else CANDIDATES
    data = steps.load(view_version, store_commit)
    held_out = steps.split(data, split, test_size, test_start, seed)
    fitted = steps.fit_candidates(data, held_out, names, seed, candidate_budget_seconds)
    parity = steps.seed_parity(data, held_out, seed)
    segments, plots = steps.evaluate(data, held_out, fitted, parity)
    production = steps.score_production(data, held_out, fitted)
    decision = steps.decide_promotion(fitted.best.metrics, production, force)
    refitted = steps.refit(data, fitted)
    version = steps.register(data, held_out, fitted, refitted, parity, decision, production, plots,
                             segments, seed, names)
    return TrainingRun(version, decision)


class TrainingTasks:
    """:class:`TrainingSteps` as the flow runs them: each step is its Prefect task.

    The fits are submitted, so they run where the task runner says (threads here, or a Dask
    cluster: MOVIE_RATINGS_DASK_ADDRESS); the flow waits for each, as a direct call would.
    """

    def load(self, view_version: int, store_commit: int | None) -> TrainingData:
        return load_training_data_task(view_version, store_commit)

    def split(self, data: TrainingData, kind: SplitKind, test_size: float, test_start: date | None,
              seed: int) -> Split:
        return split_task(data, kind, test_size, test_start, seed)

    def fit_candidates(self, data: TrainingData, split: Split, names: tuple[str, ...], seed: int,
                       budget_seconds: float) -> FittedCandidates:
        return fit_candidates_task.submit(data, split, names, seed, budget_seconds).result()

    def seed_parity(self, data: TrainingData, split: Split, seed: int) -> dict[str, Comparison]:
        return seed_parity_task.submit(data, split, seed).result()

    def evaluate(self, data: TrainingData, split: Split, fitted: FittedCandidates,
                 parity: dict[str, Comparison]) -> Evaluation:
        return evaluate_task(data, split, fitted, parity)

    def score_production(self, data: TrainingData, split: Split,
                         fitted: FittedCandidates) -> ProductionComparison | None:
        return score_production_task(data, split, fitted)

    def decide_promotion(self, candidate: dict[str, float], production: ProductionComparison | None,
                         force: bool) -> PromotionDecision:
        return decide_promotion_task(candidate, production, force)

    def refit(self, data: TrainingData, fitted: FittedCandidates) -> Refitted:
        return refit_task.submit(data, fitted).result()

    def register(self, data: TrainingData, split: Split, fitted: FittedCandidates, refitted: Refitted,
                 parity: dict[str, Comparison], decision: PromotionDecision,
                 production: ProductionComparison | None, plots: dict[str, bytes],
                 segments: list[dict[str, Any]], seed: int, names: tuple[str, ...]) -> ModelVersion:
        return register_model_task(data, split, fitted, refitted, parity, decision, production, plots,
                                   segments, seed, names)


@flow(name="training", flow_run_name=run_name("training", "view_version", "store_commit", "split"),
      task_runner=ConfiguredTaskRunner())  # type: ignore[arg-type]
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
    run = training_chain(
        TrainingTasks(), view_version=view_version, store_commit=store_commit, split=split,
        test_size=test_size, test_start=test_start, candidates=candidates, seed=seed, force=force,
        candidate_budget_seconds=candidate_budget_seconds,
    )
    publish_training_report_task(run.version)
    return training_summary(run.version, run.decision)
