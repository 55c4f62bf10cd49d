"""The demo feed's exact bytes: a refactoring of the simulator must not change its output.

The hashes pin the CSV written for a few (seed, size, day, churn) combinations with the
pinned numpy and pyarrow. A deliberate change of the simulated world updates them (and
invalidates every cached snapshot, see ``bench/snapshots.py``); an accidental one fails here.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from movie_ratings.sources.demo import DEMO_EPOCH, demo_snapshot, write_snapshot_csv

#: (seed, size, days after the epoch, churn) -> sha256 of the CSV.
GOLDEN = {
    (42, 300, 0, 0.3): "a1e71016e5c51025b74642c8d714b331b4da164a1977743ea3bc86d9c0dc159a",
    (42, 300, 45, 0.3): "60348a1d451e10331b4d53381e19acabc5895837f03a6591d0c7f6b1d983afcf",
    (7, 2000, 12, 0.0): "f5aeb504e577af9c84f1c0cda45b176bdd36fab1e1c2f5bb2f4d8146a70baa63",
    (0, 1500, 90, 1.0): "d61747f8e20293ffdd5ad23fc90f0590d4631c08f2860bea096be37b17c640bd",
    (3, 5000, 400, 0.3): "3bf85d539162f4fec3f3754cf765b73f014f0f6b3cfc66746a3c32a1c20f0844",
}


@pytest.mark.parametrize(("seed", "size", "days", "churn"), list(GOLDEN))
def test_demo_csv_bytes_are_unchanged(
    tmp_path: Path, seed: int, size: int, days: int, churn: float
) -> None:
    table = demo_snapshot(DEMO_EPOCH + timedelta(days=days), seed=seed, size=size, churn=churn)
    path = write_snapshot_csv(table, tmp_path / "snapshot.csv")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == GOLDEN[(seed, size, days, churn)]
