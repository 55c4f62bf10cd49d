"""A local CSV file in the Kaggle schema."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from movie_ratings.errors import DataError
from movie_ratings.sources.base import Snapshot


class CsvSource:
    """Serves one local file as the snapshot of the given date.

    Args:
        path: CSV with the 28 columns of ``TMDB_all_movies.csv``.
    """

    name = "csv"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def fetch(self, as_of: date | None = None) -> Snapshot:
        """Return the file as a snapshot (``as_of`` defaults to today, UTC).

        Raises:
            DataError: the file does not exist.
        """
        if not self.path.is_file():
            raise DataError(f"{self.path}: no such file")
        stat = self.path.stat()
        return Snapshot(
            path=self.path,
            as_of=as_of or datetime.now(UTC).date(),
            source=self.name,
            version=f"size={stat.st_size},mtime={int(stat.st_mtime)}",
        )
