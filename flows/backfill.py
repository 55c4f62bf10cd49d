"""``backfill``: load a full snapshot into the feature store and create the feature view."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flows.ingest import IngestTasks, ingest_chain, ingest_summary
from flows.naming import run_name
from movie_ratings.sources import SourceName


@flow(name="backfill", flow_run_name=run_name("backfill", "as_of", "source"), log_prints=False)
def backfill(
    source: SourceName = "demo",
    path: str | None = None,
    as_of: date | None = None,
    movies_version: int = 1,
    genres_version: int = 1,
    view_version: int = 1,
    max_reject_fraction: float | None = None,
) -> dict[str, Any]:
    """Download a full snapshot, clean it, build features and insert them.

    On a store that already holds these group versions it behaves like a daily update
    (only changes are written), so it is safe to run again.

    Args:
        source: ``demo`` (built-in simulator), ``csv`` (``path``) or ``kaggle``.
        path: CSV file for the ``csv`` source.
        as_of: snapshot date (default: today for demo/csv, the dataset's date for kaggle).
        movies_version: version of the ``movies`` feature group.
        genres_version: version of the ``movie_genres`` feature group.
        view_version: version of the ``movie_ratings`` feature view to create.
        max_reject_fraction: above this share of quarantined records the run fails
            (default: the setting ``MOVIE_RATINGS_MAX_REJECT_FRACTION``, 0.10).

    Returns:
        Counts of rows read, kept, rejected, new, changed, deleted, and the store commit.
    """
    run = ingest_chain(
        IngestTasks(), source=source, path=path, as_of=as_of,
        movies_version=movies_version, genres_version=genres_version,
        max_reject_fraction=max_reject_fraction, require_existing=False, view_version=view_version,
    )
    return ingest_summary("backfill", run)
