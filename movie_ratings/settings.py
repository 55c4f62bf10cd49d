"""Typed settings, read from the environment (prefix ``MOVIE_RATINGS_``) when asked for.

Nothing is read or created at import time: call :func:`get_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from movie_ratings.schema import DEFAULT_MAX_DELETE_FRACTION, DEFAULT_MAX_REJECT_FRACTION


def _default_home() -> Path:
    """``var/`` in the repository when running from a clone, else ``./var``."""
    repo = Path(__file__).resolve().parents[1]
    base = repo if (repo / "pyproject.toml").exists() else Path.cwd()
    return base / "var"


class Settings(BaseSettings):
    """All configuration of movie-ratings.

    Attributes:
        home: where all state lives: feature store, downloads, rejects, later registry and site.
        backend: ``local`` (embedded Delta Lake store) or ``hopsworks``.
        demo_seed: seed of the demo feed.
        demo_size: films in the demo feed on its first day.
        max_reject_fraction: above this share of quarantined rows a snapshot is refused.
        max_delete_fraction: a snapshot that would delete more than this share of the
            stored films is refused as truncated or broken.
        lock_timeout_seconds: how long a writer waits for another writer of the same store.
    """

    model_config = SettingsConfigDict(
        env_prefix="MOVIE_RATINGS_", env_file=".env", extra="ignore"
    )

    home: Path = Field(default_factory=_default_home)
    backend: Literal["local", "hopsworks"] = "local"
    demo_seed: int = 42
    demo_size: int = Field(default=20_000, ge=10)
    max_reject_fraction: float = Field(default=DEFAULT_MAX_REJECT_FRACTION, gt=0, le=1)
    max_delete_fraction: float = Field(default=DEFAULT_MAX_DELETE_FRACTION, gt=0, le=1)
    lock_timeout_seconds: float = Field(default=600.0, gt=0)

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def downloads_dir(self) -> Path:
        return self.home / "downloads"


def get_settings() -> Settings:
    """Read the settings from the environment (and ``.env``) now."""
    return Settings()
