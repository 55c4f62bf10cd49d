"""Snapshot sources: ``demo`` (built-in simulator), ``csv`` (local file), ``kaggle``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from movie_ratings.errors import ConfigurationError
from movie_ratings.settings import Settings
from movie_ratings.sources.base import Snapshot, Source

SourceName = Literal["demo", "csv", "kaggle"]
SOURCE_NAMES: tuple[str, ...] = ("demo", "csv", "kaggle")

#: Builds a source from the settings and the ``path`` argument (used by ``csv`` only).
SourceFactory = Callable[[Settings, Path | None], Source]

__all__ = [
    "SOURCE_FACTORIES", "SOURCE_NAMES", "Snapshot", "Source", "SourceFactory", "SourceName",
    "get_source",
]


def _demo(settings: Settings, path: Path | None) -> Source:
    from movie_ratings.sources.demo import DemoSource

    return DemoSource(settings.downloads_dir / "demo", seed=settings.demo_seed, size=settings.demo_size,
                      churn=settings.demo_churn)


def _csv(settings: Settings, path: Path | None) -> Source:
    if path is None:
        raise ConfigurationError("the csv source needs a file: pass --path FILE")
    from movie_ratings.sources.csv import CsvSource

    return CsvSource(path)


def _kaggle(settings: Settings, path: Path | None) -> Source:
    from movie_ratings.sources.kaggle import KaggleSource

    return KaggleSource(settings.downloads_dir)


#: The one place a source name is turned into a source. It is also the seam for sources
#: this module does not know: the fault-injection tests replace an entry (with
#: ``monkeypatch.setitem``) by a source that fails the way a network or a feed does.
SOURCE_FACTORIES: dict[str, SourceFactory] = {"demo": _demo, "csv": _csv, "kaggle": _kaggle}


def get_source(name: str, settings: Settings, path: str | Path | None = None) -> Source:
    """Build the named source.

    Args:
        name: ``demo``, ``csv`` or ``kaggle`` (a key of :data:`SOURCE_FACTORIES`).
        settings: where downloads are cached, demo seed and size.
        path: the file, for ``csv`` only.

    Returns:
        A source whose ``fetch(as_of)`` yields a snapshot.

    Raises:
        ConfigurationError: unknown name, or ``csv`` without a path.
    """
    factory = SOURCE_FACTORIES.get(name)
    if factory is None:
        raise ConfigurationError(
            f"unknown source {name!r}; choose one of {', '.join(SOURCE_NAMES)}"
        )
    return factory(settings, None if path is None else Path(path))
