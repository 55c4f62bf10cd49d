"""Run summaries (movie_ratings.summary), the retry condition and the source seam, without Prefect runs."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from movie_ratings.errors import (
    BrokenSourceError,
    ConfigurationError,
    DataError,
    SchemaError,
    TransientError,
)
from movie_ratings.settings import Settings
from movie_ratings.sources import SOURCE_FACTORIES, get_source
from movie_ratings.summary import ingest_line, main_line
from tasks.policies import retry_if_transient

RUN = {
    "flow": "daily-features", "snapshot_date": "2026-11-20", "is_demo": True,
    "rows_read": 22_924, "rejected": 3, "new": 9, "changed": 19, "unchanged": 22_893,
    "deleted": 0, "store_commit": 2, "created_commit": True,
}


def test_ingest_line_reads_like_the_cli() -> None:
    assert ingest_line(RUN) == (
        "daily-features 2026-11-20 [DEMO DATA]: read 22,924, rejected 3, new 9, changed 19, "
        "unchanged 22,893, deleted 0 -> store commit 2"
    )


def test_ingest_line_says_when_nothing_was_written_and_when_data_is_real() -> None:
    line = ingest_line({**RUN, "is_demo": False, "created_commit": False, "new": 0, "changed": 0})
    assert "[DEMO DATA]" not in line
    assert line.endswith("-> store commit 2 (already stored, nothing written)")


def test_main_line_counts_runs_by_flow_and_gives_the_span_and_last_commit() -> None:
    runs = [
        {**RUN, "flow": "backfill", "snapshot_date": "2026-11-14", "store_commit": 1},
        *({**RUN, "snapshot_date": f"2026-11-{d}", "store_commit": d - 13} for d in range(15, 21)),
    ]
    assert main_line(runs) == (
        "main: 1 backfill + 6 daily-features run(s), 2026-11-14 to 2026-11-20 [DEMO DATA] "
        "-> store commit 7"
    )
    assert main_line([]) == "main: nothing to do"
    # Runs of other flows (training, inference) have no snapshot date or commit of their own.
    assert main_line([{**RUN, "is_demo": False}, {"flow": "training"}]) == (
        "main: 1 daily-features + 1 training run(s), 2026-11-20 -> store commit 2"
    )


def _failed(exc: BaseException) -> SimpleNamespace:
    return SimpleNamespace(data=exc)


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (TransientError("HTTP 503"), True),
        (ConnectionError("reset"), True),
        (TimeoutError("read timed out"), True),
        (DataError("bad CRC"), False),
        (SchemaError("missing column"), False),
        (BrokenSourceError("12% rejected"), False),
        (ConfigurationError("no credentials"), False),
        (ValueError("a bug"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else str(v),
)
def test_only_transient_failures_are_retried_and_the_others_say_why(
    exc: BaseException, retried: bool, caplog: pytest.LogCaptureFixture
) -> None:
    task = SimpleNamespace(name="fetch-snapshot")
    with caplog.at_level(logging.WARNING):
        assert retry_if_transient(task, None, _failed(exc)) is retried
    expected = [] if retried else [f"fetch-snapshot failed with {type(exc).__name__}: not retried"]
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == expected


def test_every_source_name_has_a_factory_and_unknown_names_are_refused(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert set(SOURCE_FACTORIES) == {"demo", "csv", "kaggle"}
    assert get_source("demo", settings).name == "demo"
    assert get_source("csv", settings, tmp_path / "x.csv").name == "csv"
    with pytest.raises(ConfigurationError, match="needs a file"):
        get_source("csv", settings)
    with pytest.raises(ConfigurationError, match="unknown source 'ftp'; choose one of demo, csv, kaggle"):
        get_source("ftp", settings)
