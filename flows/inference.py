"""``inference``: production model → films to predict → predictions history → monitoring → site.

The flow runs :func:`inference_chain` with its tasks; the benchmark runs the same chain with
plain steps (as :mod:`flows.ingest` explains).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from prefect import flow

from flows.naming import run_name
from movie_ratings.monitoring.drift import DriftReport
from tasks.drift import drift_task
from tasks.predict import (
    RECENT_DAYS,
    LoadedModel,
    Monitoring,
    ViewAtCommit,
    load_production_model_task,
    monitoring_task,
    predict_task,
    read_view_task,
    save_predictions_task,
)
from tasks.publish import build_site_task, inference_summary, publish_inference_report_task


class InferenceSteps(Protocol):
    """The steps of :func:`inference_chain`."""

    def load_model(self) -> LoadedModel: ...

    def read_view(self, view_version: int, store_commit: int | None) -> ViewAtCommit: ...

    def predict(self, model: LoadedModel, view: ViewAtCommit, as_of: date, recent_days: int) -> pa.Table: ...

    def save_predictions(self, predictions: pa.Table) -> pa.Table: ...

    def monitor(self, history: pa.Table, view: ViewAtCommit) -> Monitoring: ...

    def drift(self, view: ViewAtCommit, predictions: pa.Table, model: LoadedModel, result: Monitoring,
              as_of: date, view_version: int, recent_days: int) -> DriftReport | None: ...

    def build_site(self, view: ViewAtCommit, predictions: pa.Table, result: Monitoring, model: LoadedModel,
                   history: pa.Table, drift: DriftReport | None) -> Path: ...


@dataclass(frozen=True)
class InferenceRun:
    """What one inference read, predicted, monitored and published."""

    model: LoadedModel
    view: ViewAtCommit
    prediction_date: date
    predictions: pa.Table
    history: pa.Table
    monitoring: Monitoring
    drift: DriftReport | None
    site: Path


def inference_chain(
    steps: InferenceSteps,
    *,
    view_version: int,
    store_commit: int | None,
    as_of: date | None,
    recent_days: int,
) -> InferenceRun:
    """Load the production model, read the view, predict, merge the predictions into the
    history, score the live predictions, compute the drift and publish the site (the
    arguments are the ``inference`` flow's)."""
    model = steps.load_model()
    view = steps.read_view(view_version, store_commit)
    prediction_date = as_of or view.commit.snapshot_date
    predictions = steps.predict(model, view, prediction_date, recent_days)
    history = steps.save_predictions(predictions)
    result = steps.monitor(history, view)
    drift = steps.drift(view, predictions, model, result, prediction_date, view_version, recent_days)
    site = steps.build_site(view, predictions, result, model, history, drift)
    return InferenceRun(model, view, prediction_date, predictions, history, result, drift, site)


class InferenceTasks:
    """:class:`InferenceSteps` as the flow runs them: each step is its Prefect task."""

    def load_model(self) -> LoadedModel:
        return load_production_model_task()

    def read_view(self, view_version: int, store_commit: int | None) -> ViewAtCommit:
        return read_view_task(view_version, store_commit)

    def predict(self, model: LoadedModel, view: ViewAtCommit, as_of: date, recent_days: int) -> pa.Table:
        return predict_task(model, view, as_of, recent_days)

    def save_predictions(self, predictions: pa.Table) -> pa.Table:
        return save_predictions_task(predictions)

    def monitor(self, history: pa.Table, view: ViewAtCommit) -> Monitoring:
        return monitoring_task(history, view)

    def drift(self, view: ViewAtCommit, predictions: pa.Table, model: LoadedModel, result: Monitoring,
              as_of: date, view_version: int, recent_days: int) -> DriftReport | None:
        return drift_task(view, predictions, model, result, as_of, view_version, recent_days)

    def build_site(self, view: ViewAtCommit, predictions: pa.Table, result: Monitoring, model: LoadedModel,
                   history: pa.Table, drift: DriftReport | None) -> Path:
        return build_site_task(view, predictions, result, model, history, drift)


@flow(name="inference", flow_run_name=run_name("inference", "as_of", "store_commit"))
def inference(
    view_version: int = 1,
    store_commit: int | None = None,
    as_of: date | None = None,
    recent_days: int = RECENT_DAYS,
) -> dict[str, Any]:
    """Predict upcoming and newly released films with the production model; publish the site.

    Args:
        view_version: version of the ``movie_ratings`` feature view.
        store_commit: store commit to read (default: the latest).
        as_of: prediction date (default: the snapshot date of that commit).
        recent_days: films released this many days back are still predicted.

    Returns:
        A summary: films predicted, model version, live MAE, site path.
    """
    run = inference_chain(InferenceTasks(), view_version=view_version, store_commit=store_commit, as_of=as_of,
                          recent_days=recent_days)
    summary = inference_summary(run.model, run.view, run.predictions, run.monitoring, run.site,
                                run.prediction_date, run.drift)
    publish_inference_report_task(summary, run.predictions)
    return summary
