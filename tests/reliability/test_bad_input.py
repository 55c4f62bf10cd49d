"""Bad input through the ``movie-ratings`` command: refused with a message, or quarantined.

What the unit and integration suites already cover is not repeated here: the archive
checks on their own (tests/unit/test_archive.py, test_kaggle_source.py), and a CSV that
is empty, lacks a column or is garbage through the CLI (tests/integration). Here the
Kaggle archive faults go through the whole command, with a store that already holds a
backfill: the command exits 1 with one line naming the problem and the store is exactly
as it was; a damaged CSV either fails the same way or has its bad records quarantined,
each with a reason that names the line or column and the value.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from kaggle_fake import FakeKaggle, zip_bytes
from store_checks import DAY1

from movie_ratings.cli import main as cli
from movie_ratings.schema import KAGGLE_FILE, RAW_COLUMN_NAMES
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.store.local import LocalFeatureStore

pytestmark = pytest.mark.usefixtures("prefect_test_server")


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its content hash: "untouched" means an equal tree."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _demo_csv(tmp_path: Path, day=DAY1, size: int = 2000) -> bytes:
    return write_snapshot_csv(demo_snapshot(day, size=size), tmp_path / f"demo-{day}.csv").read_bytes()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = cli(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# --------------------------------------------------------------------------------------
# Kaggle archives, through the whole command
# --------------------------------------------------------------------------------------


@pytest.fixture
def kaggle(fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch) -> FakeKaggle:
    """The fake Kaggle, with Prefect's own calls to its test server kept off the proxy."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    return fake_kaggle


def _stored_crc_zip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(KAGGLE_FILE, data)
    return buf.getvalue()


