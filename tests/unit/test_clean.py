"""The pure cleaning steps of movie_ratings/cleaning/, on tiny inline tables and CSV files in tmp_path."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from movie_ratings.cleaning.clean import (
    coerce_types,
    duplicate_records,
    keep_rows,
    null_malformed_links,
    parse_integers,
    split_lists,
    zeros_to_null,
)
from movie_ratings.cleaning.parse import ROW, BadLine, ParsedSnapshot, read_snapshot_csv
from movie_ratings.cleaning.rejects import Rejects
from movie_ratings.cleaning.snapshot import clean_snapshot
from movie_ratings.cleaning.validate import check_values
from movie_ratings.errors import BrokenSourceError, SchemaError
from movie_ratings.schema import (
    DEFAULT_MAX_REJECT_FRACTION,
    EARLIEST_RELEASE_YEAR,
    LIST_COLUMNS,
    MAX_YEARS_AHEAD,
    RAW_COLUMN_NAMES,
    RAW_COLUMNS,
    RAW_RANGES,
    REJECTS_SCHEMA,
    STATUSES,
    ZERO_MEANS_UNKNOWN,
)

AS_OF = date(2026, 2, 1)
LAST_YEAR = AS_OF.year + MAX_YEARS_AHEAD

# A valid record in the Kaggle schema; every value is the string the CSV would hold.
DEFAULTS: dict[str, str | None] = {
    "id": "27205",
    "title": "Inception",
    "vote_average": "8.4",
    "vote_count": "38000",
    "status": "Released",
    "release_date": "2010-07-15",
    "revenue": "839030630",
    "runtime": "148",
    "budget": "160000000",
    "imdb_id": "tt1375666",
    "original_language": "en",
    "original_title": "Inception",
    "overview": "A thief who steals secrets through dreams.",
    "popularity": "29.1",
    "tagline": "Your mind is the scene of the crime.",
    "genres": "Action, Science Fiction, Adventure",
    "production_companies": "Legendary Pictures, Syncopy",
    "production_countries": "United Kingdom, United States of America",
    "spoken_languages": "English, French, Japanese",
    "cast": "Leonardo DiCaprio, Joseph Gordon-Levitt",
    "director": "Christopher Nolan",
    "director_of_photography": "Wally Pfister",
    "writers": "Christopher Nolan",
    "producers": "Emma Thomas, Christopher Nolan",
    "music_composer": "Hans Zimmer",
    "imdb_rating": "8.8",
    "imdb_votes": "2600000",
    "poster_path": "/inception.jpg",
}
assert tuple(DEFAULTS) == RAW_COLUMN_NAMES


def row(**overrides: str | None) -> dict[str, str | None]:
    """A 28-column Kaggle record with sensible defaults; None is an empty field."""
    unknown = set(overrides) - set(DEFAULTS)
    assert not unknown, f"not Kaggle columns: {unknown}"
    return {**DEFAULTS, **overrides}


def raw_table(*rows: dict[str, str | None]) -> pa.Table:
    """What read_snapshot_csv returns for these records: strings plus the 1-based _row."""
    columns = {name: pa.array([r[name] for r in rows], pa.string()) for name in RAW_COLUMN_NAMES}
    columns[ROW] = pa.array(range(1, len(rows) + 1), pa.int64())
    return pa.table(columns)


def typed_table(*rows: dict[str, str | None]) -> pa.Table:
    typed, rejects = coerce_types(raw_table(*rows), AS_OF)
    assert not rejects.rows, "typed_table expects valid values"
    return typed


def drop_duplicate_ids(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """(kept, dropped) by the rule clean_snapshot applies: the last record of an id wins."""
    duplicate = duplicate_records(table["id"], np.arange(table.num_rows))
    keep = np.ones(table.num_rows, dtype=bool)
    keep[duplicate] = False
    return keep_rows(table, keep), table.take(pa.array(duplicate, pa.int64()))


def flat(rejects: Rejects) -> list[tuple[int, str, str]]:
    """(row, column, reason) for every rejected record, in the order they were added."""
    out = []
    for rows, column, reasons in zip(rejects.rows, rejects.columns, rejects.reasons, strict=True):
        out.extend((int(r), column, why) for r, why in zip(rows.tolist(), reasons, strict=True))
    return out


def coerce(*rows: dict[str, str | None]) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    typed, rejects = coerce_types(raw_table(*rows), AS_OF)
    return typed, flat(rejects)


def check(*rows: dict[str, str | None]) -> list[tuple[int, str, str]]:
    """Run coerce_types, zeros_to_null and check_values; return what check_values rejected."""
    typed = zeros_to_null(typed_table(*rows))
    return flat(check_values(typed))


def clean(*rows: dict[str, str | None], fraction: float = 1.0, **parsed_kw):
    parsed = ParsedSnapshot(raw_table(*rows), **parsed_kw)
    return clean_snapshot(parsed, as_of=AS_OF, source="test", max_reject_fraction=fraction)


def write_csv(
    path: Path, rows: list[dict[str, str | None]], header: tuple[str, ...] = RAW_COLUMN_NAMES
) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r[c] for c in header])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


HEADER = ",".join(RAW_COLUMN_NAMES)
GOOD_LINE = ",".join(f'"{v}"' for v in DEFAULTS.values())


# --------------------------------------------------------------------------------------
# read_snapshot_csv
# --------------------------------------------------------------------------------------


def test_read_of_a_clean_file_lets_the_parser_type_numbers_and_dates(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [row(id="1"), row(id="2"), row(id="3")])
    parsed = read_snapshot_csv(path)
    assert parsed.table.column_names == [*RAW_COLUMN_NAMES, ROW]
    for name, dtype in RAW_COLUMNS.items():
        expected = dtype if name != "id" and not pa.types.is_string(dtype) else pa.string()
        assert parsed.table.schema.field(name).type == expected, name
    assert parsed.table[ROW].to_pylist() == [1, 2, 3]
    assert parsed.table["id"].to_pylist() == ["1", "2", "3"]
    assert parsed.bad_lines == ()
    assert parsed.extra_columns == ()


def test_read_turns_empty_fields_into_null(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [row(tagline=None, budget=None)])
    parsed = read_snapshot_csv(path)
    assert parsed.table["tagline"].to_pylist() == [None]
    assert parsed.table["budget"].to_pylist() == [None]


def test_read_keeps_quotes_commas_and_newlines_inside_an_overview(tmp_path: Path) -> None:
    overview = 'He said "no", then left,\nand\r\nnever came back, "ever".'
    path = write_csv(tmp_path / "s.csv", [row(id="1", overview=overview), row(id="2")])
    parsed = read_snapshot_csv(path)
    assert parsed.table.num_rows == 2
    assert parsed.table["overview"].to_pylist()[0] == overview
    assert parsed.table["id"].to_pylist() == ["1", "2"]
    assert parsed.bad_lines == ()


@pytest.mark.parametrize(
    "missing",
    [("imdb_rating",), ("id", "title"), ("poster_path",), ("release_date", "genres", "cast")],
)
def test_read_names_every_missing_required_column(tmp_path: Path, missing: tuple[str, ...]) -> None:
    header = tuple(c for c in RAW_COLUMN_NAMES if c not in missing)
    path = write_csv(tmp_path / "s.csv", [row()], header=header)
    with pytest.raises(SchemaError, match="missing required column") as info:
        read_snapshot_csv(path)
    named = str(info.value).split("; found")[0]
    for column in missing:
        assert column in named
    assert "imdb_votes" not in named  # present columns are not called missing


def test_read_missing_columns_are_named_even_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("id,title\n")
    with pytest.raises(SchemaError) as info:
        read_snapshot_csv(path)
    named = str(info.value).split("; found")[0]
    assert all(c in named for c in RAW_COLUMN_NAMES if c not in ("id", "title"))


def test_read_keeps_unknown_columns_out_and_reports_them(tmp_path: Path) -> None:
    header = (*RAW_COLUMN_NAMES, "homepage", "keywords")
    rows = [{**row(), "homepage": "https://x.example", "keywords": "dream"}]
    path = write_csv(tmp_path / "s.csv", rows, header=header)
    parsed = read_snapshot_csv(path)
    assert parsed.extra_columns == ("homepage", "keywords")
    assert "homepage" not in parsed.table.column_names
    assert "keywords" not in parsed.table.column_names
    assert parsed.table.num_rows == 1


def test_read_accepts_columns_in_another_order(tmp_path: Path) -> None:
    header = tuple(reversed(RAW_COLUMN_NAMES))
    path = write_csv(tmp_path / "s.csv", [row(id="7", title="Seven")], header=header)
    parsed = read_snapshot_csv(path)
    assert parsed.table["id"].to_pylist() == ["7"]
    assert parsed.table["title"].to_pylist() == ["Seven"]


def test_read_rejects_a_column_named_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER + ",title\n")
    with pytest.raises(SchemaError, match="named twice") as info:
        read_snapshot_csv(path)
    assert "title" in str(info.value)


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="no such file"):
        read_snapshot_csv(tmp_path / "nope.csv")


def test_read_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(b"")
    with pytest.raises(SchemaError, match="empty"):
        read_snapshot_csv(path)


def test_read_blank_first_line(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("\n" + HEADER + "\n" + GOOD_LINE + "\n")
    with pytest.raises(SchemaError, match="first line is empty"):
        read_snapshot_csv(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xfd", "not UTF-8"),
        (bytes(range(128, 256)) * 3, "not UTF-8"),
        (b"lorem ipsum dolor sit amet\nconsectetur adipiscing\n", "missing required column"),
        (b'{"id": 1, "title": "Inception"}\n', "missing required column"),
        (b"<html><body>404 Not Found</body></html>\n", "missing required column"),
    ],
    ids=["png", "high-bytes", "prose", "json", "html"],
)
def test_read_garbage_fails_with_a_message_naming_the_problem(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(content)
    with pytest.raises(SchemaError, match=problem) as info:
        read_snapshot_csv(path)
    assert str(path) in str(info.value)


# pyarrow cannot decode the bad row's text for the invalid-row handler and reports that as
# an unraisable exception before failing the read.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_read_binary_rows_after_a_valid_header(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(HEADER.encode() + b"\n" + bytes(range(128, 256)) + b"\n")
    with pytest.raises(SchemaError, match="not a readable CSV"):
        read_snapshot_csv(path)


def test_read_header_only_gives_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "\n")
    parsed = read_snapshot_csv(path)
    assert parsed.table.num_rows == 0
    assert parsed.table.column_names == [*RAW_COLUMN_NAMES, ROW]


@pytest.mark.parametrize("prefix", [b"\xef\xbb\xbf", b""], ids=["bom", "no-bom"])
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_read_header_with_bom_or_crlf(tmp_path: Path, prefix: bytes, newline: bytes) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(prefix + HEADER.encode() + newline + GOOD_LINE.encode() + newline)
    parsed = read_snapshot_csv(path)
    assert parsed.table["id"].to_pylist() == ["27205"]
    assert parsed.table["poster_path"].to_pylist() == ["/inception.jpg"]


TOO_MANY = ",".join(["x"] * (len(RAW_COLUMN_NAMES) + 1))


def test_read_reports_lines_with_the_wrong_number_of_fields(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "\n".join([HEADER, GOOD_LINE, "1,2,3", GOOD_LINE.replace('"27205"', '"9"'), TOO_MANY])
        + "\n"
    )
    parsed = read_snapshot_csv(path)
    assert parsed.table["id"].to_pylist() == ["27205", "9"]
    reasons = [b.reason for b in parsed.bad_lines]
    n = len(RAW_COLUMN_NAMES)
    assert reasons == [
        f"line 3: expected {n} fields, got 3",
        f"line 5: expected {n} fields, got {n + 1}",
    ]
    assert parsed.bad_lines[0].text == "1,2,3"
    assert parsed.bad_lines[1].text == TOO_MANY


def test_read_bad_lines_carry_their_line_number(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("\n".join([HEADER, GOOD_LINE, "1,2,3"]) + "\n")
    parsed = read_snapshot_csv(path)
    assert [b.number for b in parsed.bad_lines] == [3]


def test_read_header_with_spaces_after_commas_fails_as_schema_error(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER.replace(",", ", ") + "\n" + GOOD_LINE + "\n")
    try:
        parsed = read_snapshot_csv(path)
    except SchemaError:
        return
    assert parsed.table["title"].to_pylist() == ["Inception"]


# --------------------------------------------------------------------------------------
# coerce_types
# --------------------------------------------------------------------------------------


def test_coerce_gives_the_schema_types() -> None:
    typed, rejects = coerce(row())
    assert rejects == []
    assert typed.schema == pa.schema([*(pa.field(n, t) for n, t in RAW_COLUMNS.items()), pa.field(ROW, pa.int64())])
    values = typed.to_pylist()[0]
    assert values["id"] == 27205
    assert values["vote_average"] == 8.4
    assert values["release_date"] == date(2010, 7, 15)
    assert values["genres"] == "Action, Science Fiction, Adventure"  # split later
    assert values[ROW] == 1


def test_coerce_keeps_nulls_null_without_rejecting() -> None:
    empty = {c: None for c in RAW_COLUMN_NAMES if c not in ("id", "title", "status")}
    typed, rejects = coerce(row(**empty))
    assert rejects == []
    values = typed.to_pylist()[0]
    assert all(values[c] is None for c in empty)


def test_coerce_trims_whitespace_around_numbers_and_codes_not_text() -> None:
    typed, rejects = coerce(
        row(id=" 12 ", runtime=" 90 ", status=" Released ", title="  Spaced  ", release_date=" 2020-01-02 ")
    )
    assert rejects == []
    values = typed.to_pylist()[0]
    assert values["id"] == 12
    assert values["runtime"] == 90.0
    assert values["status"] == "Released"
    assert values["release_date"] == date(2020, 1, 2)
    assert values["title"] == "  Spaced  "


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("budget", "1e6", 1e6),
        ("budget", "+5", 5.0),
        ("popularity", ".5", 0.5),
        ("popularity", "1.", 1.0),
        ("imdb_rating", "7", 7.0),
        ("vote_average", "-1.5", -1.5),  # a range problem, not a type problem
        ("id", "42", 42),
        ("id", "42.0", 42),
    ],
)
@pytest.mark.parametrize("neighbour", [False, True], ids=["all-valid", "beside-a-bad-value"])
def test_coerce_accepts_number_spellings(column: str, text: str, expected: float, neighbour: bool) -> None:
    rows = [row(**{column: text})]
    if neighbour:  # forces the slower row-by-row path
        rows.append(row(**{"id": "2", column: "oops"}))
    typed, rejects = coerce(*rows)
    assert typed[column][0].as_py() == expected
    assert all(r != 1 for r, _, _ in rejects)


@pytest.mark.parametrize(
    ("column", "text", "kind"),
    [
        ("budget", "abc", "a number"),
        ("budget", "12abc", "a number"),
        ("revenue", "1,000", "a number"),
        ("runtime", "2h 28m", "a number"),
        ("imdb_rating", "nan", "a number"),
        ("imdb_rating", "inf", "a number"),
        ("popularity", "-", "a number"),
        ("id", "12.5", "an integer"),
        ("id", "tt1375666", "an integer"),
        ("id", "nan", "an integer"),
    ],
)
def test_coerce_rejects_text_that_is_not_a_number(column: str, text: str, kind: str) -> None:
    typed, rejects = coerce(row(id="1"), row(**{"id": "2", column: text}))
    assert [(r, c) for r, c, _ in rejects] == [(2, column)]
    reason = rejects[0][2]
    assert reason.startswith(f"{column} is not {kind}")
    assert repr(text.strip()) in reason
    # the good row is untouched; the bad value is null only because its row is quarantined
    assert typed[column][0].as_py() is not None
    assert typed[column][1].as_py() is None


def test_coerce_one_bad_value_rejects_only_its_row_and_column() -> None:
    _, rejects = coerce(row(id="1"), row(id="2", budget="lots", imdb_rating="great"), row(id="3"))
    assert sorted((r, c) for r, c, _ in rejects) == [(2, "budget"), (2, "imdb_rating")]


@pytest.mark.parametrize(
    "text",
    ["2021-13-01", "2021-00-10", "2021-01-32", "not a date", "2020/05/01", "15/07/2010", "2010-07"],
)
def test_coerce_rejects_invalid_dates(text: str) -> None:
    typed, rejects = coerce(row(id="1"), row(id="2", release_date=text))
    assert [(r, c) for r, c, _ in rejects] == [(2, "release_date")]
    assert "release_date is not a YYYY-MM-DD date" in rejects[0][2]
    assert typed["release_date"].to_pylist() == [date(2010, 7, 15), None]


@pytest.mark.parametrize("text", ["2020-02-30", "2021-02-29", "2020-04-31"])
def test_coerce_rejects_days_that_do_not_exist(text: str) -> None:
    _, rejects = coerce(row(release_date=text))
    assert [c for _, c, _ in rejects] == ["release_date"]


def test_coerce_accepts_a_leap_day() -> None:
    typed, rejects = coerce(row(release_date="2020-02-29"))
    assert rejects == []
    assert typed["release_date"].to_pylist() == [date(2020, 2, 29)]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (f"{EARLIEST_RELEASE_YEAR}-01-01", True),
        (f"{EARLIEST_RELEASE_YEAR - 1}-12-31", False),
        ("0001-01-01", False),
        (f"{LAST_YEAR}-12-31", True),
        (f"{LAST_YEAR + 1}-01-01", False),
        ("9999-12-31", False),
        (AS_OF.isoformat(), True),
    ],
)
def test_coerce_rejects_absurd_release_years(text: str, ok: bool) -> None:
    _, rejects = coerce(row(release_date=text))
    if ok:
        assert rejects == []
    else:
        assert [c for _, c, _ in rejects] == ["release_date"]
        assert f"year outside [{EARLIEST_RELEASE_YEAR}, {LAST_YEAR}]" in rejects[0][2]


def test_coerce_bounds_release_years_by_the_snapshot_date() -> None:
    _, rejects = coerce_types(raw_table(row(release_date="2030-01-01")), date(2010, 1, 1))
    assert [c for _, c, _ in flat(rejects)] == ["release_date"]


@pytest.mark.parametrize("missing", ["imdb_rating", "release_date", "title", ROW])
def test_coerce_missing_column_fails_loudly(missing: str) -> None:
    table = raw_table(row()).drop_columns([missing])
    with pytest.raises(KeyError, match=missing):
        coerce_types(table, AS_OF)


def test_coerce_id_in_exponent_form_does_not_depend_on_other_rows() -> None:
    _, alone = coerce(row(id="1e3"))
    _, beside_bad = coerce(row(id="1e3"), row(id="oops"))
    assert bool(alone) == any(r == 1 for r, _, _ in beside_bad)


def test_coerce_large_id_is_not_silently_changed() -> None:
    typed, rejects = coerce(row(id="9007199254740993"))
    assert rejects or typed["id"][0].as_py() == 9007199254740993


# --------------------------------------------------------------------------------------
# zeros_to_null
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ZERO_MEANS_UNKNOWN)
def test_zero_means_unknown_becomes_null(column: str) -> None:
    out = zeros_to_null(typed_table(row(**{column: "0"}), row(id="2", **{column: "0.0"})))
    assert out[column].to_pylist() == [None, None]
    assert out.schema.field(column).type == RAW_COLUMNS[column]


@pytest.mark.parametrize("column", ["imdb_votes", "vote_count", "popularity"])
def test_zero_stays_zero_outside_zero_means_unknown(column: str) -> None:
    assert column not in ZERO_MEANS_UNKNOWN
    out = zeros_to_null(typed_table(row(**{column: "0"})))
    assert out[column].to_pylist() == [0.0]


def test_zeros_to_null_leaves_other_values_and_nulls_alone() -> None:
    table = typed_table(row(budget="5", runtime=None, revenue="0.5", vote_average="10"))
    out = zeros_to_null(table)
    assert out.select(list(ZERO_MEANS_UNKNOWN)).to_pylist() == [
        {"budget": 5.0, "revenue": 0.5, "runtime": None, "vote_average": 10.0}
    ]
    assert out.column_names == table.column_names


@pytest.mark.parametrize("missing", ZERO_MEANS_UNKNOWN)
def test_zeros_to_null_missing_column_fails_loudly(missing: str) -> None:
    with pytest.raises(KeyError, match=missing):
        zeros_to_null(typed_table(row()).drop_columns([missing]))


# --------------------------------------------------------------------------------------
# check_values
# --------------------------------------------------------------------------------------


def test_check_values_passes_a_valid_row() -> None:
    assert check(row()) == []


def _boundary_cases() -> list:
    cases = []
    for name, bounds in RAW_RANGES.items():
        step = 1 if pa.types.is_integer(RAW_COLUMNS[name]) else 0.01
        if bounds.low is not None:
            cases.append(pytest.param(name, bounds.low, True, id=f"{name}-low"))
            cases.append(pytest.param(name, bounds.low - step, False, id=f"{name}-below"))
        if bounds.high is not None:
            cases.append(pytest.param(name, bounds.high, True, id=f"{name}-high"))
            high_step = max(step, bounds.high * 1e-6)
            cases.append(pytest.param(name, bounds.high + high_step, False, id=f"{name}-above"))
        else:
            cases.append(pytest.param(name, 1e12, True, id=f"{name}-huge"))
    return cases


@pytest.mark.parametrize(("column", "value", "ok"), _boundary_cases())
def test_check_values_ranges_at_their_boundaries(column: str, value: float, ok: bool) -> None:
    text = str(int(value)) if float(value).is_integer() else repr(value)
    rejects = check(row(id="5", **{column: text}) if column != "id" else row(id=text))
    if ok:
        assert rejects == []
    else:
        assert [(r, c) for r, c, _ in rejects] == [(1, column)]
        assert rejects[0][2].startswith(f"{column} outside {RAW_RANGES[column].describe()}")


@pytest.mark.parametrize("value", ["0", "0.5", "10.1", "-3", "11"])
def test_check_values_rejects_imdb_rating_outside_one_to_ten(value: str) -> None:
    rejects = check(row(imdb_rating=value))
    assert [c for _, c, _ in rejects] == ["imdb_rating"]
    assert "[1, 10]" in rejects[0][2]


@pytest.mark.parametrize(
    ("column", "value"),
    [("vote_count", "-1"), ("imdb_votes", "-5"), ("runtime", "1001"), ("budget", "-1"),
     ("revenue", "-100"), ("popularity", "-0.1"), ("vote_average", "11")],
)
def test_check_values_rejects_impossible_values(column: str, value: str) -> None:
    rejects = check(row(**{column: value}))
    assert [c for _, c, _ in rejects] == [column]
    assert value.lstrip("-") in rejects[0][2]


def test_check_values_allows_zero_that_means_unknown() -> None:
    # runtime's range starts at 1, but a 0 runtime is "unknown" and became null first
    assert check(row(runtime="0", budget="0", revenue="0", vote_average="0")) == []


def test_check_values_rejects_a_missing_id() -> None:
    rejects = check(row(id="1"), row(id=None))
    assert rejects == [(2, "id", "id is missing")]


@pytest.mark.parametrize("status", STATUSES)
def test_check_values_accepts_every_known_status(status: str) -> None:
    assert check(row(status=status)) == []


@pytest.mark.parametrize("status", ["Released!", "released", "Cancelled", "Unknown"])
def test_check_values_rejects_an_unknown_status(status: str) -> None:
    rejects = check(row(status=status))
    assert [c for _, c, _ in rejects] == ["status"]
    assert repr(status) in rejects[0][2]


def test_check_values_keeps_nulls_in_range_columns() -> None:
    nulls = {c: None for c in RAW_RANGES if c != "id"}
    assert check(row(**nulls)) == []


def test_check_values_reports_each_problem_of_a_row() -> None:
    rejects = check(row(id="1"), row(id="2", runtime="5000", imdb_rating="0", status="Lost"))
    assert sorted((r, c) for r, c, _ in rejects) == [(2, "imdb_rating"), (2, "runtime"), (2, "status")]


@pytest.mark.parametrize("missing", ["id", "imdb_rating", "status"])
def test_check_values_missing_column_fails_loudly(missing: str) -> None:
    table = zeros_to_null(typed_table(row())).drop_columns([missing])
    with pytest.raises(KeyError, match=missing):
        check_values(table)


# --------------------------------------------------------------------------------------
# split_lists
# --------------------------------------------------------------------------------------


def test_split_lists_splits_every_list_column() -> None:
    out = split_lists(typed_table(row()))
    for name in LIST_COLUMNS:
        assert out.schema.field(name).type == pa.list_(pa.string())
    values = out.to_pylist()[0]
    assert values["genres"] == ["Action", "Science Fiction", "Adventure"]
    assert values["director"] == ["Christopher Nolan"]
    assert values["title"] == "Inception"  # other columns untouched


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Drama", ["Drama"]),
        ("Drama, Crime", ["Drama", "Crime"]),
        ("Science Fiction, TV Movie", ["Science Fiction", "TV Movie"]),
        (None, None),
    ],
)
def test_split_lists_cases(text: str | None, expected: list[str] | None) -> None:
    out = split_lists(typed_table(row(genres=text, cast=text)))
    assert out["genres"].to_pylist() == [expected]
    assert out["cast"].to_pylist() == [expected]


@pytest.mark.parametrize("missing", ["genres", "music_composer"])
def test_split_lists_missing_column_fails_loudly(missing: str) -> None:
    with pytest.raises(KeyError, match=missing):
        split_lists(typed_table(row()).drop_columns([missing]))


# --------------------------------------------------------------------------------------
# drop_duplicate_ids
# --------------------------------------------------------------------------------------


def test_drop_duplicate_ids_keeps_the_last_record_in_file_order() -> None:
    table = typed_table(
        row(id="1", title="old"), row(id="2", title="only"), row(id="1", title="new"),
        row(id="3", title="a"), row(id="3", title="b"), row(id="3", title="c"),
    )
    kept, dropped = drop_duplicate_ids(table)
    assert kept.select(["id", "title", ROW]).to_pylist() == [
        {"id": 2, "title": "only", ROW: 2},
        {"id": 1, "title": "new", ROW: 3},
        {"id": 3, "title": "c", ROW: 6},
    ]
    assert sorted(dropped[ROW].to_pylist()) == [1, 4, 5]
    assert kept.schema == table.schema == dropped.schema


def test_drop_duplicate_ids_winner_follows_file_order_not_content() -> None:
    a, b = row(id="1", title="A"), row(id="1", title="B")
    assert drop_duplicate_ids(typed_table(a, b))[0]["title"].to_pylist() == ["B"]
    assert drop_duplicate_ids(typed_table(b, a))[0]["title"].to_pylist() == ["A"]


def test_drop_duplicate_ids_is_deterministic() -> None:
    table = typed_table(*(row(id=str(i % 3 + 1), title=str(i)) for i in range(9)))
    first = drop_duplicate_ids(table)
    second = drop_duplicate_ids(table)
    assert first[0].equals(second[0]) and first[1].equals(second[1])
    assert first[0]["title"].to_pylist() == ["6", "7", "8"]


@pytest.mark.parametrize("n", [0, 1, 3])
def test_drop_duplicate_ids_without_duplicates(n: int) -> None:
    table = typed_table(*(row(id=str(i + 1)) for i in range(n))) if n else typed_table(row()).slice(0, 0)
    kept, dropped = drop_duplicate_ids(table)
    assert kept.equals(table)
    assert dropped.num_rows == 0
    assert dropped.schema == table.schema


def test_drop_duplicate_ids_missing_id_column_fails_loudly() -> None:
    with pytest.raises(KeyError, match="id"):
        drop_duplicate_ids(typed_table(row()).drop_columns(["id"]))


# --------------------------------------------------------------------------------------
# clean_snapshot
# --------------------------------------------------------------------------------------


def test_clean_snapshot_good_rows() -> None:
    result = clean(row(id="1"), row(id="2", budget="0", genres="Drama"))
    assert result.rows_read == 2
    assert result.rejected_rows == 0
    assert result.duplicates == 0
    assert result.warnings == ()
    assert result.rejects.num_rows == 0
    assert result.rejects.schema == REJECTS_SCHEMA
    assert result.table.column_names == list(RAW_COLUMN_NAMES)
    values = result.table.to_pylist()
    assert [v["id"] for v in values] == [1, 2]
    assert values[1]["budget"] is None
    assert values[1]["genres"] == ["Drama"]
    assert values[0]["release_date"] == date(2010, 7, 15)


def test_clean_snapshot_keeps_a_row_with_many_nulls() -> None:
    keep = {"id", "title", "status"}
    result = clean(row(**{c: None for c in RAW_COLUMN_NAMES if c not in keep}))
    assert result.table.num_rows == 1
    assert result.rejected_rows == 0
    values = result.table.to_pylist()[0]
    assert all(values[c] is None for c in RAW_COLUMN_NAMES if c not in keep)


def test_clean_snapshot_quarantines_with_column_reason_and_raw_record() -> None:
    result = clean(row(id="1"), row(id="2", imdb_rating="11", title="Bad"), row(id="3", budget="x"))
    assert result.table["id"].to_pylist() == [1]
    assert result.rejected_rows == 2
    rejects = sorted(result.rejects.to_pylist(), key=lambda r: r["record"])
    assert [(r["record"], r["id"], r["column"]) for r in rejects] == [
        (2, 2, "imdb_rating"),
        (3, 3, "budget"),
    ]
    assert all(r["snapshot_date"] == AS_OF and r["source"] == "test" for r in rejects)
    assert "imdb_rating outside [1, 10]" in rejects[0]["reason"]
    assert "budget is not a number" in rejects[1]["reason"]
    # raw is the record as JSON, cut to 500 characters (so not always parseable)
    assert rejects[0]["raw"].startswith('{"id": "2", "title": "Bad", ')
    assert ROW not in rejects[0]["raw"]


def test_clean_snapshot_never_repairs_a_rejected_value() -> None:
    result = clean(row(id="1"), row(id="2", runtime="-90"))
    assert 2 not in result.table["id"].to_pylist()
    assert result.table["runtime"].to_pylist() == [148.0]


def test_clean_snapshot_counts_a_row_with_two_problems_once() -> None:
    result = clean(row(id="1"), row(id="2", imdb_rating="0", runtime="2000"))
    assert result.rejects.num_rows == 2
    assert result.rejected_rows == 1
    assert set(result.rejects["record"].to_pylist()) == {2}


def test_clean_snapshot_resolves_duplicates_and_counts_them() -> None:
    result = clean(
        row(id="1", title="old"), row(id="2"), row(id="1", title="new"), row(id="1", title="newest")
    )
    assert result.duplicates == 2
    assert result.table.select(["id", "title"]).to_pylist() == [
        {"id": 2, "title": "Inception"},
        {"id": 1, "title": "newest"},
    ]
    dups = result.rejects.to_pylist()
    assert sorted(r["record"] for r in dups) == [1, 3]
    assert all(r["column"] == "id" and "id repeated" in r["reason"] for r in dups)
    assert result.rejected_rows == 2


def test_clean_snapshot_counts_bad_lines_as_read_and_rejected() -> None:
    bad = (BadLine(None, "1,2,3", "expected 28 fields, got 3"),)
    result = clean(*(row(id=str(i)) for i in range(1, 10)), bad_lines=bad)
    assert result.rows_read == 10
    assert result.rejected_rows == 1
    rejects = result.rejects.to_pylist()
    assert rejects == [
        {"snapshot_date": AS_OF, "source": "test", "record": None, "id": None, "column": None,
         "reason": "expected 28 fields, got 3", "raw": "1,2,3"}
    ]


def test_clean_snapshot_warns_about_unknown_columns() -> None:
    result = clean(row(), extra_columns=("homepage", "keywords"))
    assert len(result.warnings) == 1
    assert "homepage" in result.warnings[0] and "keywords" in result.warnings[0]
    assert "homepage" not in result.table.column_names


def test_clean_snapshot_header_only_fails() -> None:
    with pytest.raises(SchemaError, match="no rows"):
        clean(fraction=DEFAULT_MAX_REJECT_FRACTION)


def test_clean_snapshot_too_many_rejects_is_a_broken_source() -> None:
    rows = [row(id=str(i)) for i in range(1, 9)]
    rows += [row(id="9", imdb_rating="42"), row(id="10", imdb_rating="-1")]
    with pytest.raises(BrokenSourceError) as info:
        clean(*rows, fraction=0.1)
    message = str(info.value)
    assert "2 of 10 records rejected" in message
    assert "broken" in message and "nothing was written" in message
    assert "imdb_rating outside [1, 10]" in message


def test_clean_snapshot_reject_share_at_the_threshold_passes() -> None:
    rows = [row(id=str(i)) for i in range(1, 10)] + [row(id="10", imdb_rating="42")]
    result = clean(*rows, fraction=0.1)
    assert result.rejected_rows == 1
    assert result.table.num_rows == 9


def test_clean_snapshot_all_bad_lines_is_a_broken_source() -> None:
    bad = tuple(BadLine(None, "garbage", "expected 28 fields, got 1") for _ in range(5))
    parsed = ParsedSnapshot(raw_table(), bad_lines=bad)
    with pytest.raises(BrokenSourceError, match="expected 28 fields"):
        clean_snapshot(parsed, as_of=AS_OF, source="t", max_reject_fraction=DEFAULT_MAX_REJECT_FRACTION)


def test_clean_snapshot_from_csv_end_to_end(tmp_path: Path) -> None:
    overview = 'Quotes "like this", commas, and\na newline.'
    path = write_csv(
        tmp_path / "s.csv",
        [row(id="1", overview=overview, genres=None), row(id="2", imdb_votes="0", runtime="0")],
    )
    result = clean_snapshot(
        read_snapshot_csv(path), as_of=AS_OF, source="csv",
        max_reject_fraction=DEFAULT_MAX_REJECT_FRACTION,
    )
    values = result.table.to_pylist()
    assert values[0]["overview"] == overview
    assert values[0]["genres"] is None  # empty list column -> null, not [""]
    assert values[1]["imdb_votes"] == 0.0
    assert values[1]["runtime"] is None


def test_clean_snapshot_garbage_rows_after_a_header_is_a_broken_source(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "\nlorem ipsum\ndolor sit amet\n" + GOOD_LINE + "\n")
    parsed = read_snapshot_csv(path)
    with pytest.raises(BrokenSourceError, match="2 of 3 records rejected"):
        clean_snapshot(parsed, as_of=AS_OF, source="csv", max_reject_fraction=0.1)


def test_clean_snapshot_quarantines_a_row_whose_id_has_spaces() -> None:
    result = clean(row(id="1"), row(id=" 12 ", imdb_rating="11"))
    assert result.rejects.to_pylist()[0]["id"] == 12


def test_clean_snapshot_quarantines_an_id_too_large_for_int64() -> None:
    result = clean(row(id="1"), row(id="99999999999999999999"))
    assert result.rejects.to_pylist()[0]["column"] == "id"


# --------------------------------------------------------------------------------------
# Inputs are never changed
# --------------------------------------------------------------------------------------


STEPS: dict[str, Callable[[pa.Table], object]] = {
    "coerce_types": lambda t: coerce_types(t, AS_OF),
    "zeros_to_null": zeros_to_null,
    "check_values": check_values,
    "split_lists": split_lists,
    "drop_duplicate_ids": drop_duplicate_ids,
}


@pytest.mark.parametrize("step", STEPS)
def test_steps_do_not_change_their_input(step: str) -> None:
    rows = [row(id="1", budget="0"), row(id="1", runtime="0", genres="A, B"), row(id="2", imdb_rating="99")]
    table = raw_table(*rows) if step == "coerce_types" else typed_table(*rows)
    before = table.to_pylist(), table.schema
    STEPS[step](table)
    assert (table.to_pylist(), table.schema) == before


def test_clean_snapshot_does_not_change_its_input() -> None:
    parsed = ParsedSnapshot(raw_table(row(id="1", budget="0"), row(id="1"), row(id="2", imdb_rating="0")))
    before = parsed.table.to_pylist(), parsed.table.schema
    clean_snapshot(parsed, as_of=AS_OF, source="t", max_reject_fraction=1.0)
    assert (parsed.table.to_pylist(), parsed.table.schema) == before


# --------------------------------------------------------------------------------------
# Fixes found by the tests above
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["vote_count", "budget", "id"])
def test_a_field_of_only_spaces_is_missing_not_malformed(column: str) -> None:
    typed, rejects = coerce(row(**{column: "  "}))
    assert rejects == []
    assert typed[column].to_pylist() == [None]


def test_ids_keep_every_digit_and_accept_a_trailing_zero_fraction() -> None:
    typed, rejects = coerce(row(id="9007199254740993"), row(id="42.0"), row(id=" 7 "), row(id="+8"))
    assert rejects == []
    assert typed["id"].to_pylist() == [9007199254740993, 42, 7, 8]


def test_raw_record_of_a_reject_is_valid_json_even_with_long_texts() -> None:
    result = clean(row(id="1"), row(id="2", overview="x" * 5000, imdb_rating="11"))
    raw = json.loads(result.rejects.to_pylist()[0]["raw"])
    assert raw["id"] == "2"
    assert raw["overview"].endswith("...") and len(raw["overview"]) <= 200


def test_reasons_show_dates_as_written() -> None:
    _, rejects = coerce(row(release_date="1500-01-01"))
    assert "'1500-01-01'" in rejects[0][2]


def test_malformed_link_ids_become_null_and_are_counted() -> None:
    typed = typed_table(
        row(id="1", imdb_id="tt0137523", poster_path="/a1.jpg"),
        row(id="2", imdb_id="javascript:alert(1)", poster_path="../../etc/passwd"),
        row(id="3", imdb_id=None, poster_path=None),
    )
    out, counts = null_malformed_links(typed)
    assert out["imdb_id"].to_pylist() == ["tt0137523", None, None]
    assert out["poster_path"].to_pylist() == ["/a1.jpg", None, None]
    assert counts == {"imdb_id": 1, "poster_path": 1}
    assert typed["imdb_id"].to_pylist()[1] == "javascript:alert(1)"  # input unchanged


def test_clean_snapshot_keeps_a_film_with_a_malformed_link_and_warns() -> None:
    result = clean(row(id="1"), row(id="2", poster_path="http://evil/x.jpg"))
    assert result.table.num_rows == 2
    assert result.rejects.num_rows == 0
    assert any("poster_path" in w for w in result.warnings)


def test_read_of_a_file_with_one_bad_value_gives_text_to_check_row_by_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [row(id="1"), row(id="2", budget="lots")])
    parsed = read_snapshot_csv(path)
    assert all(parsed.table.schema.field(c).type == pa.string() for c in RAW_COLUMN_NAMES)


@pytest.mark.parametrize(
    ("column", "value"),
    [("budget", "lots"), ("release_date", "2020-02-30"), ("imdb_rating", "nan"),
     ("id", "0x10"), ("runtime", " ")],
)
def test_both_read_paths_clean_a_file_the_same_way(
    tmp_path: Path, column: str, value: str
) -> None:
    """The parser's typed read (clean files) and the text read agree on every value."""
    rows = [row(id="1"), row(**{"id": "2", column: value}), row(id="3", imdb_rating="7.25")]
    fast = read_snapshot_csv(write_csv(tmp_path / "s.csv", rows))
    text = ParsedSnapshot(raw_table(*rows))
    results = [
        clean_snapshot(p, as_of=AS_OF, source="t", max_reject_fraction=1.0) for p in (fast, text)
    ]
    assert results[0].table.equals(results[1].table)
    assert results[0].rejects.drop_columns(["raw"]).equals(results[1].rejects.drop_columns(["raw"]))


