"""The demo source: the simulated daily feed, cached as one CSV per date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from movie_ratings.sources.base import Snapshot
from movie_ratings.sources.demo.feed import DEFAULT_CHURN, demo_snapshot
from movie_ratings.sources.demo.writer import write_snapshot_csv


class DemoSource:
    """The simulated daily feed, cached as one CSV per date.

    Args:
        cache_dir: folder of the cached snapshot files.
        seed: seed of the simulated world.
        size: number of films on :data:`DEMO_EPOCH`.
        churn: share of films whose popularity and votes move each day.
    """

    name = "demo"

    def __init__(self, cache_dir: Path, *, seed: int = 42, size: int = 20_000,
                 churn: float = DEFAULT_CHURN) -> None:
        self.cache_dir = Path(cache_dir)
        self.seed = seed
        self.size = size
        self.churn = churn

    #: Cached files kept besides the newest one: they can be regenerated at will.
    keep_files = 2

    def _prune(self, keep: Path) -> None:
        """Delete the oldest cached snapshots (by file date), never ``keep``."""
        cached = sorted(self.cache_dir.glob("demo-s*-n*-*.csv"), key=lambda p: p.stem[-10:])
        for old in [p for p in cached if p != keep][: -self.keep_files or None]:
            old.unlink(missing_ok=True)

    def path_for(self, as_of: date) -> Path:
        """The cache file of the snapshot of ``as_of``."""
        return self.cache_dir / f"demo-s{self.seed}-n{self.size}-c{self.churn:g}-{as_of:%Y-%m-%d}.csv"

    def fetch(self, as_of: date | None = None) -> Snapshot:
        """Return the snapshot of ``as_of`` (today in UTC when None), writing it if needed.

        Args:
            as_of: the day of the snapshot.

        Returns:
            The cached or newly written snapshot, marked as demo data.

        Raises:
            ValueError: if ``as_of`` is before :data:`DEMO_EPOCH`.
        """
        day = datetime.now(UTC).date() if as_of is None else as_of
        path = self.path_for(day)
        if not path.exists():
            write_snapshot_csv(
                demo_snapshot(day, seed=self.seed, size=self.size, churn=self.churn), path)
            self._prune(keep=path)
        return Snapshot(
            path=path,
            as_of=day,
            source=self.name,
            version=f"seed={self.seed},size={self.size},churn={self.churn:g}",
            is_demo=True,
        )
