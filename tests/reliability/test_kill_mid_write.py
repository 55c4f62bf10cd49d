"""A run killed with SIGKILL in the middle of its store write, then run again.

A real ``movie-ratings`` process (under ``fault_driver.py``) is stopped at a chosen point
of the store write, after some Delta tables were written and before the store commit
record exists, and killed with SIGKILL: no exception handler, no ``finally``, no exit
handler runs. The store must then read back exactly as at its previous commit (every
commit's rows and rejects equal), also after a second run dies at another point on top
of the first one's leftovers; the same command run again must complete and leave the
store exactly as a run that was never interrupted.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from store_checks import (
    DAY0,
    DAY1,
    CleanRuns,
    assert_same_state,
    log_duplicates,
    start_driver,
    store_state,
    table_versions,
)

from movie_ratings.cli import main as cli
from movie_ratings.errors import DataError
from movie_ratings.store.local import LocalFeatureStore

pytestmark = [pytest.mark.usefixtures("prefect_test_server"), pytest.mark.slow]


def _uncommitted(root: Path, point: str) -> None:
    """Check the kill happens mid-write: something was written that no commit names."""
    latest = LocalFeatureStore(root).latest_commit()
    committed = {key: g.table_version for key, g in (latest.groups.items() if latest else ())}
    if latest is not None and latest.rejects_table_version is not None:
        committed["rejects"] = latest.rejects_table_version
    versions = table_versions(root)
    written = {name for name, v in versions.items() if v > committed.get(name, -1)}
    assert "movies_1" in written, (point, versions, committed)
    if point in ("after-rejects", "commit-unlinked"):
        assert written == {"movies_1", "movie_genres_1", "movie_signals_1", "rejects"}, (versions, committed)
    if point == "commit-unlinked":  # the record is on disk, just not linked into place
        assert list((root / "_commits").glob(".*.tmp"))


@pytest.mark.parametrize(
    ("command", "points"),
    [
        # the first write ever: new tables and no commit; then all tables and an unlinked record
        ("backfill", ["after-table:movies", "commit-unlinked"]),
        # one group merged, the other not; then every table written and no commit record
        ("daily", ["after-table:movies", "after-rejects"]),
    ],
)
def test_killed_runs_leave_the_previous_commit_and_the_next_run_completes(
    command: str,
    points: list[str],
    request: pytest.FixtureRequest,
    store_root: Path,
    tmp_path: Path,
    prefect_test_server: str,
    clean_runs: CleanRuns,
) -> None:
    """Two runs killed one after the other at different points, then a third that completes."""
    day = DAY0 if command == "backfill" else DAY1
    args = [command, "--source", "demo", "--as-of", day.isoformat()]
    request.getfixturevalue("home")
    if command == "daily":
        request.getfixturevalue("backfilled")
    before = store_state(store_root) if store_root.exists() else None

    # Both runs start at once. The second is held before the writer lock until the first
    # is inside its write; it then waits on the lock until the first is killed (the kernel
    # releases a dead process's lock) and begins by rolling the leftovers back.
    first, second = (
        start_driver(tmp_path, prefect_test_server, args, hold=[point, "lock-wait"], name=f"run{i}")
        for i, point in enumerate(points)
    )
    first.release("lock-wait")
    for run, point in ((first, points[0]), (second, points[1])):
        run.wait_at(point)
        if run is first:
            second.wait_at("lock-wait")
            second.release("lock-wait")
        _uncommitted(store_root, point)
        assert run.kill() == -signal.SIGKILL

        if before is None:  # nothing was ever committed: the store reads as empty
            store = LocalFeatureStore(store_root)
            assert store.latest_commit() is None and store.status()["commit"] is None
            with pytest.raises(DataError, match="empty"):
                store.read_group("movies", 1)
        else:
            assert_same_state(store_state(store_root), before)

    assert cli(args) == 0  # rolls the dead runs' writes back and completes

    assert_same_state(store_state(store_root), clean_runs.states[command])
    assert log_duplicates(store_root) == {"movie_genres_1": 0, "movie_signals_1": 0, "movies_1": 0}
