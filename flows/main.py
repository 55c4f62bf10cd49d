"""``main``: the whole daily job: ingest, (re)train when needed, predict, publish."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from prefect import flow, get_run_logger

from flows.backfill import backfill
from flows.daily_features import daily_features
from flows.inference import inference
from flows.naming import run_name
from flows.training import training
from movie_ratings.sources import SourceName
from movie_ratings.summary import main_line
from tasks.plan import plan_ingest_task
from tasks.register import has_production_model_task


@flow(name="main", flow_run_name=run_name("main", "as_of", "source"))
def main(
    source: SourceName = "demo",
    path: str | None = None,
    as_of: date | None = None,
    days: int = 7,
    train: Literal["auto", "always", "never"] = "auto",
) -> dict[str, Any]:
    """Bring the store, the model and the site up to ``as_of``.

    On an empty store: backfill ``days`` before ``as_of``, train, predict, then one daily
    update and one inference per day, so the predictions history and the live score build
    up as a daily deployment would build them.

    Args:
        source: ``demo``, ``csv`` (``path``) or ``kaggle``.
        path: CSV file for the ``csv`` source.
        as_of: last snapshot date (default today).
        days: daily snapshots the demo feed simulates on an empty store.
        train: ``auto`` trains when there is no production model; ``always`` or ``never``.

    Returns:
        The summaries of the runs, in order (also logged as one line).
    """
    plan = plan_ingest_task(source, as_of, days)
    runs = []
    if plan.needs_backfill:
        runs.append(backfill(source=source, path=path, as_of=plan.backfill))
    if train == "always" or (train == "auto" and not has_production_model_task()):
        runs.append(training())
    can_predict = train != "never" or has_production_model_task()
    if plan.needs_backfill and can_predict:
        runs.append(inference())
    for day in plan.daily:
        runs.append(daily_features(source=source, path=path, as_of=day))
        if can_predict:
            runs.append(inference())
    if not plan.daily and not plan.needs_backfill and can_predict:
        runs.append(inference())
    get_run_logger().info("%s", main_line(runs))
    return {"flow": "main", "runs": runs}
