"""Write feature-group rows to the feature store and create the feature view."""

from __future__ import annotations

import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.errors import DataError
from movie_ratings.schema import MOVIE_GENRES, MOVIE_RATINGS_VIEW, MOVIES
from movie_ratings.settings import get_settings
from movie_ratings.sources import Snapshot
from movie_ratings.store import FeatureStore, SnapshotInfo, UpsertResult, get_feature_store
from movie_ratings.store.upsert import KnownUnchanged
from tasks.policies import IO_RETRIES, STORE_WRITES_TAG


def upsert_snapshot(
    store: FeatureStore,
    groups: dict[str, pa.Table],
    versions: dict[str, int],
    snapshot: Snapshot,
    rejects: pa.Table,
    *,
    require_existing: bool,
    max_delete_fraction: float = 1.0,
    max_descriptive_change_fraction: float = 1.0,
    unchanged: KnownUnchanged | None = None,
) -> UpsertResult:
    """Store a snapshot's feature rows: only new and changed rows are written.

    Args:
        store: the feature store.
        groups: rows per feature group name.
        versions: feature group versions to write.
        snapshot: where the rows came from.
        rejects: quarantined records of this snapshot.
        require_existing: refuse to start an empty store (daily updates need a backfill).
        max_delete_fraction: refuse a snapshot that would delete a larger share of films.
        max_descriptive_change_fraction: refuse a snapshot that changes the descriptive
            fields of a larger share of the stored films.
        unchanged: films of a prefiltered daily left out of the description groups' rows
            (``FeatureTables.unchanged``).

    Returns:
        What was written.

    Raises:
        DataError: ``require_existing`` and the store has no data for these versions, or
            the snapshot would delete or rewrite too many films (``BrokenSourceError``).
    """
    if require_existing:
        latest = store.latest_commit()
        missing = [
            f"{name} v{version}" for name, version in versions.items()
            if latest is None or f"{name}_{version}" not in latest.groups
        ]
        if missing:
            raise DataError(
                f"the feature store has no {', '.join(missing)}: run `movie-ratings backfill` first"
            )
    info = SnapshotInfo(snapshot.as_of, snapshot.source, snapshot.version, snapshot.is_demo)
    return store.upsert_snapshot(
        groups, versions, info, rejects, max_delete_fraction=max_delete_fraction,
        max_descriptive_change_fraction=max_descriptive_change_fraction, unchanged=unchanged,
    )


@task(
    name="upsert-features", cache_policy=NO_CACHE, timeout_seconds=3600,
    tags=[STORE_WRITES_TAG], **IO_RETRIES,
)
def upsert_features_task(
    groups: dict[str, pa.Table],
    versions: dict[str, int],
    snapshot: Snapshot,
    rejects: pa.Table,
    require_existing: bool,
    max_descriptive_change_fraction: float | None = None,
    unchanged: KnownUnchanged | None = None,
) -> UpsertResult:
    """Upsert the rows into the configured store; retried on lock or I/O contention.

    ``max_descriptive_change_fraction`` defaults to the setting of the same name.
    """
    logger = get_run_logger()
    settings = get_settings()
    store = get_feature_store(settings)
    if max_descriptive_change_fraction is None:
        max_descriptive_change_fraction = settings.max_descriptive_change_fraction
    result = upsert_snapshot(
        store, groups, versions, snapshot, rejects, require_existing=require_existing,
        max_delete_fraction=settings.max_delete_fraction,
        max_descriptive_change_fraction=max_descriptive_change_fraction, unchanged=unchanged,
    )
    if result.created_commit:
        logger.info(
            "store commit %s: %s new, %s changed, %s unchanged, %s deleted films; %s",
            result.commit.number, f"{result.new:,}", f"{result.changed:,}",
            f"{result.unchanged:,}", f"{result.deleted:,}",
            ", ".join(f"{g.name} v{g.version}: {g.rows:,} rows"
                      for g in result.commit.groups.values()),
        )
    else:
        logger.info("snapshot %s already stored: nothing changed (store commit %s)",
                    snapshot.as_of, result.commit.number)
    return result


@task(
    name="ensure-feature-view", cache_policy=NO_CACHE, timeout_seconds=300,
    tags=[STORE_WRITES_TAG], **IO_RETRIES,
)
def ensure_feature_view_task(view_version: int, movies_version: int, genres_version: int) -> None:
    """Create the ``movie_ratings`` view over the given group versions if it is missing."""
    store = get_feature_store(get_settings())
    store.ensure_feature_view(
        MOVIE_RATINGS_VIEW.name,
        view_version,
        {MOVIES.name: movies_version, MOVIE_GENRES.name: genres_version},
    )
