"""The flows' steps as the benchmark runs them: the pure functions under the tasks, timed.

The chains themselves are the flows' (:func:`flows.ingest.ingest_chain`,
:func:`flows.training.training_chain`, :func:`flows.inference.inference_chain`); these
classes give them their steps without Prefect: each step calls the pure function its task
wraps, on an explicit store and registry, inside a named :func:`movie_ratings.timing.stage`
(the stage labels of bench/RESULTS.md). The Prefect artifacts (training and inference
reports) are the flows' own and are not run: their cost belongs to the orchestration
overhead. The flows' defaults come from the flow signatures (:func:`flow_defaults`).
"""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from movie_ratings.cleaning.snapshot import CleanSnapshot, Prefiltered
from movie_ratings.modeling.artifacts import code_commit
from movie_ratings.modeling.card import Comparison, ProductionComparison
from movie_ratings.monitoring.drift import DriftReport
from movie_ratings.registry import ModelRegistry, ModelVersion
from movie_ratings.schema import MOVIE_GENRES, MOVIE_RATINGS_VIEW, MOVIES
from movie_ratings.settings import Settings
from movie_ratings.sources import Snapshot
from movie_ratings.store import FeatureStore, UpsertResult
from movie_ratings.store.upsert import KnownUnchanged
from movie_ratings.timing import stage
from tasks.clean import read_and_clean, start_reading_source_hashes
from tasks.drift import run_drift
from tasks.evaluate import evaluate_models
from tasks.features import FeatureTables, build_features
from tasks.insert import upsert_snapshot
from tasks.parity import seed_parity
from tasks.predict import (
    LoadedModel,
    Monitoring,
    ViewAtCommit,
    load_production_model,
    monitoring,
    predict_films,
    read_view,
    save_predictions,
)
from tasks.promote import PromotionDecision
from tasks.publish import publish_site
from tasks.register import promotion_decision, register_model, score_production
from tasks.train import FittedCandidates, Refitted, fit_candidates, refit_best
from tasks.training_data import Split, SplitKind, TrainingData, load_training_data, make_split


def flow_defaults(flow: Any) -> dict[str, Any]:
    """The default of every parameter of a Prefect flow, from its signature."""
    return {name: p.default for name, p in inspect.signature(flow.fn).parameters.items()
            if p.default is not inspect.Parameter.empty}


class PlainIngestSteps:
    """:class:`flows.ingest.IngestSteps` on ``store``, reading a snapshot already on disk.

    Args:
        store: the feature store to write.
        snapshot: the snapshot the chain ingests (the benchmark's files, not a source's).
        settings: the limits (reject, delete and descriptive-change fractions), as the
            tasks read them.
    """

    def __init__(self, store: FeatureStore, snapshot: Snapshot, settings: Settings) -> None:
        self.store, self.snapshot, self.settings = store, snapshot, settings

    def fetch(self, source: str, path: str | None, as_of: date | None) -> Snapshot:
        return self.snapshot

    def clean(self, path: Path, as_of: date, source: str, max_reject_fraction: float | None,
              movies_version: int | None) -> CleanSnapshot:
        if max_reject_fraction is None:
            max_reject_fraction = self.settings.max_reject_fraction
        stored = (None if movies_version is None
                  else start_reading_source_hashes(self.store, movies_version))
        return read_and_clean(path, as_of, source, max_reject_fraction,  # times its two stages
                              stored=stored)

    def build_features(self, clean: pa.Table, as_of: date,
                       prefiltered: Prefiltered | None) -> FeatureTables:
        with stage("build_features"):
            return build_features(clean, as_of, prefiltered)

    def upsert(self, groups: dict[str, pa.Table], versions: dict[str, int], snapshot: Snapshot,
               rejects: pa.Table, require_existing: bool,
               max_descriptive_change_fraction: float | None,
               unchanged: KnownUnchanged | None) -> UpsertResult:
        if max_descriptive_change_fraction is None:
            max_descriptive_change_fraction = self.settings.max_descriptive_change_fraction
        with stage("upsert_snapshot"):
            return upsert_snapshot(self.store, groups, versions, snapshot, rejects,
                                   require_existing=require_existing,
                                   max_delete_fraction=self.settings.max_delete_fraction,
                                   max_descriptive_change_fraction=max_descriptive_change_fraction,
                                   unchanged=unchanged)

    def ensure_view(self, view_version: int, movies_version: int, genres_version: int) -> None:
        with stage("ensure_feature_view"):
            self.store.ensure_feature_view(MOVIE_RATINGS_VIEW.name, view_version,
                                           {MOVIES.name: movies_version, MOVIE_GENRES.name: genres_version})


