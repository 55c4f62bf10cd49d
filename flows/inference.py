"""``inference``: production model → films to predict → predictions history → monitoring → site."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from tasks.drift import drift_task
from tasks.predict import (
    RECENT_DAYS,
    load_production_model_task,
    monitoring_task,
    predict_task,
    read_view_task,
    save_predictions_task,
)
from tasks.publish import build_site_task, inference_summary, publish_inference_report_task


def _run_name() -> str:
    params = flow_run.get_parameters() or {}
    commit = params.get("store_commit")
    return f"inference {params.get('as_of') or 'latest'} {'latest commit' if commit is None else f'commit {commit}'}"


@flow(name="inference", flow_run_name=_run_name)
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
    model = load_production_model_task()
    view = read_view_task(view_version, store_commit)
    prediction_date = as_of or view.commit.snapshot_date
    predictions = predict_task(model, view, prediction_date, recent_days)
    history = save_predictions_task(predictions)
    result = monitoring_task(history, view)
    drift = drift_task(view, predictions, model, result, prediction_date, view_version, recent_days)
    site = build_site_task(view, predictions, result, model, history, drift)
    summary = inference_summary(model, view, predictions, result, site, prediction_date, drift)
    publish_inference_report_task(summary, predictions)
    return summary
