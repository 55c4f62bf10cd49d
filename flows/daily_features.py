"""``daily-features``: upsert only what a new snapshot changed."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flows.ingest import IngestTasks, ingest_chain, ingest_summary
from flows.naming import run_name
from movie_ratings.sources import SourceName


@flow(name="daily-features", flow_run_name=run_name("daily-features", "as_of", "source"))
def daily_features(
    source: SourceName = "demo",
    path: str | None = None,
    as_of: date | None = None,
    movies_version: int = 1,
    genres_version: int = 1,
    max_reject_fraction: float | None = None,
    max_descriptive_change_fraction: float | None = None,
) -> dict[str, Any]:
    """Compare a new snapshot with the store and write new, changed and deleted films.

    Idempotent: the same snapshot twice changes nothing the second time.

    Args:
        source: ``demo``, ``csv`` (``path``) or ``kaggle``.
        path: CSV file for the ``csv`` source.
        as_of: snapshot date (default: today, or the Kaggle dataset's date).
        movies_version: version of the ``movies`` feature group.
        genres_version: version of the ``movie_genres`` feature group.
        max_reject_fraction: above this share of quarantined records the run fails
            (default: the setting ``MOVIE_RATINGS_MAX_REJECT_FRACTION``, 0.10).
        max_descriptive_change_fraction: above this share of stored films whose title,
            release date, people or genres change, the snapshot is refused as broken
            (default: ``MOVIE_RATINGS_MAX_DESCRIPTIVE_CHANGE_FRACTION``, 0.20).

    Returns:
        Counts of new, changed, unchanged, deleted and rejected films, and the store commit.
    """
    run = ingest_chain(
        IngestTasks(), source=source, path=path, as_of=as_of,
        movies_version=movies_version, genres_version=genres_version,
        max_reject_fraction=max_reject_fraction, require_existing=True,
        max_descriptive_change_fraction=max_descriptive_change_fraction,
    )
    return ingest_summary("daily-features", run)
