"""Feature store backends behind one interface (:class:`FeatureStore`)."""

from __future__ import annotations

from movie_ratings.errors import ConfigurationError
from movie_ratings.settings import Settings
from movie_ratings.store.base import FeatureStore, SnapshotInfo, StoreCommit, UpsertResult

__all__ = ["FeatureStore", "SnapshotInfo", "StoreCommit", "UpsertResult", "get_feature_store"]


def get_feature_store(settings: Settings) -> FeatureStore:
    """The configured feature store: the embedded Delta Lake store unless Hopsworks is chosen.

    Raises:
        ConfigurationError: a backend that is not available in this build.
    """
    if settings.backend == "local":
        from movie_ratings.store.local import LocalFeatureStore

        return LocalFeatureStore(settings.store_dir, lock_timeout=settings.lock_timeout_seconds)
    raise ConfigurationError(
        f"feature store backend {settings.backend!r} is not available yet; "
        "unset MOVIE_RATINGS_BACKEND to use the embedded local store"
    )
