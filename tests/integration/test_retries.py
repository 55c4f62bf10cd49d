"""Fault injection: what is retried, what is not, and what a failed run leaves behind.

Failing sources are put in place through the one seam for sources,
``movie_ratings.sources.SOURCE_FACTORIES`` (the ``demo`` entry is replaced, so the flows
run unchanged with ``source="demo"``). The retry policy is the production one
(``tasks.policies.IO_RETRIES``: 3 retries, transient errors only); only the delay between
attempts is shortened, on the task object, so the tests do not sleep for seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.sorting import LogSort
from prefect.logging.handlers import APILogHandler

from flows.backfill import backfill
from flows.daily_features import daily_features
from movie_ratings import sources
from movie_ratings.errors import DataError
from movie_ratings.schema import KAGGLE_DATASET, KAGGLE_FILE, RAW_COLUMN_NAMES
from movie_ratings.settings import Settings
from movie_ratings.sources.base import Snapshot
from movie_ratings.sources.demo import DemoSource, demo_snapshot, write_snapshot_csv
from movie_ratings.sources.kaggle import DatasetVersion, KaggleSource
from tasks.download import fetch_snapshot_task
from tasks.policies import IO_RETRIES

DAY0 = date(2026, 3, 1)
DAY1 = DAY0 + timedelta(days=1)
RETRIES = IO_RETRIES["retries"]


@dataclass
class FaultySource:
    """Fails ``failures`` times with ``error``, then serves the demo feed.

    ``bad_file`` makes it serve a file that is not a snapshot instead (a feed gone wrong).
    """

    demo: DemoSource
    failures: int
    error: Exception
    bad_file: Path | None = None
    name: str = "demo"
    attempts: list[datetime] = field(default_factory=list)

    def fetch(self, as_of: date | None = None) -> Snapshot:
        self.attempts.append(datetime.now(UTC))
        if len(self.attempts) <= self.failures:
            raise self.error
        if self.bad_file is not None:
            return Snapshot(path=self.bad_file, as_of=as_of or DAY1, source="demo", is_demo=True)
        return self.demo.fetch(as_of)


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch):
    """Put a source in place of ``demo``; retries wait 0.1 s instead of 2-8 s."""
    monkeypatch.setattr(fetch_snapshot_task, "retry_delay_seconds", [0.1])

    def put(failures: int, error: Exception, bad_file: Path | None = None) -> FaultySource:
        def factory(settings: Settings, path: Path | None) -> FaultySource:
            demo = DemoSource(settings.downloads_dir / "demo", seed=settings.demo_seed,
                              size=settings.demo_size)
            faulty.demo = demo
            return faulty

        faulty = FaultySource(demo=None, failures=failures, error=error, bad_file=bad_file)  # type: ignore[arg-type]
        monkeypatch.setitem(sources.SOURCE_FACTORIES, "demo", factory)
        return faulty

    return put


def _run_record(state) -> tuple[list[str], dict[str, int]]:
    """The flow run's log messages (as the UI shows them) and each task's run count."""
    APILogHandler().flush()
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), sort=LogSort.TIMESTAMP_ASC
        )
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return [log.message for log in logs], {t.task_key.rsplit("-", 1)[0]: t.run_count for t in task_runs}


def test_two_connection_errors_then_success_completes_after_two_logged_retries(
    home: Path, inject
) -> None:
    source = inject(2, ConnectionError("connection reset by the Kaggle API"))

    state = backfill(source="demo", as_of=DAY0, return_state=True)

    assert state.is_completed(), state.message
    assert len(source.attempts) == 3
    messages, runs = _run_record(state)
    retries = [m for m in messages if "Retry" in m and "will start" in m]
    assert len(retries) == 2
    for number, message in enumerate(retries, start=1):
        assert f"Retry {number}/{RETRIES}" in message
        assert "ConnectionError('connection reset by the Kaggle API')" in message  # the cause
    assert runs["fetch_snapshot_task"] == 3
    assert state.result()["new"] > 0


def test_a_source_that_never_answers_fails_clearly_and_leaves_the_store_as_it_was(
    home: Path, inject, tree
) -> None:
    backfill(source="demo", as_of=DAY0)
    before = tree(home / "store")
    source = inject(99, ConnectionError("api.kaggle.com: connection refused"))

    state = daily_features(source="demo", as_of=DAY1, return_state=True)

    assert state.is_failed()
    assert "ConnectionError: api.kaggle.com: connection refused" in state.message
    assert len(source.attempts) == 1 + RETRIES
    messages, runs = _run_record(state)
    assert sum("will start" in m for m in messages) == RETRIES
    assert any("Retries are exhausted" in m for m in messages)
    assert runs == {"fetch_snapshot_task": 1 + RETRIES}  # nothing ran after the fetch
    assert tree(home / "store") == before
    # Attempts were spread out by the (shortened) backoff, not fired back to back.
    gaps = [(b - a).total_seconds() for a, b in zip(source.attempts, source.attempts[1:], strict=False)]
    assert min(gaps) >= 0.05


def _missing_column_csv(tmp_path: Path) -> Path:
    table = demo_snapshot(DAY1, size=50)
    path = write_snapshot_csv(table.drop_columns(["imdb_rating"]), tmp_path / "bad.csv")
    return path


@pytest.mark.parametrize("case", ["broken archive", "missing column"])
def test_bad_data_fails_at_once_without_retries_and_writes_nothing(
    case: str, home: Path, tmp_path: Path, inject, tree
) -> None:
    backfill(source="demo", as_of=DAY0)
    before = tree(home / "store")
    if case == "broken archive":  # the source itself sees the data is wrong
        source = inject(1, DataError("TMDB_all_movies.zip: bad CRC in TMDB_all_movies.csv"))
        expected = "bad CRC"
    else:  # the file arrives, cleaning finds it is not the schema
        source = inject(0, ConnectionError("unused"), bad_file=_missing_column_csv(tmp_path))
        expected = "missing required column(s) imdb_rating"

    state = daily_features(source="demo", as_of=DAY1, return_state=True)

    assert state.is_failed()
    assert expected in state.message
    assert len(source.attempts) == 1
    messages, runs = _run_record(state)
    assert not any("will start" in m for m in messages)
    assert all(count == 1 for count in runs.values()), runs
    if case == "broken archive":
        assert any("not retried" in m and "DataError" in m for m in messages)
    assert tree(home / "store") == before


class CountingKaggle:
    """A Kaggle client at the boundary: serves one dataset version, counts downloads."""

    def __init__(self, csv: bytes) -> None:
        self.csv = csv
        self.downloads = 0
        self.lookups = 0

    def latest_version(self, dataset: str) -> DatasetVersion:
        self.lookups += 1
        return DatasetVersion(number=7, updated=datetime(2026, 3, 1, 5, tzinfo=UTC))

    def download(self, dataset: str, version: int, dest_dir: Path) -> Path:
        self.downloads += 1
        path = dest_dir / KAGGLE_FILE
        path.write_bytes(self.csv)
        return path


def test_a_rerun_after_a_failure_does_not_download_the_same_version_again(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = demo_snapshot(DAY0, size=200)
    assert list(table.column_names) == list(RAW_COLUMN_NAMES)
    csv = write_snapshot_csv(table, tmp_path / "snap.csv").read_bytes()
    kaggle = CountingKaggle(csv)
    monkeypatch.setitem(
        sources.SOURCE_FACTORIES, "kaggle",
        lambda settings, path: KaggleSource(settings.downloads_dir, client=kaggle),
    )

    # The first run downloads version 7, then fails (a daily update needs a backfill first).
    failed = daily_features(source="kaggle", return_state=True)
    assert failed.is_failed() and "backfill" in failed.message
    assert kaggle.downloads == 1

    # The rerun asks Kaggle which version is current, finds it cached and verified, and
    # does not download it again.
    done = backfill(source="kaggle", return_state=True)
    assert done.is_completed(), done.message
    assert (kaggle.lookups, kaggle.downloads) == (2, 1)
    summary = done.result()
    assert summary["snapshot_date"] == "2026-03-01"
    assert summary["rows_read"] == table.num_rows
    cached = home / "downloads" / "kaggle" / KAGGLE_DATASET / "v7" / KAGGLE_FILE
    assert cached.read_bytes() == csv