# --------------------------------------------------------------------------------------
# keep_rows, parse_integers on whole columns
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("limit", [0, 3, 10_000])
def test_keep_rows_gives_the_rows_a_filter_gives(seed: int, limit: int, monkeypatch) -> None:
    monkeypatch.setattr("movie_ratings.cleaning.clean._MAX_SLICED_DROPS", limit)  # slices, or the filter
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 40))
    table = pa.Table.from_batches(
        [pa.record_batch({"a": np.arange(k, k + 7), "b": [str(v) for v in range(k, k + 7)]})
         for k in range(0, 42, 7)]
    ).slice(0, n)  # several chunks
    mask = rng.random(n) < [0.0, 0.1, 0.5, 1.0][seed % 4]
    kept = keep_rows(table, ~mask)
    assert kept.equals(table.filter(pa.array(~mask)))
    assert kept.schema == table.schema


def test_keep_rows_keeping_everything_returns_the_table_itself() -> None:
    table = pa.table({"a": [1, 2, 3]})
    assert keep_rows(table, np.ones(3, dtype=bool)) is table
    assert keep_rows(table, np.zeros(3, dtype=bool)).num_rows == 0


@pytest.mark.parametrize(
    "values",
    [
        ["1", "22", None, "333"],  # plain digits: the cast without patterns
        ["1", "+2", " 3 ", "4.0", None],
        ["1", "0x10", "1e3", "", "-5"],
        ["123456789012345678", "1234567890123456789"],  # 19 digits do not always fit
        [None, None],
        ["007", "٣"],  # leading zeros; a non-ASCII digit
    ],
)
def test_parse_integers_of_a_column_is_the_value_by_value_result(values: list) -> None:
    column = pa.chunked_array([pa.array(values[:1], pa.string()), pa.array(values[1:], pa.string())])
    one_by_one = [parse_integers(pa.array([v], pa.string()))[0].as_py() for v in values]
    assert parse_integers(column).to_pylist() == one_by_one


