"""Two daily runs of the same day on the same store at the same time, in two processes.

Run A is held inside its store write (tables written, lock held, no commit yet) while run
B starts and reaches the writer lock. A reader meanwhile sees the previous commit. Then A
is let go. B must wait (or retry after giving up on the lock), find that A already stored
the day, and change nothing: the store equals one clean run, without duplicate rows.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from store_checks import (
    DAY1,
    CleanRuns,
    assert_same_state,
    log_duplicates,
    start_driver,
    store_state,
)

pytestmark = [pytest.mark.usefixtures("prefect_test_server"), pytest.mark.slow]

SUMMARY = re.compile(
    r"daily-features (?P<day>\S+) \[DEMO DATA\]: read [\d,]+, rejected [\d,]+, new (?P<new>[\d,]+), "
    r"changed (?P<changed>[\d,]+), unchanged [\d,]+, deleted (?P<deleted>[\d,]+) -> store commit (?P<commit>\d+)"
)


def _summary(text: str) -> dict[str, int]:
    found = SUMMARY.search(text)
    assert found, text[-3000:]
    return {k: int(v.replace(",", "")) for k, v in found.groupdict().items() if k != "day"}


@pytest.mark.parametrize(
    ("lock_timeout", "loser_point"),
    [
        ("600", "waits"),  # the loser waits on the lock
        ("1", "locked-out"),  # the loser gives up after 1 s; Prefect retries the task
    ],
)
def test_two_daily_runs_at_once_equal_one_run(
    lock_timeout: str,
    loser_point: str,
    backfilled: Path,
    store_root: Path,
    tmp_path: Path,
    prefect_test_server: str,
    clean_runs: CleanRuns,
) -> None:
    after_backfill = store_state(store_root)
    args = ["daily", "--source", "demo", "--as-of", DAY1.isoformat()]

    # Both start together; B is held just before the lock until A is inside its write.
    first = start_driver(tmp_path, prefect_test_server, args, hold=["after-rejects"], name="a")
    second = start_driver(
        tmp_path, prefect_test_server, args, hold=["lock-wait"], mark=["locked-out"], name="b",
        env={"MOVIE_RATINGS_LOCK_TIMEOUT_SECONDS": lock_timeout},
    )
    first.wait_at("after-rejects")
    second.wait_at("lock-wait")
    second.release("lock-wait")
    if loser_point == "locked-out":
        second.wait_at("locked-out")
    time.sleep(0.5)
    assert second.proc.poll() is None, second.output()[-3000:]  # blocked, not failed
    # A reader during A's write sees the previous commit, whole.
    assert_same_state(store_state(store_root), after_backfill)

    first.release("after-rejects")
    assert first.finish() == 0, first.output()[-3000:]
    assert second.finish() == 0, second.output()[-3000:]

    winner, loser = _summary(first.output()), _summary(second.output())
    assert winner["commit"] == 2 and winner["new"] + winner["changed"] > 0
    assert loser == {"new": 0, "changed": 0, "deleted": 0, "commit": 2}  # nothing left to do
    if loser_point == "locked-out":  # it did give up once, and its retry succeeded
        assert (second.signals / "at-locked-out").exists()
        assert (second.signals / "at-lock-wait-2").exists()
    assert_same_state(store_state(store_root), clean_runs.states["daily"])
    assert log_duplicates(store_root) == {"movie_genres_1": 0, "movie_signals_1": 0, "movies_1": 0}
