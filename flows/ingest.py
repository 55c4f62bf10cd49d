"""The ingest chain shared by ``backfill`` and ``daily-features``: fetch, read, clean, build, upsert.

:func:`ingest_chain` is the chain, defined once over steps (:class:`IngestSteps`): the flows
run it with their Prefect tasks (:class:`IngestTasks`), the benchmark with timed plain calls
of the same pure functions (``bench/steps.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from prefect import get_run_logger

from movie_ratings.cleaning.snapshot import CleanSnapshot, Prefiltered
from movie_ratings.schema import MOVIE_GENRES, MOVIES
from movie_ratings.sources import Snapshot
from movie_ratings.store import UpsertResult
from movie_ratings.store.upsert import KnownUnchanged
from movie_ratings.summary import ingest_line
from tasks.clean import clean_snapshot_task
from tasks.download import fetch_snapshot_task
from tasks.features import FeatureTables, build_features_task
from tasks.insert import ensure_feature_view_task, upsert_features_task


class IngestSteps(Protocol):
    """The steps of :func:`ingest_chain`; ``None`` limits mean the configured setting."""

    def fetch(self, source: str, path: str | None, as_of: date | None) -> Snapshot: ...

    def clean(self, path: Path, as_of: date, source: str, max_reject_fraction: float | None,
              movies_version: int | None) -> CleanSnapshot: ...

    def build_features(self, clean: pa.Table, as_of: date,
                       prefiltered: Prefiltered | None) -> FeatureTables: ...

    def upsert(self, groups: dict[str, pa.Table], versions: dict[str, int], snapshot: Snapshot,
               rejects: pa.Table, require_existing: bool,
               max_descriptive_change_fraction: float | None,
               unchanged: KnownUnchanged | None) -> UpsertResult: ...

    def ensure_view(self, view_version: int, movies_version: int, genres_version: int) -> None: ...


@dataclass(frozen=True)
class IngestRun:
    """What one ingest read, kept and wrote."""

    snapshot: Snapshot
    clean: CleanSnapshot
    result: UpsertResult


def ingest_chain(
    steps: IngestSteps,
    *,
    source: str,
    path: str | None,
    as_of: date | None,
    movies_version: int,
    genres_version: int,
    max_reject_fraction: float | None,
    require_existing: bool,
    max_descriptive_change_fraction: float | None = None,
    view_version: int | None = None,
) -> IngestRun:
    """Fetch a snapshot, clean it, build its features, upsert them and, with
    ``view_version``, create the feature view over the groups if it is missing.

    The cleaned snapshot and the features stay alive until the chain ends, as a flow run
    keeps every task result: that decides the peak memory the benchmark measures.
    """
    snapshot = steps.fetch(source, path, as_of)
    # a daily compares raw records with the stored films' source hashes (``movies_version``)
    clean = steps.clean(snapshot.path, snapshot.as_of, snapshot.source, max_reject_fraction,
                        movies_version if require_existing else None)
    features = steps.build_features(clean.table, snapshot.as_of, clean.prefiltered)
    versions = {MOVIES.name: movies_version, MOVIE_GENRES.name: genres_version}
    result = steps.upsert(features.tables, versions, snapshot, clean.rejects, require_existing,
                          max_descriptive_change_fraction, features.unchanged)
    if view_version is not None:
        steps.ensure_view(view_version, movies_version, genres_version)
    return IngestRun(snapshot, clean, result)


class IngestTasks:
    """:class:`IngestSteps` as the flows run them: each step is its Prefect task."""

    def fetch(self, source: str, path: str | None, as_of: date | None) -> Snapshot:
        return fetch_snapshot_task(source, path, as_of)

    def clean(self, path: Path, as_of: date, source: str, max_reject_fraction: float | None,
              movies_version: int | None) -> CleanSnapshot:
        return clean_snapshot_task(path, as_of, source, max_reject_fraction, movies_version)

    def build_features(self, clean: pa.Table, as_of: date,
                       prefiltered: Prefiltered | None) -> FeatureTables:
        return build_features_task(clean, as_of, prefiltered)

    def upsert(self, groups: dict[str, pa.Table], versions: dict[str, int], snapshot: Snapshot,
               rejects: pa.Table, require_existing: bool,
               max_descriptive_change_fraction: float | None,
               unchanged: KnownUnchanged | None) -> UpsertResult:
        return upsert_features_task(groups, versions, snapshot, rejects, require_existing,
                                    max_descriptive_change_fraction, unchanged)

    def ensure_view(self, view_version: int, movies_version: int, genres_version: int) -> None:
        ensure_feature_view_task(view_version, movies_version, genres_version)


def ingest_summary(flow_label: str, run: IngestRun) -> dict[str, Any]:
    """Log an ingest's one-line summary and return the summary (JSON-ready).

    Args:
        flow_label: the flow's name in the summary.
        run: what :func:`ingest_chain` did.
    """
    snapshot, clean, result = run.snapshot, run.clean, run.result
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
