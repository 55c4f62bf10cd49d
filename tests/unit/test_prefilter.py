"""The daily prefilter (movie_ratings/cleaning/prefilter.py) writes exactly what the full
path writes: every group at every commit, the rejects, the logs row by row and the counts,
on a churny demo feed with corrupted records, on the local store and on Hopsworks through
the SDK fake."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hopsworks_fake import FakeHopsworks

from movie_ratings.cleaning.parse import read_snapshot_csv
from movie_ratings.cleaning.prefilter import TEXT_COLUMNS, TYPED_COLUMNS, source_hashes
from movie_ratings.errors import DataError
from movie_ratings.schema import (
    FEATURE_GROUPS,
    MOVIE_GENRES,
    MOVIES,
    SOURCE_HASH,
)
from movie_ratings.sources import Snapshot
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.store.hopsworks import HopsworksFeatureStore
from movie_ratings.store.local import LocalFeatureStore, delta_dataset
from tasks.clean import clean_for_store
from tasks.features import build_features
from tasks.insert import upsert_snapshot

DAY0 = date(2026, 1, 1)
VERSIONS = {MOVIES.name: 1, MOVIE_GENRES.name: 1}
SIZE = 800

Rows = list[list[str]]


def _day_csv(folder: Path, day: int, edit: Callable[[list[str], Rows], list[str]] | None = None,
             churn: float = 0.3) -> Path:
    """A demo day (seed 5) as CSV; ``edit`` changes its records and returns raw lines to append."""
    path = write_snapshot_csv(demo_snapshot(DAY0 + timedelta(day), seed=5, size=SIZE, churn=churn),
                              folder / f"day{day}.csv")
    if edit is None:
        return path
    with path.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    extra = edit(header, rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(header)
        writer.writerows(rows)
        for line in extra:
            handle.write(line + "\n")
    return path


def _set(header: list[str], row: list[str], column: str, value: str) -> None:
    row[header.index(column)] = value


def _corrupt_day1(header: list[str], rows: Rows) -> list[str]:
    """Text-parse day: one signal is not a number, so every column is read as text."""
    _set(header, rows[3], "popularity", "n/a")                # bad signal: quarantined
    _set(header, rows[5], "title", "Bad\x00Title")            # control character in a description
    _set(header, rows[7], "vote_average", "11")               # signal out of range
    _set(header, rows[9], "title", rows[9][header.index("title")] + " (Director's Cut)")  # renamed
    _set(header, rows[11], "status", " Released ")            # whitespace only: same content
    _set(header, rows[13], "id", " " + rows[13][header.index("id")])  # id with spaces
    _set(header, rows[15], "release_date", "2090-01-01")      # too far ahead
    _set(header, rows[17], "budget", "-5")                    # description number out of range
    again = list(rows[20])                                    # a repeated id, later record wins
    _set(header, again, "vote_count", "12345")
    bad_repeat = list(rows[22])                               # a repeated id whose later record fails
    _set(header, bad_repeat, "runtime", "abc")
    rows.extend([again, bad_repeat])
    del rows[30]                                              # a film leaves the feed
    return [f"{rows[40][0]},a line with too few fields"]      # malformed, its id still readable


def _corrupt_day2(header: list[str], rows: Rows) -> list[str]:
    """Typed-parse day: every number parses; other problems only."""
    _set(header, rows[5], "title", "Fine again")              # yesterday's quarantined film, renamed
    _set(header, rows[8], "imdb_rating", "0.5")               # label out of range
    _set(header, rows[10], "overview", "New overview\nwith a line break")
    _set(header, rows[12], "imdb_id", "not-an-id")            # malformed link: set to null
    _set(header, rows[14], "vote_average", "0")               # zero means unknown
    rows.append(list(rows[25]))                               # an exact repeat
    return []


def _ingest(store, path: Path, day: int, *, prefilter: bool) -> dict:
    as_of = DAY0 + timedelta(day)
    parsed = read_snapshot_csv(path)
    clean = clean_for_store(parsed, as_of=as_of, source="csv", max_reject_fraction=0.5,
                            store=store if prefilter and day else None)
    features = build_features(clean.table, as_of, clean.prefiltered)
    snapshot = Snapshot(path=path, as_of=as_of, source="csv", version="", is_demo=False)
    result = upsert_snapshot(store, features.tables, VERSIONS, snapshot, clean.rejects,
                             require_existing=day > 0, max_delete_fraction=0.5,
                             unchanged=features.unchanged)
    return {
        "rows_read": clean.rows_read, "rows_kept": clean.rows_kept,
        "rejected": clean.rejected_rows, "duplicates": clean.duplicates,
        "new": result.new, "changed": result.changed, "unchanged": result.unchanged,
        "deleted": result.deleted, "per_group": result.per_group,
        "prefiltered": len(clean.prefiltered.ids) if clean.prefiltered is not None else 0,
        "cleaned": clean.table.num_rows,
    }


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(c, "ascending") for c in ("id", "snapshot_date") if c in table.column_names])


def _same_store(full, fast) -> None:
    """Every commit's record (but its time), every group and the rejects at every commit."""
    commits_full, commits_fast = full.commits(), fast.commits()
    assert [c.number for c in commits_full] == [c.number for c in commits_fast]
    for a, b in zip(commits_full, commits_fast, strict=True):
        assert (a.groups, a.counts, a.rejects_table_version) == (b.groups, b.counts, b.rejects_table_version)
        for name in FEATURE_GROUPS:
            left = _sorted(full.read_group(name, 1, commit=a.number))
            right = _sorted(fast.read_group(name, 1, commit=b.number))
            assert left.equals(right), (name, a.number)
        assert full.read_rejects(commit=a.number).equals(fast.read_rejects(commit=b.number))


