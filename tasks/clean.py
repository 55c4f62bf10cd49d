"""Read a snapshot CSV and clean it: the Prefect task over :mod:`movie_ratings.cleaning`.

Extract, validation and cleaning are pure functions in that package; this task only runs
them and logs what they kept and quarantined.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.cleaning.parse import read_snapshot_csv
from movie_ratings.cleaning.snapshot import CleanSnapshot, clean_snapshot, top_reasons
from movie_ratings.settings import get_settings


@task(name="clean-snapshot", cache_policy=NO_CACHE, timeout_seconds=1800)
def clean_snapshot_task(
    path: Path, as_of: date, source: str, max_reject_fraction: float | None = None
) -> CleanSnapshot:
    """Read and clean the snapshot CSV; logs rows read, kept and quarantined.

    ``max_reject_fraction`` None means the setting ``MOVIE_RATINGS_MAX_REJECT_FRACTION``.

    One task for both steps on purpose: Prefect keeps every task result of a flow run in
    memory until the run ends, and the parsed text table is the largest object of an
    ingest (README, Performance); it never needs to leave this task.
    """
    logger = get_run_logger()
    if max_reject_fraction is None:
        max_reject_fraction = get_settings().max_reject_fraction
    parsed = read_snapshot_csv(path)
    logger.info(
        "read %s records from %s (%s malformed lines)",
        f"{parsed.table.num_rows:,}", path, len(parsed.bad_lines),
    )
    clean = clean_snapshot(
        parsed, as_of=as_of, source=source, max_reject_fraction=max_reject_fraction
    )
    del parsed
    logger.info(
        "kept %s of %s records; quarantined %s (%s duplicate ids)",
        f"{clean.table.num_rows:,}",
        f"{clean.rows_read:,}",
        f"{clean.rejected_rows:,}",
        f"{clean.duplicates:,}",
    )
    if clean.rejects.num_rows:
        logger.warning("quarantine reasons: %s", top_reasons(clean.rejects, 5))
    for warning in clean.warnings:
        logger.warning(warning)
    return clean
