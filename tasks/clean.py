"""Read a snapshot CSV and clean it: the Prefect task over :mod:`movie_ratings.cleaning`.

Extract, validation and cleaning are pure functions in that package; this task only runs
them and logs what they kept and quarantined.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.cleaning.parse import ParsedSnapshot, read_snapshot_csv
from movie_ratings.cleaning.prefilter import StoredHashes, clean_daily, with_source_hash
from movie_ratings.cleaning.snapshot import CleanSnapshot, clean_snapshot, top_reasons
from movie_ratings.schema import MOVIES, PRIMARY_KEY, SOURCE_HASH
from movie_ratings.settings import get_settings
from movie_ratings.store import FeatureStore, get_feature_store
from movie_ratings.store.base import group_key
from movie_ratings.timing import stage


def stored_source_hashes(store: FeatureStore, movies_version: int) -> StoredHashes | None:
    """The live films of ``movies``, their stored source hashes and the commit they were
    read at; None when the store has no such group or no such column."""
    latest = store.latest_commit()
    if latest is None or group_key(MOVIES.name, movies_version) not in latest.groups:
        return None
    try:
        rows = store.read_group(MOVIES.name, movies_version, commit=latest.number,
                                columns=[PRIMARY_KEY, SOURCE_HASH])
    except (KeyError, pa.ArrowInvalid):  # a store written before source hashes
        return None
    ids = rows[PRIMARY_KEY].to_numpy()
    hashes = pc.fill_null(rows[SOURCE_HASH], -1).to_numpy()
    order = np.argsort(ids, kind="stable")
    return StoredHashes(ids[order], hashes[order], latest.number)


def start_reading_source_hashes(store: FeatureStore, movies_version: int
                                ) -> Callable[[], StoredHashes | None]:
    """Read the stored source hashes on a thread of their own (while the CSV is parsed:
    the parser leaves part of the cores idle); the returned callable waits for them."""
    pool = ThreadPoolExecutor(1)
    reading = pool.submit(stored_source_hashes, store, movies_version)
    pool.shutdown(wait=False)
    return reading.result


def clean_for_store(
    parsed: ParsedSnapshot,
    *,
    as_of: date,
    source: str,
    max_reject_fraction: float,
    store: FeatureStore | None = None,
    movies_version: int = 1,
    stored: Callable[[], StoredHashes | None] | None = None,
) -> CleanSnapshot:
    """Clean a parsed snapshot for the ingest chain, with each record's source hash.

    With ``store`` or ``stored`` (a daily: :func:`start_reading_source_hashes`), records
    whose description is stored already are only checked and cleaned for their signals
    (:func:`movie_ratings.cleaning.prefilter.clean_daily`); the store then gets exactly the
    rows the full cleaning would give it.
    """
    if stored is None and store is not None:
        stored = start_reading_source_hashes(store, movies_version)
    if stored is None:
        return clean_snapshot(with_source_hash(parsed, as_of), as_of=as_of, source=source,
                              max_reject_fraction=max_reject_fraction)
    return clean_daily(parsed, as_of=as_of, source=source, max_reject_fraction=max_reject_fraction,
                       stored=stored)


def read_and_clean(
    path: Path, as_of: date, source: str, max_reject_fraction: float,
    on_read: Callable[[ParsedSnapshot], None] | None = None,
    stored: Callable[[], StoredHashes | None] | None = None,
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
        stored: a daily's stored source hashes (:func:`start_reading_source_hashes`,
            started before the parse so they are read meanwhile); None cleans every record.
    """
    with stage("read_snapshot_csv"):
        parsed = read_snapshot_csv(path)
    if on_read is not None:
        on_read(parsed)
    with stage("clean_snapshot"):
        return clean_for_store(parsed, as_of=as_of, source=source,
                               max_reject_fraction=max_reject_fraction, stored=stored)


@task(name="clean-snapshot", cache_policy=NO_CACHE, timeout_seconds=1800)
def clean_snapshot_task(
    path: Path, as_of: date, source: str, max_reject_fraction: float | None = None,
    prefilter_movies_version: int | None = None,
) -> CleanSnapshot:
    """Read and clean the snapshot CSV (:func:`read_and_clean`); logs rows read, kept and
    quarantined.

    ``max_reject_fraction`` None means the setting ``MOVIE_RATINGS_MAX_REJECT_FRACTION``.
    ``prefilter_movies_version`` (a daily): compare the records' source hashes with those
    of this ``movies`` version in the configured store and clean in full only the records
    whose description changed (:func:`clean_for_store`).
    """
    logger = get_run_logger()
    settings = get_settings()
    if max_reject_fraction is None:
        max_reject_fraction = settings.max_reject_fraction
    stored = None
    if prefilter_movies_version is not None:
        stored = start_reading_source_hashes(get_feature_store(settings), prefilter_movies_version)

    def log_read(parsed: ParsedSnapshot) -> None:
        logger.info(
            "read %s records from %s (%s malformed lines)",
            f"{parsed.table.num_rows:,}", path, len(parsed.bad_lines),
        )

    clean = read_and_clean(path, as_of, source, max_reject_fraction, log_read, stored)
    if clean.prefiltered is not None:
        logger.info("%s records have the stored description: only their signals were cleaned",
                    f"{len(clean.prefiltered.ids):,}")
    logger.info(
        "kept %s of %s records; quarantined %s (%s duplicate ids)",
        f"{clean.rows_kept:,}",
        f"{clean.rows_read:,}",
        f"{clean.rejected_rows:,}",
        f"{clean.duplicates:,}",
    )
    if clean.rejects.num_rows:
        logger.warning("quarantine reasons: %s", top_reasons(clean.rejects, 5))
    for warning in clean.warnings:
        logger.warning(warning)
    return clean
