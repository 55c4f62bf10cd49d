"""Feature store backends behind one interface (:class:`FeatureStore`)."""

from __future__ import annotations

from movie_ratings.errors import ConfigurationError
from movie_ratings.settings import Settings
from movie_ratings.store.base import FeatureStore, SnapshotInfo, StoreCommit, UpsertResult

__all__ = ["FeatureStore", "SnapshotInfo", "StoreCommit", "UpsertResult", "get_feature_store"]


def get_feature_store(settings: Settings) -> FeatureStore:
    """The configured feature store: the embedded Delta Lake store unless Hopsworks is chosen.

    Hopsworks is chosen by ``MOVIE_RATINGS_BACKEND=hopsworks``, or by a configured
    ``HOPSWORKS_API_KEY`` when the backend is not set (see :class:`Settings`).

    The declared return type is what makes the type checker (``make test``) check each
    backend against the :class:`FeatureStore` protocol.

    Raises:
        ConfigurationError: an unknown backend, or Hopsworks settings missing (named).
    """
    if settings.backend == "local":
        from movie_ratings.store.local import LocalFeatureStore

        return LocalFeatureStore(settings.store_dir, lock_timeout=settings.lock_timeout_seconds)
    if settings.backend == "hopsworks":
        from movie_ratings.store.hopsworks import open_hopsworks_store

        return open_hopsworks_store(settings)
    raise ConfigurationError(
        f"unknown feature store backend {settings.backend!r}; use local or hopsworks"
    )
