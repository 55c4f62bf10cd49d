"""Fetch a snapshot from a source (demo simulator, local CSV, Kaggle)."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.settings import get_settings
from movie_ratings.sources import Snapshot, get_source
from tasks.policies import IO_RETRIES


def fetch_snapshot(source: str, path: str | None, as_of: date | None) -> Snapshot:
    """Ask the named source for the snapshot of ``as_of`` (latest when None).

    Args:
        source: ``demo``, ``csv`` or ``kaggle``.
        path: file for the ``csv`` source.
        as_of: snapshot date.

    Returns:
        The snapshot (a CSV path and what it describes).
    """
    return get_source(source, get_settings(), path).fetch(as_of)


@task(name="fetch-snapshot", cache_policy=NO_CACHE, timeout_seconds=3600, **IO_RETRIES)
def fetch_snapshot_task(source: str, path: str | None, as_of: date | None) -> Snapshot:
    """Fetch the snapshot; retried on network errors, never on bad data."""
    snapshot = fetch_snapshot(source, path, as_of)
    size_mb = snapshot.path.stat().st_size / 1e6
    get_run_logger().info(
        "snapshot %s from %s%s: %s (%.1f MB)",
        snapshot.as_of,
        snapshot.source,
        " (DEMO DATA)" if snapshot.is_demo else "",
        snapshot.path,
        size_mb,
    )
    return snapshot