class PlainTrainingSteps:
    """:class:`flows.training.TrainingSteps` on an explicit store and registry."""

    def __init__(self, store: FeatureStore, registry: ModelRegistry) -> None:
        self.store, self.registry = store, registry

    def load(self, view_version: int, store_commit: int | None) -> TrainingData:
        with stage("load_training_data"):
            return load_training_data(self.store, view_version, store_commit)

    def split(self, data: TrainingData, kind: SplitKind, test_size: float, test_start: date | None,
              seed: int) -> Split:
        with stage("make_split"):
            return make_split(data.rows, kind, test_size=test_size, test_start=test_start, seed=seed)

    def fit_candidates(self, data: TrainingData, split: Split, names: tuple[str, ...], seed: int,
                       budget_seconds: float) -> FittedCandidates:
        with stage("fit_candidates"):
            return fit_candidates(data.rows, split, names, seed=seed, budget_seconds=budget_seconds)

    def seed_parity(self, data: TrainingData, split: Split, seed: int) -> dict[str, Comparison]:
        with stage("seed_parity"):
            return seed_parity(data.rows, split, seed=seed)

    def evaluate(self, data: TrainingData, split: Split, fitted: FittedCandidates,
                 parity: dict[str, Comparison]) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
        with stage("evaluate"):
            return evaluate_models(data, split, fitted)

    def score_production(self, data: TrainingData, split: Split,
                         fitted: FittedCandidates) -> ProductionComparison | None:
        with stage("score_production"):
            return score_production(self.registry, data, split, fitted)

    def decide_promotion(self, candidate: dict[str, float], production: ProductionComparison | None,
                         force: bool) -> PromotionDecision:
        return promotion_decision(candidate, production, force=force)

    def refit(self, data: TrainingData, fitted: FittedCandidates) -> Refitted:
        with stage("refit"):
            return refit_best(data, fitted)

    def register(self, data: TrainingData, split: Split, fitted: FittedCandidates, refitted: Refitted,
                 parity: dict[str, Comparison], decision: PromotionDecision,
                 production: ProductionComparison | None, plots: dict[str, bytes],
                 segments: list[dict[str, Any]], seed: int, names: tuple[str, ...]) -> ModelVersion:
        with stage("register"):
            return register_model(self.registry, data, split, fitted, refitted, parity, decision, production,
                                  plots, segments, seed=seed, candidates=names, commit=code_commit(),
                                  created_at=datetime.now(UTC))


class PlainInferenceSteps:
    """:class:`flows.inference.InferenceSteps` on an explicit store, registry and site folder."""

    def __init__(self, store: FeatureStore, registry: ModelRegistry, site_dir: Path) -> None:
        self.store, self.registry, self.site_dir = store, registry, site_dir

    def load_model(self) -> LoadedModel:
        with stage("load_production_model"):
            return load_production_model(self.registry)

    def read_view(self, view_version: int, store_commit: int | None) -> ViewAtCommit:
        with stage("read_feature_view"):
            return read_view(self.store, view_version, store_commit)

    def predict(self, model: LoadedModel, view: ViewAtCommit, as_of: date, recent_days: int) -> pa.Table:
        with stage("films_to_predict + predict"):
            return predict_films(model, view, as_of, recent_days, datetime.now(UTC))

    def save_predictions(self, predictions: pa.Table) -> pa.Table:
        with stage("save_predictions (merge_rows)"):
            return save_predictions(self.store, predictions)[0]

    def monitor(self, history: pa.Table, view: ViewAtCommit) -> Monitoring:
        with stage("monitoring"):
            return monitoring(history, view.rows)

    def drift(self, view: ViewAtCommit, predictions: pa.Table, model: LoadedModel, result: Monitoring,
              as_of: date, view_version: int, recent_days: int) -> DriftReport | None:
        with stage("drift"):
            return run_drift(self.store, view, predictions, model, result, view_version=view_version,
                             recent_days=recent_days)[0]

    def build_site(self, view: ViewAtCommit, predictions: pa.Table, result: Monitoring, model: LoadedModel,
                   history: pa.Table, drift: DriftReport | None) -> Path:
        with stage("build_site"):  # explanations of the shown films included
            return publish_site(self.site_dir, view, predictions, result, model, history, drift)[0]