# ---- broken feeds: control characters, malformed lines' ids, read errors -----------------


def test_control_characters_quarantine_their_record_with_a_reason() -> None:
    rows = [dict(DEFAULTS, id=str(i), title=f"Film {i}") for i in range(1, 41)]
    rows[3]["title"] = "\x00Film 4"
    rows[7]["overview"] = "bell\x07 in the text"
    rows[9]["overview"] = "tab\tand\nnewline\r\nare text"
    out = clean(*rows, fraction=0.1)
    assert sorted(out.rejects["id"].to_pylist()) == [4, 8]
    reasons = dict(zip(out.rejects["id"].to_pylist(), out.rejects["reason"].to_pylist(), strict=True))
    assert reasons[4].startswith("title contains control character U+0000 at position 0")
    assert reasons[8].startswith("overview contains control character U+0007")
    assert 10 in out.table["id"].to_pylist()


def test_a_nul_in_every_record_is_a_broken_source() -> None:
    rows = [dict(DEFAULTS, id=str(i), title=f"\x00Film {i}") for i in range(1, 41)]
    with pytest.raises(BrokenSourceError, match="control character"):
        clean(*rows, fraction=0.1)


def test_a_malformed_line_with_a_readable_id_reports_that_id(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "\n" + GOOD_LINE + "\n" + '"991","cut short",7.1\n' + 'garbage,line\n')
    parsed = read_snapshot_csv(path)
    assert [b.id for b in parsed.bad_lines] == [991, None]
    out = clean_snapshot(parsed, as_of=AS_OF, source="test", max_reject_fraction=1.0)
    assert sorted(out.rejects["id"].to_pylist(), key=str) == [991, None]


