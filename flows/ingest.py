"""The ingest chain shared by ``backfill`` and ``daily-features``: fetch, read, clean, build, upsert."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import get_run_logger

from movie_ratings.schema import MOVIE_GENRES, MOVIES
from movie_ratings.summary import ingest_line
from tasks.clean import clean_snapshot_task
from tasks.download import fetch_snapshot_task
from tasks.features import build_features_task
from tasks.insert import upsert_features_task


def ingest(
    *,
    flow_label: str,
    source: str,
    path: str | None,
    as_of: date | None,
    movies_version: int,
    genres_version: int,
    max_reject_fraction: float | None,
    require_existing: bool,
    max_descriptive_change_fraction: float | None = None,
) -> dict[str, Any]:
    """Run the ingest tasks in order, log a one-line summary and return the summary."""
    snapshot = fetch_snapshot_task(source, path, as_of)
    clean = clean_snapshot_task(snapshot.path, snapshot.as_of, snapshot.source, max_reject_fraction,
                                movies_version if require_existing else None)
    features = build_features_task(clean.table, snapshot.as_of, clean.prefiltered)
    versions = {MOVIES.name: movies_version, MOVIE_GENRES.name: genres_version}
    result = upsert_features_task(
        features.tables, versions, snapshot, clean.rejects, require_existing,
        max_descriptive_change_fraction, features.unchanged,
    )
    summary = {
        "flow": flow_label,
        "snapshot_date": snapshot.as_of.isoformat(),
        "source": snapshot.source,
        "is_demo": snapshot.is_demo,
        "rows_read": clean.rows_read,
        "rows_kept": clean.rows_kept,
        "rejected": clean.rejected_rows,
        "duplicates": clean.duplicates,
        "new": result.new,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "store_commit": result.commit.number,
        "created_commit": result.created_commit,
        "rows": {g.name: g.rows for g in result.commit.groups.values()},
    }
    logger = get_run_logger()
    logger.info("%s", ingest_line(summary))
    logger.debug("summary: %s", summary)
    return summary