def _same_logs(full, fast, fakes) -> None:
    """The stored rows themselves, in order (the Delta logs; the fake's tables)."""
    if fakes is None:
        for name in FEATURE_GROUPS:
            version = full.latest_commit().groups[f"{name}_1"].table_version
            left = delta_dataset(full.root / "groups" / f"{name}_1", version).to_table()
            right = delta_dataset(fast.root / "groups" / f"{name}_1", version).to_table()
            assert _sorted(left).equals(_sorted(right)), name
        return
    left, right = (f.feature_store.groups for f in fakes)
    assert left.keys() == right.keys()
    for key in left:
        a, b = left[key].table, right[key].table
        if key[0] == "store_commits":
            a, b = (t.drop_columns(["created_at", "record"]) for t in (a, b))
        assert a.equals(b), key


@pytest.fixture(params=["local", "hopsworks-fake"])
def stores(request: pytest.FixtureRequest, tmp_path: Path):
    """Two empty stores of one backend (full path, prefiltered), and the fakes if any."""
    if request.param == "local":
        yield LocalFeatureStore(tmp_path / "full"), LocalFeatureStore(tmp_path / "fast"), None
        return
    fakes = [FakeHopsworks(tmp_path / name) for name in ("full", "fast")]
    try:
        yield (*(HopsworksFeatureStore(f.feature_store, feature_cls=f.Feature, address="fake")
                 for f in fakes), fakes)
    finally:
        for f in fakes:
            f.close()


def test_the_prefiltered_daily_writes_what_the_full_path_writes(stores, tmp_path: Path) -> None:
    full, fast, fakes = stores
    days = [_day_csv(tmp_path, 0), _day_csv(tmp_path, 1, _corrupt_day1),
            _day_csv(tmp_path, 2, _corrupt_day2), _day_csv(tmp_path, 3)]
    for day, path in enumerate(days):
        expected = _ingest(full, path, day, prefilter=False)
        got = _ingest(fast, path, day, prefilter=True)
        assert {k: v for k, v in got.items() if k not in ("prefiltered", "cleaned")} == {
            k: v for k, v in expected.items() if k not in ("prefiltered", "cleaned")}, day
        if day:  # most records skipped the full cleaning
            assert got["prefiltered"] > 0.7 * got["rows_kept"], got
            assert got["cleaned"] + got["prefiltered"] == got["rows_kept"]
    assert expected["rejected"] == 0 and expected["changed"] > 0.1 * SIZE  # a churny, clean last day
    _same_store(full, fast)
    _same_logs(full, fast, fakes)
    rejects = fast.read_rejects().to_pylist()
    reasons = " | ".join(r["reason"] for r in rejects)
    for expected_reason in ("popularity is not a number", "control character", "vote_average outside",
                            "release_date year outside", "budget outside", "runtime is not a number",
                            "expected 28 fields", "imdb_rating outside",
                            "id repeated"):
        assert expected_reason in reasons, expected_reason