def test_invalid_utf8_names_the_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    head = (HEADER + "\n" + GOOD_LINE + "\n").encode()
    path.write_bytes(head + GOOD_LINE.replace("Inception", "Incep\xe9tion").encode("latin-1") + b"\n")
    with pytest.raises(SchemaError) as info:
        read_snapshot_csv(path)
    message = str(info.value)
    offset = len(head) + GOOD_LINE.encode().index(b"Inception") + 5
    assert f"{path}: not UTF-8 text: invalid byte at line 3, byte offset {offset:,}" in message
    assert "UTF-8" in message and "iconv" in message


def test_an_unclosed_quote_is_an_oversized_record_naming_where_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    head = (HEADER + "\n" + GOOD_LINE + "\n").encode()
    filler = ("x" * 100 + "\n") * 30_000  # 3 MB inside a quote never closed
    path.write_bytes(head + b'42,"never closed\n' + filler.encode())
    with pytest.raises(SchemaError) as info:
        read_snapshot_csv(path)
    message = str(info.value)
    assert f"{path}: a record larger than 1 MB at line 3, byte offset {len(head):,}" in message
    assert "quote" in message


# --------------------------------------------------------------------------------------
# Rejects: what each step returns instead of filling a shared collector
# --------------------------------------------------------------------------------------


def test_rejects_add_up_in_step_order_and_an_empty_batch_is_no_batch() -> None:
    first = Rejects.of(np.array([3, 1]), "budget", ["b3", "b1"])
    none = Rejects.of(np.array([], np.int64), "title", [])
    second = Rejects.of(np.array([1]), "status", ["s1"])
    total = first + none + second
    assert flat(total) == [(3, "budget", "b3"), (1, "budget", "b1"), (1, "status", "s1")]
    assert total.records().tolist() == [1, 3]
    assert flat(first) == [(3, "budget", "b3"), (1, "budget", "b1")]  # the parts are unchanged
    assert Rejects.combine([]).records().tolist() == []


def test_each_step_returns_the_same_rejects_when_run_again() -> None:
    table = typed_table(row(id="1"), row(id="2"))
    bad = zeros_to_null(table).set_column(table.schema.get_field_index("runtime"), "runtime",
                                          pa.array([5000.0, 90.0]))
    assert flat(check_values(bad)) == flat(check_values(bad)) == [
        (1, "runtime", "runtime outside [1, 1000]: 5000.0")]
