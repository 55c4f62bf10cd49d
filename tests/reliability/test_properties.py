"""Property tests (hypothesis) of cleaning, features and the store's change tracking.

Inputs are arbitrary: any unicode in text fields, numbers from tiny to ±1e308 with inf
and nan, numbers and dates that are not numbers or dates, empty and very long list
strings, repeated ids, lines that are not CSV at all. Whatever comes in, cleaning either
refuses the file with a :class:`DataError` or returns one row per id, with the declared
types and every value in its declared range, and accounts for every record (kept or in
the rejects). Example counts come from the hypothesis profile (``ci`` by default, see
tests/conftest.py), so each test takes a few seconds.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from movie_ratings.cleaning.clean import parse_integers, split_lists
from movie_ratings.cleaning.parse import ROW, ParsedSnapshot, read_snapshot_csv
from movie_ratings.cleaning.snapshot import clean_snapshot
from movie_ratings.errors import DataError
from movie_ratings.schema import (
    EARLIEST_RELEASE_YEAR,
    GENRES,
    IMDB_ID_PATTERN,
    LIST_COLUMNS,
    LIST_SEPARATOR,
    MAX_YEARS_AHEAD,
    MOVIE_GENRES,
    MOVIE_SIGNALS,
    MOVIES,
    POSTER_PATH_PATTERN,
    RAW_COLUMN_NAMES,
    RAW_COLUMNS,
    RAW_RANGES,
    REJECTS_SCHEMA,
    STATUSES,
    TOP_CAST,
    ZERO_MEANS_UNKNOWN,
)
from movie_ratings.store.base import SnapshotInfo
from movie_ratings.store.local import LocalFeatureStore
from tasks.features import build_features

AS_OF = date(2026, 3, 1)
#: Heavier properties (a real Delta store per example) run a quarter of the examples.
FEWER = settings(max_examples=max(5, settings().max_examples // 4))

# --------------------------------------------------------------------------------------
# Strategies: one raw field each, as the CSV reader hands them over (text or null)
# --------------------------------------------------------------------------------------

any_text = st.text(st.characters(codec="utf-8"), max_size=40)
words = st.text(st.characters(codec="utf-8", exclude_characters=","), min_size=1, max_size=12)


def _float_text(x: float) -> str:
    return repr(x)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(_float_text),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["0", "0.0", "-0", "1e308", "-1e308", "1e-320", " 7.5 ", "1,000", "NaN", "inf"]),
    any_text,
)
ids = st.one_of(
    st.integers(1, 40).map(str),  # a small pool: repeated ids are common
    st.integers(-5, 2**63 + 5).map(str),
    st.sampled_from(["12.0", " 12 ", "+12", "-0", "0x10", "1e3", "", "99999999999999999999"]),
    any_text,
)
dates = st.one_of(
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
    st.dates(date(1860, 1, 1), date(2045, 12, 31)).map(date.isoformat),
    st.sampled_from(["2020-02-30", "2021-13-01", "20-01-01", "2020/01/01"]),
    any_text,
)
statuses = st.one_of(st.sampled_from(STATUSES), any_text)
list_text = st.one_of(
    st.lists(words, max_size=5).map(LIST_SEPARATOR.join),
    st.lists(st.sampled_from(sorted(GENRES)), max_size=6).map(LIST_SEPARATOR.join),
    st.integers(500, 3000).map(lambda n: LIST_SEPARATOR.join(f"Person {i}" for i in range(n))),
    any_text,
)
links = {
    "imdb_id": st.one_of(st.integers(1, 10**9).map(lambda n: f"tt{n:07d}"), any_text),
    "poster_path": st.one_of(st.from_regex(POSTER_PATH_PATTERN, fullmatch=True), any_text),
}


def _field(name: str) -> st.SearchStrategy[str | None]:
    dtype = RAW_COLUMNS[name]
    if name == "id":
        base = ids
    elif name in LIST_COLUMNS:
        base = list_text
    elif name in links:
        base = links[name]
    elif name == "status":
        base = statuses
    elif pa.types.is_floating(dtype):
        base = numbers
    elif pa.types.is_date(dtype):
        base = dates
    else:
        base = any_text
    return st.one_of(st.none(), base)


raw_rows = st.fixed_dictionaries({name: _field(name) for name in RAW_COLUMN_NAMES})


def _parsed(rows: list[dict[str, str | None]]) -> ParsedSnapshot:
    columns = {name: pa.array([r[name] for r in rows], pa.string()) for name in RAW_COLUMN_NAMES}
    columns[ROW] = pa.array(np.arange(1, len(rows) + 1, dtype=np.int64))
    return ParsedSnapshot(pa.table(columns))


# --------------------------------------------------------------------------------------
# Invariants
# --------------------------------------------------------------------------------------


def _check_clean_invariants(clean, rows_read: int) -> None:
    table = clean.table
    expected_types = {
        name: pa.list_(pa.string()) if name in LIST_COLUMNS else dtype
        for name, dtype in RAW_COLUMNS.items()
    }
    assert table.schema == pa.schema(list(expected_types.items()))
    assert clean.rejects.schema == REJECTS_SCHEMA

    # one row per id, every id valid
    id_values = table["id"].to_pylist()
    assert None not in id_values and len(set(id_values)) == len(id_values)
    assert all(i >= 1 for i in id_values)

    # every record is accounted for: kept, or quarantined with a reason
    assert clean.rows_read == rows_read
    records = {r for r in clean.rejects["record"].to_pylist() if r is not None}
    bad_lines = clean.rejects.filter(pc.is_null(clean.rejects["record"])).num_rows
    assert table.num_rows + len(records) + bad_lines == rows_read
    assert all(1 <= r <= rows_read for r in records)
    assert all(reason for reason in clean.rejects["reason"].to_pylist())
    for raw in clean.rejects.filter(pc.is_valid(clean.rejects["record"]))["raw"].to_pylist():
        json.loads(raw)  # the record as read, as JSON

    # declared ranges and conventions
    for name, bounds in RAW_RANGES.items():
        values = [v for v in table[name].to_pylist() if v is not None]
        assert all(np.isfinite(v) for v in values if isinstance(v, float)), name
        if bounds.low is not None:
            assert all(v >= bounds.low for v in values), name
        if bounds.high is not None:
            assert all(v <= bounds.high for v in values), name
    for name in ZERO_MEANS_UNKNOWN:
        assert 0 not in table[name].to_pylist(), name
    assert set(table["status"].to_pylist()) <= {*STATUSES, None}
    years = [d.year for d in table["release_date"].to_pylist() if d is not None]
    assert all(EARLIEST_RELEASE_YEAR <= y <= AS_OF.year + MAX_YEARS_AHEAD for y in years)
    assert all(v is None or IMDB_ID_PATTERN.match(v) for v in table["imdb_id"].to_pylist())
    assert all(v is None or POSTER_PATH_PATTERN.match(v) for v in table["poster_path"].to_pylist())


@given(st.lists(raw_rows, min_size=1, max_size=30))
def test_cleaning_arbitrary_records_keeps_every_invariant(rows: list[dict[str, str | None]]) -> None:
    parsed = _parsed(rows)
    clean = clean_snapshot(parsed, as_of=AS_OF, source="csv", max_reject_fraction=1.0)
    _check_clean_invariants(clean, len(rows))
    # deterministic: the same records clean the same way
    again = clean_snapshot(parsed, as_of=AS_OF, source="csv", max_reject_fraction=1.0)
    assert again.table.equals(clean.table) and again.rejects.equals(clean.rejects)


@given(st.lists(raw_rows, min_size=1, max_size=30))
def test_a_kept_record_is_the_last_valid_record_of_its_id(rows: list[dict[str, str | None]]) -> None:
    clean = clean_snapshot(_parsed(rows), as_of=AS_OF, source="csv", max_reject_fraction=1.0)
    rejected = set(clean.rejects["record"].to_pylist())
    repeated = clean.rejects.filter(pc.starts_with(clean.rejects["reason"], "id repeated"))
    assert repeated.num_rows == clean.duplicates
    # a record is kept (not rejected) only if no later record of the same id is kept too
    kept_records = [i + 1 for i in range(len(rows)) if i + 1 not in rejected]
    assert len(kept_records) == clean.table.num_rows
    kept_titles = dict(zip(clean.table["id"].to_pylist(), clean.table["title"].to_pylist(), strict=True))
    for record in kept_records:
        title = rows[record - 1]["title"]
        assert title in kept_titles.values()  # text is carried as written
    for record in repeated["record"].to_pylist():
        rid = repeated.filter(pc.equal(repeated["record"], record))["id"][0].as_py()
        later = [r for r in kept_records if r > record and rows[r - 1]["id"] is not None]
        assert any(parse_integers(pa.array([rows[r - 1]["id"]]))[0].as_py() == rid for r in later)


@given(st.one_of(any_text, list_text, st.text(st.sampled_from(", aé\n"), max_size=60)))
def test_splitting_a_list_string_and_joining_it_back_gives_the_string(text: str) -> None:
    table = pa.table({name: pa.array([text], pa.string()) for name in LIST_COLUMNS})
    for name in LIST_COLUMNS:
        items = split_lists(table)[name].to_pylist()[0]
        assert LIST_SEPARATOR.join(items) == text


@given(st.integers(-(2**63), 2**63 - 1), st.sampled_from(["{}", " {} ", "{}.0", "{}.000", "+{}"]))
def test_integers_keep_every_digit(value: int, template: str) -> None:
    text = template.format(value)
    assume(not (text.startswith("+") and value < 0))
    parsed = parse_integers(pa.array([text]))[0].as_py()
    # 19-digit numbers are refused by the pattern (not every one fits in int64): never changed
    assert parsed == value or (parsed is None and len(str(abs(value))) > 18)


@given(any_text)
def test_text_that_parses_as_an_integer_is_that_integer(text: str) -> None:
    parsed = parse_integers(pa.array([text]))[0].as_py()
    if parsed is not None:
        assert parsed == int(float(text.strip())) if "." in text else parsed == int(text.strip())


# --------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------


def _check_feature_invariants(clean: pa.Table, as_of: date) -> None:
    tables = build_features(clean, as_of).tables
    movies, genres = tables[MOVIES.name], tables[MOVIE_GENRES.name]
    assert movies.schema == MOVIES.arrow_schema
    assert genres.schema == MOVIE_GENRES.arrow_schema
    assert movies["id"].to_pylist() == genres["id"].to_pylist() == clean["id"].to_pylist()
    assert set(movies["snapshot_date"].to_pylist()) <= {as_of}
    rows = clean.to_pylist()
    for row, movie, genre in zip(rows, movies.to_pylist(), genres.to_pylist(), strict=True):
        cast = row["cast"] or []
        assert movie["top_cast"] == (None if row["cast"] is None else cast[:TOP_CAST])
        assert movie["n_cast"] == len(cast)
        assert movie["first_actor"] == (cast[0] if cast else None)
        assert movie["n_writers"] == len(row["writers"] or [])
        release = row["release_date"]
        assert movie["release_year"] == (release.year if release else None)
        assert movie["release_month"] == (release.month if release else None)
        listed = row["genres"] or []
        assert genre["n_genres"] == len(listed)
        hot = {col for name, col in GENRES.items() if name in listed}
        assert {col for col in GENRES.values() if genre[col] == 1} == hot
        assert all(genre[col] in (0, 1) for col in GENRES.values())
        for name in ("title", "overview", "tagline", "budget"):
            assert movie[name] == row[name] or (movie[name] != movie[name] and row[name] != row[name])
    for row, signal in zip(rows, tables[MOVIE_SIGNALS.name].to_pylist(), strict=True):
        for name in ("imdb_rating", "imdb_votes", "popularity"):
            assert signal[name] == row[name] or (signal[name] != signal[name] and row[name] != row[name])


@given(st.lists(raw_rows, min_size=1, max_size=20), st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_features_of_any_cleaned_snapshot_keep_types_rows_and_counts(
    rows: list[dict[str, str | None]], as_of: date
) -> None:
    clean = clean_snapshot(_parsed(rows), as_of=AS_OF, source="csv", max_reject_fraction=1.0)
    _check_feature_invariants(clean.table, as_of)


# --------------------------------------------------------------------------------------
# Through a real CSV file
# --------------------------------------------------------------------------------------

csv_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), max_size=60)


def _good_record(movie_id: int, title: str, overview: str, tagline: str) -> dict[str, str]:
    record = dict.fromkeys(RAW_COLUMN_NAMES, "")
    record |= {
        "id": str(movie_id), "title": title, "overview": overview, "tagline": tagline,
        "status": "Released", "release_date": "2020-05-01", "vote_average": "6.5",
        "vote_count": "10.0", "runtime": "100.0", "imdb_rating": "7.0", "imdb_votes": "50.0",
        "genres": "Drama, Comedy",
    }  # fmt: skip
    return record


def _write_csv(path: Path, records: list[dict[str, str]], garbage: dict[int, str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        writer.writerow(RAW_COLUMN_NAMES)
        for i, record in enumerate(records):
            if i in garbage:
                handle.write(garbage[i] + "\n")
            writer.writerow([record[name] for name in RAW_COLUMN_NAMES])


@given(st.lists(st.tuples(csv_text, csv_text, csv_text), min_size=1, max_size=15))
def test_any_unicode_text_survives_the_csv_round_trip(texts: list[tuple[str, str, str]]) -> None:
    records = [_good_record(i + 1, *t) for i, t in enumerate(texts)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snap.csv"
        _write_csv(path, records, {})
        clean = clean_snapshot(read_snapshot_csv(path), as_of=AS_OF, source="csv",
                               max_reject_fraction=1.0)
    # Text comes back as written, unless it holds a control character other than tab and
    # newline: then the record is quarantined with that reason (a NUL is how corruption shows).
    control = [i + 1 for i, t in enumerate(texts) if any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", x) for x in t)]
    assert sorted(set(clean.rejects["id"].to_pylist())) == control
    assert all("control character" in r for r in clean.rejects["reason"].to_pylist())
    kept = [t for i, t in enumerate(texts) if i + 1 not in control]
    assert clean.table.num_rows == len(kept)
    for name, position in (("title", 0), ("overview", 1), ("tagline", 2)):
        expected = [t[position] or None for t in kept]  # an empty field is missing
        assert clean.table[name].to_pylist() == expected, name
    _check_feature_invariants(clean.table, AS_OF)


@given(
    st.lists(st.tuples(csv_text, csv_text), min_size=1, max_size=12),
    st.dictionaries(st.integers(0, 11), st.text(st.characters(codec="utf-8", exclude_characters="\x00\r\n"), max_size=80), max_size=4),
)
def test_garbage_lines_are_refused_or_quarantined_never_a_crash(
    texts: list[tuple[str, str]], garbage: dict[int, str]
) -> None:
    records = [_good_record(i + 1, title, overview, "") for i, (title, overview) in enumerate(texts)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snap.csv"
        _write_csv(path, records, garbage)
        try:
            parsed = read_snapshot_csv(path)
            clean = clean_snapshot(parsed, as_of=AS_OF, source="csv", max_reject_fraction=1.0)
        except DataError as exc:
            assert str(path) in str(exc) or "no rows" in str(exc)  # names the file
            return
    inserted = sum(1 for i in garbage if i < len(records))
    _check_clean_invariants(clean, clean.rows_read)
    assert clean.rows_read <= len(records) + inserted
    assert clean.table.num_rows <= len(records)


# --------------------------------------------------------------------------------------
# The store: any sequence of daily snapshots
# --------------------------------------------------------------------------------------

film = st.fixed_dictionaries({
    "rating": st.sampled_from(["", "5.5", "7.0", "8.25", "12.0"]),  # 12.0 is quarantined
    "genres": st.sampled_from(["", "Drama", "Drama, Comedy", "Horror"]),
    "title": st.text(st.characters(codec="utf-8", exclude_characters="\x00\r"), min_size=1, max_size=8),
})  # fmt: skip
day_snapshot = st.dictionaries(st.integers(1, 8), film, min_size=1, max_size=8)


def _day_records(day: dict[int, dict[str, str]]) -> list[dict[str, str]]:
    records = []
    for movie_id, f in sorted(day.items()):
        record = _good_record(movie_id, f["title"], "", "")
        record |= {"imdb_rating": f["rating"], "genres": f["genres"]}
        if not f["rating"]:
            record["imdb_votes"] = ""
        records.append(record)
    return records


@FEWER
@given(st.lists(day_snapshot, min_size=1, max_size=3))
def test_store_reads_back_each_day_exactly_whatever_the_sequence(days: list[dict]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalFeatureStore(Path(tmp) / "store", lock_timeout=5)
        expected: dict[int, dict] = {}  # id -> current movies row (features, not event time)
        for n, day in enumerate(days):
            as_of = AS_OF + timedelta(days=n)
            path = Path(tmp) / f"{as_of}.csv"
            _write_csv(path, _day_records(day), {})
            clean = clean_snapshot(read_snapshot_csv(path), as_of=as_of, source="csv",
                                   max_reject_fraction=1.0)
            features = build_features(clean.table, as_of).tables
            info = SnapshotInfo(as_of, "csv")
            store.upsert_snapshot(features, {MOVIES.name: 1, MOVIE_GENRES.name: 1}, info, clean.rejects)
            again = store.upsert_snapshot(features, {MOVIES.name: 1, MOVIE_GENRES.name: 1}, info, clean.rejects)
            assert again.created_commit is False  # idempotent

            quarantined = set(clean.rejects["id"].to_pylist())
            expected = {
                i: row for i, row in expected.items() if i in quarantined
            }  # absent films are deleted, quarantined ones keep their last good row
            for row in features[MOVIES.name].drop_columns(["snapshot_date"]).to_pylist():
                expected[row["id"]] = row
            stored = store.read_group(MOVIES.name, 1).drop_columns(["snapshot_date"])
            assert sorted(stored.to_pylist(), key=lambda r: r["id"]) == [
                expected[i] for i in sorted(expected)
            ]
            assert store.read_group(MOVIE_GENRES.name, 1).num_rows == len(expected)
        # every earlier day is still readable, with its own row count
        for commit in store.commits():
            assert store.read_group(MOVIES.name, 1, commit=commit.number).num_rows == (
                commit.groups["movies_1"].rows
            )
