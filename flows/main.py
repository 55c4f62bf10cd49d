"""``main``: the whole daily job (for now: backfill when empty, then daily features)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger

from flows.backfill import backfill
from flows.daily_features import daily_features
from flows.ingest import run_name
from movie_ratings.sources import SourceName
from movie_ratings.summary import main_line
from tasks.plan import plan_ingest_task


@flow(name="main", flow_run_name=lambda: run_name("main"))
def main(
    source: SourceName = "demo",
    path: str | None = None,
    as_of: date | None = None,
    days: int = 7,
) -> dict[str, Any]:
    """Bring the feature store up to ``as_of``.

    Args:
        source: ``demo``, ``csv`` (``path``) or ``kaggle``.
        path: CSV file for the ``csv`` source.
        as_of: last snapshot date (default today).
        days: daily snapshots the demo feed simulates on an empty store.

    Returns:
        The summaries of the ingest runs, in order (also logged as one line).
    """
    plan = plan_ingest_task(source, as_of, days)
    runs = []
    if plan.needs_backfill:
        runs.append(backfill(source=source, path=path, as_of=plan.backfill))
    for day in plan.daily:
        runs.append(daily_features(source=source, path=path, as_of=day))
    get_run_logger().info("%s", main_line(runs))
    return {"flow": "main", "runs": runs}
