"""Typed settings, read from the environment (prefix ``MOVIE_RATINGS_``) when asked for.

Nothing is read or created at import time: call :func:`get_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from movie_ratings.schema import (
    DEFAULT_MAX_DELETE_FRACTION,
    DEFAULT_MAX_DESCRIPTIVE_CHANGE_FRACTION,
    DEFAULT_MAX_REJECT_FRACTION,
)


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
        demo_churn: share of demo films whose popularity and votes move each day (0-1).
        max_reject_fraction: above this share of quarantined rows a snapshot is refused.
        max_delete_fraction: a snapshot that would delete more than this share of the
            stored films is refused as truncated or broken.
        max_descriptive_change_fraction: a daily snapshot that changes the title, release
            date, people or genres of more than this share of the stored films is refused
            as broken (only once the store holds enough films for a share to mean much).
        lock_timeout_seconds: how long a writer waits for another writer of the same store.
        hopsworks_api_key: Hopsworks API key (``HOPSWORKS_API_KEY``); never logged or shown.
        hopsworks_api_key_secret: name of a Prefect Secret block holding the API key, read
            when ``hopsworks_api_key`` is unset.
        hopsworks_project: Hopsworks project name (``HOPSWORKS_PROJECT``).
        hopsworks_host: Hopsworks host name (``HOPSWORKS_HOST``), without scheme.
        hopsworks_port: Hopsworks port (``HOPSWORKS_PORT``).
        hopsworks_hostname_verification: verify the TLS certificate's host name
            (``HOPSWORKS_HOSTNAME_VERIFICATION``, the SDK's own variable); on unless turned off.
        hopsworks_trust_store_path: CA bundle for a self-signed Hopsworks certificate.
        hopsworks_cache_dir: where downloaded model versions are kept (default under home).
        dask_address: run training's submitted tasks on a Dask cluster (the ``dask`` extra):
            a scheduler address such as ``tcp://10.0.0.5:8786``, or ``local`` for a local
            cluster of ``dask_local_workers`` worker processes; unset, they run in threads here.
        dask_local_workers: workers of the ``local`` cluster.

    The backend is Hopsworks when ``MOVIE_RATINGS_BACKEND=hopsworks``, or when it is not set
    and a Hopsworks API key (or its Secret block) is configured.
    """

    model_config = SettingsConfigDict(
        env_prefix="MOVIE_RATINGS_", env_file=".env", extra="ignore"
    )

    home: Path = Field(default_factory=_default_home)
    backend: Literal["local", "hopsworks"] = "local"
    # The demo source's own defaults, repeated so settings need not import the simulator
    # (test_demo_source compares them).
    demo_seed: int = 42
    demo_size: int = Field(default=20_000, ge=10)
    demo_churn: float = Field(default=0.30, ge=0, le=1)
    max_reject_fraction: float = Field(default=DEFAULT_MAX_REJECT_FRACTION, gt=0, le=1)
    max_delete_fraction: float = Field(default=DEFAULT_MAX_DELETE_FRACTION, gt=0, le=1)
    max_descriptive_change_fraction: float = Field(
        default=DEFAULT_MAX_DESCRIPTIVE_CHANGE_FRACTION, gt=0, le=1
    )
    lock_timeout_seconds: float = Field(default=600.0, gt=0)

    # Hopsworks: the SDK's own variable names, so one environment configures both.
    hopsworks_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("HOPSWORKS_API_KEY", "MOVIE_RATINGS_HOPSWORKS_API_KEY"),
    )
    hopsworks_api_key_secret: str | None = None
    hopsworks_project: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HOPSWORKS_PROJECT", "MOVIE_RATINGS_HOPSWORKS_PROJECT"),
    )
    hopsworks_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("HOPSWORKS_HOST", "MOVIE_RATINGS_HOPSWORKS_HOST"),
    )
    hopsworks_port: int = Field(
        default=443, gt=0, lt=65536,
        validation_alias=AliasChoices("HOPSWORKS_PORT", "MOVIE_RATINGS_HOPSWORKS_PORT"),
    )
    hopsworks_hostname_verification: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "HOPSWORKS_HOSTNAME_VERIFICATION", "MOVIE_RATINGS_HOPSWORKS_HOSTNAME_VERIFICATION"
        ),
    )
    hopsworks_trust_store_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "HOPSWORKS_TRUST_STORE_PATH", "MOVIE_RATINGS_HOPSWORKS_TRUST_STORE_PATH"
        ),
    )
    hopsworks_cache_dir: Path | None = None
    dask_address: str | None = None
    dask_local_workers: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _backend_from_credentials(self) -> Settings:
        """A configured Hopsworks key selects Hopsworks unless the backend is set explicitly."""
        has_key = self.hopsworks_api_key is not None or self.hopsworks_api_key_secret
        if "backend" not in self.model_fields_set and has_key:
            self.backend = "hopsworks"
        return self

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def downloads_dir(self) -> Path:
        return self.home / "downloads"

    @property
    def registry_dir(self) -> Path:
        return self.home / "registry"

    @property
    def site_dir(self) -> Path:
        return self.home / "site"

    @property
    def model_cache_dir(self) -> Path:
        """Where model versions downloaded from a remote registry are kept."""
        return self.hopsworks_cache_dir or self.home / "model-cache"


def get_settings() -> Settings:
    """Read the settings from the environment (and ``.env``) now."""
    return Settings()
