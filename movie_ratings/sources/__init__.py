"""Snapshot sources: ``demo`` (built-in simulator), ``csv`` (local file), ``kaggle``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from movie_ratings.errors import ConfigurationError
from movie_ratings.settings import Settings
from movie_ratings.sources.base import Snapshot, Source

SourceName = Literal["demo", "csv", "kaggle"]
SOURCE_NAMES: tuple[str, ...] = ("demo", "csv", "kaggle")

__all__ = ["SOURCE_NAMES", "Snapshot", "Source", "SourceName", "get_source"]


def get_source(name: str, settings: Settings, path: str | Path | None = None) -> Source:
    """Build the named source.

    Args:
        name: ``demo``, ``csv`` or ``kaggle``.
        settings: where downloads are cached, demo seed and size.
        path: the file, for ``csv`` only.

    Returns:
        A source whose ``fetch(as_of)`` yields a snapshot.

    Raises:
        ConfigurationError: unknown name, or ``csv`` without a path.
    """
    if name == "demo":
        from movie_ratings.sources.demo import DemoSource

        return DemoSource(
            settings.downloads_dir / "demo", seed=settings.demo_seed, size=settings.demo_size
        )
    if name == "csv":
        if path is None:
            raise ConfigurationError("the csv source needs a file: pass --path FILE")
        from movie_ratings.sources.csv import CsvSource

        return CsvSource(Path(path))
    if name == "kaggle":
        from movie_ratings.sources.kaggle import KaggleSource

        return KaggleSource(settings.downloads_dir)
    raise ConfigurationError(f"unknown source {name!r}; choose one of {', '.join(SOURCE_NAMES)}")