def test_a_store_without_source_hashes_takes_the_full_path_once(tmp_path: Path) -> None:
    """Rows written without hashes (an older store) never match: the first daily cleans
    every record in full (and stores the hashes), the next one prefilters again."""
    from movie_ratings.cleaning.snapshot import clean_snapshot

    days = [_day_csv(tmp_path, d) for d in range(3)]
    stores = [LocalFeatureStore(tmp_path / n) for n in ("full", "fast")]
    for store in stores:  # the backfill of older code: no source hash
        clean = clean_snapshot(read_snapshot_csv(days[0]), as_of=DAY0, source="csv", max_reject_fraction=0.5)
        features = build_features(clean.table, DAY0)
        upsert_snapshot(store, features.tables, VERSIONS, Snapshot(days[0], DAY0, "csv"), clean.rejects,
                        require_existing=False)
    assert pc.all(pc.is_null(stores[1].read_group(MOVIES.name, 1)[SOURCE_HASH])).as_py()
    for day in (1, 2):
        expected = _ingest(stores[0], days[day], day, prefilter=False)
        got = _ingest(stores[1], days[day], day, prefilter=True)
        assert got["prefiltered"] == (0 if day == 1 else got["prefiltered"])
        assert {k: v for k, v in got.items() if k not in ("prefiltered", "cleaned")} == {
            k: v for k, v in expected.items() if k not in ("prefiltered", "cleaned")}
    assert got["prefiltered"] > 0.7 * got["rows_kept"]
    _same_store(*stores)


def test_a_store_that_moved_on_refuses_the_prefiltered_rows(tmp_path: Path) -> None:
    """A commit made between the prefilter's read and the write, changing a film taken as
    unchanged, fails the write instead of storing a stale description."""
    days = [_day_csv(tmp_path, d, churn=0.0) for d in range(2)]
    store = LocalFeatureStore(tmp_path / "store")
    _ingest(store, days[0], 0, prefilter=False)
    parsed = read_snapshot_csv(days[1])
    as_of = DAY0 + timedelta(1)
    clean = clean_for_store(parsed, as_of=as_of, source="csv", max_reject_fraction=0.5, store=store)
    features = build_features(clean.table, as_of, clean.prefiltered)
    # Another writer renames a film the prefilter took as unchanged, on the same day.
    other = read_snapshot_csv(days[1]).table
    film = int(features.unchanged.ids[0])
    at = other["id"].to_pylist().index(str(film))
    with days[1].open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    _set(header, rows[at], "title", "Renamed meanwhile")
    renamed = tmp_path / "renamed.csv"
    with renamed.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC).writerows([header, *rows])
    _ingest(store, renamed, 1, prefilter=False)
    with pytest.raises(DataError, match="moved on"):
        upsert_snapshot(store, features.tables, VERSIONS, Snapshot(days[1], as_of, "csv"),
                        clean.rejects, require_existing=True, unchanged=features.unchanged)


def test_source_hash_sees_every_description_field_and_ignores_the_signals(tmp_path: Path) -> None:
    raw = read_snapshot_csv(_day_csv(tmp_path, 0)).table.slice(0, 50)
    typed = {n: raw[n] for n in TYPED_COLUMNS}
    base = source_hashes(raw, typed)
    assert len(np.unique(base)) == 50 and (base >= 0).all() and (base < 2**53).all()
    # the same rows hashed in other chunks give the same hashes
    assert (np.concatenate([source_hashes(raw.slice(0, 20), {n: typed[n].slice(0, 20) for n in typed}),
                            source_hashes(raw.slice(20), {n: typed[n].slice(20) for n in typed})])
            == base).all()
    for name in (*TEXT_COLUMNS, *TYPED_COLUMNS):
        column = raw[name] if name in TEXT_COLUMNS else typed[name]
        changed = pc.take(column, pa.array([1, *range(1, 50)]))  # row 0 gets row 1's value
        values = raw.set_column(raw.schema.get_field_index(name), name, changed) if name in TEXT_COLUMNS else raw
        moved = typed | ({name: changed} if name in TYPED_COLUMNS else {})
        hashes = source_hashes(values, moved)
        assert hashes[0] != base[0] or column[0] == column[1], name
        assert (hashes[1:] == base[1:]).all(), name
    for name in ("vote_average", "vote_count", "popularity", "imdb_rating", "imdb_votes"):
        other = raw.set_column(raw.schema.get_field_index(name), name, pa.nulls(50, raw[name].type))
        assert (source_hashes(other, typed) == base).all()
    # a value moved to the next column is another record
    a = pa.table({"x": ["ab", "a"], "y": ["c", "bc"]})
    import polars as pl
    assert len(set(pl.from_arrow(a).hash_rows(seed=1).to_list())) == 2


def test_json_of_rejects_holds_no_source_hash(tmp_path: Path) -> None:
    path = _day_csv(tmp_path, 1, _corrupt_day1)
    store = LocalFeatureStore(tmp_path / "s")
    _ingest(store, _day_csv(tmp_path, 0), 0, prefilter=False)
    _ingest(store, path, 1, prefilter=True)
    for row in store.read_rejects().to_pylist():
        if row["record"] is not None:
            assert SOURCE_HASH not in json.loads(row["raw"])
