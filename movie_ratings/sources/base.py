"""The interface every snapshot source implements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Snapshot:
    """A snapshot file in the Kaggle schema, ready to be read.

    Attributes:
        path: CSV file with the 28 columns of ``TMDB_all_movies.csv``.
        as_of: the date the snapshot describes (the event time of what it changes).
        source: name of the source that produced it (``demo``, ``csv``, ``kaggle``).
        version: the source's own version of the data (Kaggle dataset version, demo seed).
        is_demo: True when the data is simulated; everything a person sees says so.
    """

    path: Path
    as_of: date
    source: str
    version: str | None = None
    is_demo: bool = False


class Source(Protocol):
    """Something that yields a snapshot in the Kaggle schema for a date."""

    name: str

    def fetch(self, as_of: date | None = None) -> Snapshot:
        """Return the snapshot for ``as_of`` (the latest one when None).

        Raises:
            TransientError: on a failure worth retrying (network, throttling).
            DataError: when the data is missing or broken; never retried.
        """
        ...
