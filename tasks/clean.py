"""Read a snapshot CSV and clean it: the Prefect task over :mod:`movie_ratings.cleaning`.

Extract, validation and cleaning are pure functions in that package; this task only runs
them and logs what they kept and quarantined.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.cleaning.parse import ParsedSnapshot, read_snapshot_csv
from movie_ratings.cleaning.snapshot import CleanSnapshot, clean_snapshot, top_reasons
from movie_ratings.settings import get_settings
from movie_ratings.timing import stage


def read_and_clean(
    path: Path, as_of: date, source: str, max_reject_fraction: float,
    on_read: Callable[[ParsedSnapshot], None] | None = None,
) -> CleanSnapshot:
    """Parse the snapshot CSV, then clean it (stages ``read_snapshot_csv``, ``clean_snapshot``).

    Both in one call on purpose: Prefect keeps every task result of a flow run in memory
    until the run ends, and the parsed text table is the largest object of an ingest
    (README, Performance); it never leaves this call.

    Args:
        path: the snapshot CSV.
        as_of: snapshot date.
        source: source name, recorded with the rejects.
        max_reject_fraction: above this share of quarantined records it fails.
        on_read: called with the parsed snapshot before it is cleaned (logging).
    """
    with stage("read_snapshot_csv"):
        parsed = read_snapshot_csv(path)
    if on_read is not None:
        on_read(parsed)
    with stage("clean_snapshot"):
        return clean_snapshot(parsed, as_of=as_of, source=source, max_reject_fraction=max_reject_fraction)


@task(name="clean-snapshot", cache_policy=NO_CACHE, timeout_seconds=1800)
def clean_snapshot_task(
    path: Path, as_of: date, source: str, max_reject_fraction: float | None = None
) -> CleanSnapshot:
    """Read and clean the snapshot CSV (:func:`read_and_clean`); logs rows read, kept and
    quarantined.

    ``max_reject_fraction`` None means the setting ``MOVIE_RATINGS_MAX_REJECT_FRACTION``.
    """
    logger = get_run_logger()
    if max_reject_fraction is None:
        max_reject_fraction = get_settings().max_reject_fraction

    def log_read(parsed: ParsedSnapshot) -> None:
        logger.info(
            "read %s records from %s (%s malformed lines)",
            f"{parsed.table.num_rows:,}", path, len(parsed.bad_lines),
        )

    clean = read_and_clean(path, as_of, source, max_reject_fraction, log_read)
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
