"""Model registry backends behind one interface (:class:`ModelRegistry`)."""

from __future__ import annotations

from movie_ratings.errors import ConfigurationError
from movie_ratings.registry.base import MODEL_NAME, ModelRegistry, ModelVersion
from movie_ratings.settings import Settings

__all__ = ["MODEL_NAME", "ModelRegistry", "ModelVersion", "get_model_registry"]


def get_model_registry(settings: Settings) -> ModelRegistry:
    """The configured model registry: a directory under MOVIE_RATINGS_HOME unless Hopsworks.

    The declared return type is what makes the type checker (``make test``) check each
    backend against the :class:`ModelRegistry` protocol.

    Raises:
        ConfigurationError: an unknown backend, or Hopsworks settings missing (named).
    """
    if settings.backend == "local":
        from movie_ratings.registry.local import LocalModelRegistry

        return LocalModelRegistry(settings.registry_dir)
    if settings.backend == "hopsworks":
        from movie_ratings.registry.hopsworks import open_hopsworks_registry

        return open_hopsworks_registry(settings)
    raise ConfigurationError(
        f"unknown model registry backend {settings.backend!r}; use local or hopsworks"
    )
