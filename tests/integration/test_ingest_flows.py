"""backfill, daily-features and main on a local store in a temporary home, under a Prefect server."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from flows.backfill import backfill
from flows.daily_features import daily_features
from flows.main import main as main_flow
from movie_ratings.cli import main as cli
from movie_ratings.errors import DataError
from movie_ratings.schema import RAW_COLUMN_NAMES
from movie_ratings.settings import get_settings
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.store import get_feature_store

DAY0 = date(2026, 3, 1)
DAY1 = DAY0 + timedelta(days=1)


def _status(capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert cli(["status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _rows(status: dict) -> dict[str, int]:
    return {g["name"]: g["rows"] for g in status["feature_groups"]}


def test_backfill_then_daily_then_same_day_again(
    backend: object, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    size = 20_000 if backend is None else 5_000  # the fake's reads are pandas-bound
    monkeypatch.setenv("MOVIE_RATINGS_DEMO_SIZE", str(size))
    expected0 = demo_snapshot(DAY0, size=size).num_rows
    expected1 = demo_snapshot(DAY1, size=size).num_rows

    first = backfill(source="demo", as_of=DAY0)
    assert first["rows_read"] == expected0
    assert first["new"] == first["rows_kept"] == expected0 - first["rejected"]
    status = _status(capsys)
    assert status["backend"] == ("local" if backend is None else "hopsworks")
    assert _rows(status) == {"movies": first["rows_kept"], "movie_genres": first["rows_kept"],
                             "movie_signals": first["rows_kept"]}
    assert status["is_demo"] is True
    assert status["feature_views"][0]["name"] == "movie_ratings"

    second = daily_features(source="demo", as_of=DAY1)
    assert second["rows_read"] == expected1
    assert second["new"] > 0 and second["changed"] > 0
    # the demo's default churn moves the signals of ~30% of the films a day
    assert 0.25 < second["changed"] / expected1 < 0.35
    assert second["store_commit"] == 2
    assert _rows(_status(capsys)) == {"movies": second["rows_kept"], "movie_genres": second["rows_kept"],
                                      "movie_signals": second["rows_kept"]}

    third = daily_features(source="demo", as_of=DAY1)
    assert (third["new"], third["changed"], third["deleted"]) == (0, 0, 0)
    assert third["created_commit"] is False and third["store_commit"] == 2
    assert _rows(_status(capsys))["movies"] == second["rows_kept"]

    store = get_feature_store(get_settings())
    assert store.read_group("movies", 1, commit=1).num_rows == first["rows_kept"]
    assert store.read_group("movies", 1, commit=2).num_rows == second["rows_kept"]
    view = store.read_feature_view("movie_ratings", 1)
    assert view.num_rows == second["rows_kept"] and "imdb_rating" in view.column_names


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    header = list(RAW_COLUMN_NAMES)
    missing = tmp_path / "missing_column.csv"
    missing.write_text(",".join(c for c in header if c != "imdb_id") + "\n" + ",".join(["1"] * 27) + "\n")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 40)
    return {
        "missing column": (missing, "missing required column(s) imdb_id"),
        "empty file": (empty, "empty"),
        "garbage": (garbage, "garbage.csv"),
    }


@pytest.mark.parametrize("case", ["missing column", "empty file", "garbage"])
def test_bad_csv_exits_non_zero_names_the_problem_and_leaves_store_untouched(
    case: str, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tree
) -> None:
    assert cli(["backfill", "--source", "demo", "--as-of", DAY0.isoformat()]) == 0
    before = tree(home / "store")
    path, message = _bad_files(tmp_path)[case]
    capsys.readouterr()

    code = cli(["daily", "--source", "csv", "--path", str(path), "--as-of", DAY1.isoformat()])

    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert tree(home / "store") == before


def test_bad_csv_on_an_empty_store_writes_nothing(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tree
) -> None:
    path, message = _bad_files(tmp_path)["missing column"]
    assert cli(["backfill", "--source", "csv", "--path", str(path)]) != 0
    assert message in capsys.readouterr().err
    assert tree(home / "store") == {}


def test_a_mostly_broken_snapshot_is_refused(home: Path, tmp_path: Path, tree) -> None:
    table = demo_snapshot(DAY0, size=300)
    path = write_snapshot_csv(table, tmp_path / "snap.csv")
    lines = path.read_text().splitlines(keepends=True)
    broken = [lines[0]] + [
        line.replace(',"Released",', ',"Sold Out",') if i % 3 else line for i, line in enumerate(lines[1:])
    ]
    path.write_text("".join(broken))
    with pytest.raises(DataError, match="source looks broken"):
        backfill(source="csv", path=str(path), as_of=DAY0)
    assert tree(home / "store") == {}


def test_csv_source_with_quarantined_rows_counts_them(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = demo_snapshot(DAY0, size=500)
    path = write_snapshot_csv(table, tmp_path / "snap.csv")
    lines = path.read_text().splitlines(keepends=True)
    lines.append(lines[1])  # the first film again: a duplicate id
    lines.append("12345,only,three\n")  # a malformed line
    path.write_text("".join(lines))

    # The demo feed itself carries a few films with runtimes of days: quarantined too.
    absurd = pc.sum(pc.greater(table["runtime"], 1000)).as_py()

    summary = backfill(source="csv", path=str(path), as_of=DAY0)

    assert summary["duplicates"] == 1
    assert summary["rejected"] == 2 + absurd
    assert summary["rows_kept"] == table.num_rows - absurd
    status = _status(capsys)
    assert status["rejects"]["last_snapshot"] == 2 + absurd
    assert _rows(status)["movies"] == table.num_rows - absurd


def test_daily_on_an_empty_store_asks_for_a_backfill(backend: object, home: Path) -> None:
    with pytest.raises(DataError, match="run `movie-ratings backfill` first"):
        daily_features(source="demo", as_of=DAY0)


def test_main_job_backfills_then_catches_up_day_by_day(backend: object, home: Path) -> None:
    result = main_flow(source="demo", as_of=DAY0 + timedelta(days=2), days=3, train="never")
    flows = [(r["flow"], r["snapshot_date"]) for r in result["runs"]]
    assert flows == [
        ("backfill", "2026-03-01"),
        ("daily-features", "2026-03-02"),
        ("daily-features", "2026-03-03"),
    ]
    again = main_flow(source="demo", as_of=DAY0 + timedelta(days=2), days=3, train="never")
    assert [r["created_commit"] for r in again["runs"]] == [False]


def test_console_script_status_runs_without_a_server(home: Path) -> None:
    script = Path(sys.executable).with_name("movie-ratings")
    done = subprocess.run([str(script), "status", "--json"], capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout)["commit"] is None