def _bad_archives(csv: bytes) -> dict[str, tuple[bytes, str]]:
    whole = zip_bytes({KAGGLE_FILE: csv})
    flipped = _stored_crc_zip(csv)
    at = flipped.index(b"Released") + 2  # one byte of the data changed: the CRC no longer fits
    flipped = flipped[:at] + bytes([flipped[at] ^ 0x01]) + flipped[at + 1 :]
    return {
        "not a zip": (b"<html><body>Service Unavailable</body></html>", "is not a readable zip archive"),
        "truncated zip": (whole[: len(whole) * 2 // 3], "is not a readable zip archive"),
        "bad crc": (flipped, f"{KAGGLE_FILE} in "),
        "path traversal": (
            zip_bytes({KAGGLE_FILE: csv, "../../evil.csv": b"id\n1\n"}),
            "refused: member '../../evil.csv' has a '..' component",
        ),
        "absolute path": (
            zip_bytes({KAGGLE_FILE: csv, "/tmp/movie-ratings-evil.csv": b"x"}),
            "refused: member '/tmp/movie-ratings-evil.csv' is an absolute path",
        ),
        "file missing": (zip_bytes({"tmdb_all_movies.csv": csv}), f"{KAGGLE_FILE} not found in archive"),
    }


@pytest.mark.parametrize(
    "case", ["not a zip", "truncated zip", "bad crc", "path traversal", "absolute path", "file missing"]
)
def test_a_bad_kaggle_archive_fails_the_run_and_leaves_the_store_untouched(
    case: str,
    kaggle: FakeKaggle,
    backfilled: Path,
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive, message = _bad_archives(_demo_csv(tmp_path))[case]
    kaggle.archives[kaggle.version] = archive
    before = _tree(backfilled)

    code, output = _run(capsys, "daily", "--source", "kaggle", "--as-of", DAY1.isoformat())

    assert code == 1
    line = next(x for x in output.splitlines() if x.startswith("movie-ratings daily: DataError: "))
    assert message in line, output[-2000:]
    assert kaggle.count("storage") == 1  # bad data is not downloaded again and again
    assert _tree(backfilled) == before
    downloads = home / "downloads" / "kaggle"
    assert not [p for p in downloads.rglob("*") if p.is_file()]  # nothing half-extracted kept
    assert not list(tmp_path.rglob("evil.csv")) and not Path("/tmp/movie-ratings-evil.csv").exists()


def test_a_download_cut_short_is_retried_and_the_run_completes(
    kaggle: FakeKaggle, backfilled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = _demo_csv(tmp_path)
    kaggle.archives[kaggle.version] = zip_bytes({KAGGLE_FILE: csv})
    kaggle.truncate_next = 1  # the first transfer stops half way, the retry is whole

    code, output = _run(capsys, "daily", "--source", "kaggle", "--as-of", DAY1.isoformat())

    assert code == 0, output[-3000:]
    assert kaggle.count("storage") == 2
    latest = LocalFeatureStore(backfilled).latest_commit()
    assert (latest.number, latest.source, latest.source_version) == (2, "kaggle", str(kaggle.version))
    rows = demo_snapshot(DAY1, size=2000).num_rows - latest.counts["rejected"]
    assert latest.groups["movies_1"].rows == rows


# --------------------------------------------------------------------------------------
# Damaged CSV files
# --------------------------------------------------------------------------------------


def test_a_csv_cut_in_the_middle_is_refused_instead_of_deleting_films(
    backfilled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A partial copy parses fine up to the cut: without a guard a third of the films
    would be deleted. The deletion share gives it away."""
    data = _demo_csv(tmp_path)
    cut = tmp_path / "cut.csv"
    cut.write_bytes(data[: data.index(b'"', len(data) * 2 // 3) + 25])  # inside a quoted field
    before = _tree(backfilled)

    code, output = _run(capsys, "daily", "--source", "csv", "--path", str(cut),
                        "--as-of", DAY1.isoformat())

    assert code == 1
    assert "BrokenSourceError: the snapshot of 2026-03-02 from csv would delete" in output
    assert "it looks truncated or broken, nothing was written" in output
    assert _tree(backfilled) == before


def _records(data: bytes) -> list[dict[str, str]]:
    """The records of a snapshot CSV (quoted fields may hold commas and line breaks)."""
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def _write(path: Path, records: list[dict[str, str]], garbage: dict[int, str] | None = None) -> Path:
    """Write records back as CSV; ``garbage`` lines go before the record of that index."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(RAW_COLUMN_NAMES), lineterminator="\n")
        writer.writeheader()
        for i, record in enumerate(records):
            if garbage and i in garbage:
                handle.write(garbage[i])
            writer.writerow(record)
    return path


def test_a_mostly_broken_daily_csv_is_refused_and_leaves_the_store_untouched(
    backfilled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records(_demo_csv(tmp_path))
    for record in records[::4]:
        record["status"] = "Sold Out"
    path = _write(tmp_path / "broken.csv", records)
    before = _tree(backfilled)

    code, output = _run(capsys, "daily", "--source", "csv", "--path", str(path), "--as-of", DAY1.isoformat())

    assert code == 1
    assert "BrokenSourceError: " in output and "the source looks broken, nothing was written" in output
    assert "status is not one of Released" in output  # the most common reason is named
    assert _tree(backfilled) == before


def test_bad_records_are_quarantined_one_by_one_with_reasons(
    backfilled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Garbage lines, a repeated id and absurd values in an otherwise good daily file."""
    records = _records(_demo_csv(tmp_path))
    store = LocalFeatureStore(backfilled)
    stored = {r["id"]: r for r in store.read_group("movies", 1).to_pylist()}
    # films already in the store, released and rated, get one bad value each
    picks = [r for r in records if int(r["id"]) in stored and r["status"] == "Released"
             and r["imdb_rating"] and r["budget"]][:8]
    bad = {
        ("status", "Sold Out"): "status is not one of Released, Post Production, In Production, "
                                "Planned, Rumored, Canceled: 'Sold Out'",
        ("release_date", "3000-01-01"): "release_date year outside [1870, 2041]: '3000-01-01'",
        ("imdb_rating", "12.5"): "imdb_rating outside [1, 10]: 12.5",
        ("runtime", "100000"): "runtime outside [1, 1000]: 100000.0",
        ("vote_count", "-5"): "vote_count outside [0, inf]: -5.0",
        ("budget", "lots"): "budget is not a number: 'lots'",
    }
    held = {}
    for record, ((column, value), reason) in zip(picks, bad.items(), strict=False):
        record[column] = value
        held[int(record["id"])] = reason
    lost = int(picks[6]["id"])
    picks[6]["id"] = "12abc"  # no id to tell which film it is
    again = dict(picks[7], title="The Later Record")
    records.append(again)  # the same id twice: the later record wins
    path = _write(tmp_path / "bad-records.csv", records, {10: "\x01 this is not a film,,,\n"})

    code, output = _run(capsys, "daily", "--source", "csv", "--path", str(path), "--as-of", DAY1.isoformat())

    assert code == 0, output[-3000:]
    rejects = [r for r in store.read_rejects().to_pylist() if r["snapshot_date"] == DAY1]
    by_reason = {r["reason"]: r for r in rejects}
    for movie_id, reason in held.items():
        assert by_reason[reason]["id"] == movie_id, reason
    garbage = [r for r in rejects if r["record"] is None]
    assert len(garbage) == 1 and re.fullmatch(r"line \d+: expected 28 fields, got 4", garbage[0]["reason"])
    assert by_reason["id is not an integer: '12abc'"]["id"] is None
    assert json.loads(by_reason["id is not an integer: '12abc'"]["raw"])["title"] == picks[6]["title"]
    assert by_reason[f"id repeated, kept its last record: {again['id']}"]["id"] == int(again["id"])

    current = {r["id"]: r for r in store.read_group("movies", 1).to_pylist()}
    for movie_id in held:  # quarantined: held at their last good row, not deleted
        assert current[movie_id] == stored[movie_id]
    assert current[int(again["id"])]["title"] == "The Later Record"
    feed_ids = {int(r["id"]) for r in records if r["id"].isdigit()}
    left_feed = set(stored) - feed_ids  # films that really left, and the one without an id
    assert lost in left_feed and lost not in current
    latest = store.latest_commit()
    assert latest.counts["deleted"] == len(left_feed)
    assert latest.counts["rejected"] == len({r["record"] for r in rejects if r["record"]}) + 1
    assert store.status()["rejects"]["last_snapshot"] == latest.counts["rejected"]


def test_a_nul_in_every_record_is_refused_and_leaves_the_store_untouched(
    backfilled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records(_demo_csv(tmp_path))
    for record in records:
        record["title"] = "\x00" + record["title"]  # a NUL right after the first comma
    path = _write(tmp_path / "nul.csv", records)
    before = _tree(backfilled)

    code, output = _run(capsys, "daily", "--source", "csv", "--path", str(path), "--as-of", DAY1.isoformat())

    assert code == 1
    assert "the source looks broken, nothing was written" in output
    assert "title contains control character U+0000" in output
    assert _tree(backfilled) == before


def test_a_few_nul_records_and_malformed_lines_with_readable_ids_delete_nothing(
    backfilled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = _records(_demo_csv(tmp_path))
    store = LocalFeatureStore(backfilled)
    stored = {r["id"]: r for r in store.read_group("movies", 1).to_pylist()}
    in_store = [r for r in records if int(r["id"]) in stored]
    nul, cut = in_store[:3], in_store[3:8]
    for record in nul:
        record["overview"] = "half\x00 a record"
    cut_ids = {int(r["id"]) for r in cut}
    kept = [r for r in records if int(r["id"]) not in cut_ids]
    # the cut records become lines of 3 fields whose id is still readable
    garbage = {kept.index(nul[0]): "".join(f'{r["id"]},"{r["title"]}",7.1\n' for r in cut)}
    path = _write(tmp_path / "partly-broken.csv", kept, garbage)

    code, output = _run(capsys, "daily", "--source", "csv", "--path", str(path), "--as-of", DAY1.isoformat())

    assert code == 0, output[-3000:]
    current = {r["id"]: r for r in store.read_group("movies", 1).to_pylist()}
    for movie_id in {int(r["id"]) for r in nul} | cut_ids:  # held at their last good row
        assert current[movie_id] == stored[movie_id]
    rejects = [r for r in store.read_rejects().to_pylist() if r["snapshot_date"] == DAY1]
    assert {r["id"] for r in rejects if "U+0000" in r["reason"]} == {int(r["id"]) for r in nul}
    assert {r["id"] for r in rejects if r["record"] is None} == cut_ids
    feed_ids = {int(r["id"]) for r in records}
    assert store.latest_commit().counts["deleted"] == len(set(stored) - feed_ids)


def test_each_refused_file_prints_a_few_lines_without_a_traceback(tmp_path: Path) -> None:
    """Through the installed entry point, as a person runs it (Prefect logs to the terminal)."""
    import os
    import subprocess
    import sys

    files = {
        "missing-column.csv": (b"id,title\n1,Inception\n", "missing required column(s) vote_average"),
        "empty.csv": (b"", "the file is empty"),
        "random.csv": (bytes(range(256)) * 40, "header line holds control character U+0000"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOVIE_RATINGS_"))}
    runs = {}
    for name, (content, _) in files.items():
        (tmp_path / name).write_bytes(content)
        home = tmp_path / f"home-{name}"
        runs[name] = subprocess.Popen(
            [sys.executable, "-m", "movie_ratings.cli", "backfill", "--source", "csv", "--path",
             str(tmp_path / name)],
            env={**env, "MOVIE_RATINGS_HOME": str(home)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, cwd=tmp_path,
        )
    debug = subprocess.Popen(
        [sys.executable, "-m", "movie_ratings.cli", "backfill", "--debug", "--source", "csv", "--path",
         str(tmp_path / "missing-column.csv")],
        env={**env, "MOVIE_RATINGS_HOME": str(tmp_path / "home-debug")}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )
    for name, (_, problem) in files.items():
        output, _ = runs[name].communicate(timeout=300)
        assert runs[name].returncode == 1, output
        assert "Traceback" not in output, output
        errors = [line for line in output.splitlines() if " | INFO " not in line and "prefect.io/docs" not in line]
        assert len(errors) <= 3, output  # the error paragraph, and where the details are
        assert f"movie-ratings backfill: SchemaError: {tmp_path / name}" in errors[0] and problem in errors[0]
        log = (tmp_path / f"home-{name}" / "log" / "movie-ratings.log").read_text()
        assert "Traceback" in log and problem in log
    output, _ = debug.communicate(timeout=300)  # --debug: the traceback on the terminal too
    assert debug.returncode == 1 and "Traceback" in output and "SchemaError" in output
