"""Read a snapshot CSV and clean it: schema check, types, unknowns, dates, lists, duplicates, ranges.

Pure functions over :class:`pyarrow.Table` (immutable, so an input is never changed) come
first; the Prefect tasks at the bottom only wrap them. Rows that fail a check are not
dropped silently and not repaired: they go to a rejects table with the column and reason.
Missing values are information and stay null (no ``dropna()``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import mmap
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.errors import BrokenSourceError, SchemaError
from movie_ratings.schema import (
    EARLIEST_RELEASE_YEAR,
    IMDB_ID_PATTERN,
    LIST_COLUMNS,
    LIST_SEPARATOR,
    MAX_YEARS_AHEAD,
    POSTER_PATH_PATTERN,
    RAW_COLUMN_NAMES,
    RAW_COLUMNS,
    RAW_RANGES,
    REJECTS_SCHEMA,
    REQUIRED_INGEST_COLUMNS,
    STATUSES,
    ZERO_MEANS_UNKNOWN,
)
from movie_ratings.settings import get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Row number column carried through cleaning so rejects can point at the record.
ROW = "_row"
_NUMBER = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_INTEGER = r"^\s*[-+]?\d{1,18}(\.0*)?\s*$"  # 18 digits always fit in int64
_DATE = r"^\s*\d{4}-\d{2}-\d{2}\s*$"
_RAW_SNIPPET = 500


@dataclass(frozen=True)
class BadLine:
    """A physical CSV line that could not be split into the header's columns."""

    number: int | None
    text: str
    reason: str
    #: the film's id when the line's id field can still be read: its film is then known
    #: to be in the feed (quarantined), never taken as deleted
    id: int | None = None


@dataclass(frozen=True)
class ParsedSnapshot:
    """A snapshot as strings, straight from the CSV.

    Attributes:
        table: the raw columns plus ``_row`` (1-based record number). Numbers and dates
            are already typed when every value in the file converted; otherwise (and
            always for ``id``) they are text, checked and cast row by row in cleaning.
        bad_lines: lines with the wrong number of fields.
        extra_columns: columns not in the Kaggle schema (kept out, warned about).
    """

    table: pa.Table
    bad_lines: tuple[BadLine, ...] = ()
    extra_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class CleanSnapshot:
    """The outcome of cleaning a snapshot.

    Attributes:
        table: typed rows, one per id, raw column names; list columns are lists of strings.
        rejects: quarantined rows (``REJECTS_SCHEMA``), one row per (record, reason).
        rows_read: records in the file, bad lines included.
        duplicates: records dropped because a later record had the same id.
    """

    table: pa.Table
    rejects: pa.Table
    rows_read: int
    duplicates: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def rejected_rows(self) -> int:
        return self.rows_read - self.table.num_rows


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------


def read_snapshot_csv(path: Path, *, optional: tuple[str, ...] = ()) -> ParsedSnapshot:
    """Parse a snapshot CSV with every value as a string.

    Types are coerced later, row by row, so that one bad value quarantines one row
    instead of failing the whole file.

    Args:
        path: CSV in the Kaggle schema (header row first).
        optional: columns that may be missing from the file; they are read as all-null.

    Returns:
        The parsed snapshot.

    Raises:
        SchemaError: the file is missing, empty, not CSV, or lacks required columns.
    """
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise SchemaError(f"{path}: the file is empty (no header, no rows)")
    header = _read_header(path)
    missing = [c for c in REQUIRED_INGEST_COLUMNS if c not in header and c not in optional]
    if missing:
        raise SchemaError(
            f"{path}: missing required column(s) {', '.join(missing)}; "
            f"found {len(header)} column(s): {', '.join(header[:30])}"
        )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise SchemaError(f"{path}: column(s) named twice in the header: {', '.join(duplicated)}")
    extra = tuple(c for c in header if c not in RAW_COLUMNS)

    invalid: list[tuple[int | None, str, int, int]] = []
    try:
        try:  # a clean file: the parser converts numbers and dates itself, in parallel
            table = _read_csv(path, header, _FAST_TYPES, invalid)
        except pa.ArrowInvalid:  # some value does not convert: read text, check row by row
            invalid.clear()
            table = _read_csv(path, header, {}, invalid)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SchemaError(_read_failure(path, exc)) from exc
    table = table.append_column(ROW, pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
    numbers = _line_numbers(path, [text for _, text, _, _ in invalid])
    id_at = header.index("id")
    bad_lines = tuple(
        BadLine(
            number if number is not None else found,
            text[:_RAW_SNIPPET],
            f"line {number if number is not None else found or '?'}: "
            f"expected {expected} fields, got {actual}",
            _id_of_line(text, id_at),
        )
        for (number, text, expected, actual), found in zip(invalid, numbers, strict=True)
    )
    return ParsedSnapshot(table, bad_lines, extra)


def _id_of_line(text: str, index: int) -> int | None:
    """The id field of a malformed line, when it still reads as an id."""
    try:
        fields = next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return None
    if len(fields) <= index or not re.fullmatch(r"\s*\d{1,18}\s*", fields[index]):
        return None
    return int(fields[index])


def _read_failure(path: Path, exc: Exception) -> str:
    """What went wrong reading ``path``, with the line and byte offset when they can be found."""
    message = str(exc)
    bad_byte = _first_invalid_utf8(path) if "UTF8" in message or isinstance(exc, UnicodeDecodeError) else None
    if bad_byte is not None:
        offset, line = bad_byte
        return (f"{path}: not UTF-8 text: invalid byte at line {line}, byte offset {offset:,}. "
                "Export or convert the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or "
                "download the snapshot again if it should already be UTF-8")
    if "straddl" in message or "block size" in message:
        found = _oversized_record(path, _BLOCK_SIZE)
        where = (f" at line {found[1]}, byte offset {found[0]:,}" if found else "")
        return (f"{path}: a record larger than {_BLOCK_SIZE // (1 << 20)} MB{where}: the file is "
                "corrupt (most likely a quote that is never closed, which makes the rest of the "
                "file one field). Fix or remove that line, or download the snapshot again")
    return f"{path}: not a readable CSV in the Kaggle schema: {message}"


def _first_invalid_utf8(path: Path, block: int = 16 << 20) -> tuple[int, int] | None:
    """(byte offset, 1-based line) of the first byte that is not valid UTF-8, or None."""
    base, lines, pending = 0, 1, b""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(block)
            data = pending + chunk
            if not data:
                return None
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if chunk and exc.end == len(data):  # a character cut by the block boundary
                    lines += data.count(b"\n", 0, exc.start)
                    base, pending = base + exc.start, data[exc.start:]
                    continue
                return base + exc.start, lines + data.count(b"\n", 0, exc.start)
            if not chunk:
                return None
            lines += data.count(b"\n")
            base, pending = base + len(data), b""


def _oversized_record(path: Path, limit: int) -> tuple[int, int] | None:
    """(byte offset, 1-based line) where the first CSV record over ``limit`` bytes starts."""
    position = {"offset": 0, "line": 0}

    def lines() -> Iterable[str]:
        with path.open("rb") as handle:
            for raw in handle:
                position["offset"] += len(raw)
                position["line"] += 1
                yield raw.decode("utf-8", errors="replace")

    start = (0, 1)
    reader = csv.reader(lines())
    previous = csv.field_size_limit()
    csv.field_size_limit(limit)
    try:
        for row in reader:
            if sum(len(f) for f in row) > limit:
                return start
            start = (position["offset"], position["line"] + 1)
    except csv.Error:
        return start
    finally:
        csv.field_size_limit(previous)
    return None


#: Types the parser may convert itself when every value of the file is valid. ``id`` stays
#: text (the parser would accept hexadecimal ids); dates must be YYYY-MM-DD and real days.
_FAST_TYPES: dict[str, pa.DataType] = {
    name: dtype for name, dtype in RAW_COLUMNS.items()
    if pa.types.is_floating(dtype) or pa.types.is_date(dtype)
}


#: Arrow's default 1 MB blocks: with 16 MB ones reading the 1.2M-film snapshot took 1-2
#: CPU-seconds more (5.5-7.0 s against 4.3-4.5 s, on a loaded machine). A record must fit
#: in one block.
_BLOCK_SIZE = 1 << 20


def _read_csv(
    path: Path, header: list[str], types: dict[str, pa.DataType],
    invalid: list[tuple[int | None, str, int, int]],
) -> pa.Table:
    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number, row.text or "", row.expected_columns, row.actual_columns))
        return "skip"

    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=_BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(
            column_types={name: types.get(name, pa.string()) for name in (*header, *RAW_COLUMN_NAMES)},
            include_columns=list(RAW_COLUMN_NAMES),
            include_missing_columns=True,  # only ``optional`` ones can be missing here
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _line_numbers(path: Path, texts: list[str], limit: int = 1000) -> list[int | None]:
    """Physical line numbers (1-based) where each malformed row starts, found in the file.

    The multi-threaded parser reports rows without their position, so the first ``limit``
    are looked up with one scan of the file (only when there are malformed rows at all).
    """
    found: list[int | None] = [None] * len(texts)
    wanted = sorted(range(min(len(texts), limit)), key=lambda i: texts[i] == "")
    if not wanted:
        return found
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start, line = 0, 1
        for i in wanted:
            needle = texts[i].encode()
            if not needle:
                continue
            at = data.find(needle, start)
            if at < 0:  # rows can arrive out of order from the threads: search from the top
                start, line = 0, 1
                at = data.find(needle)
                if at < 0:
                    continue
            line += data[start:at].count(b"\n")
            start = at
            found[i] = line
    return found


def _read_header(path: Path) -> list[str]:
    with path.open("rb") as f:
        first = f.readline(1 << 20)
    try:
        text = first.decode("utf-8-sig").strip("\r\n")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{path}: the header line is not UTF-8 text") from exc
    if not text.strip():
        raise SchemaError(f"{path}: the first line is empty, expected the CSV header")
    control = re.search(_CONTROL, text)
    if control:  # binary data; its bytes are not for a terminal either
        raise SchemaError(f"{path}: the header line holds control character U+{ord(control.group()):04X} "
                          f"at byte offset {control.start()}: not a CSV file in the Kaggle schema")
    # Names are taken as written (only CSV quotes removed): " title" is not "title", and
    # the parser would not find it either.
    return [c.strip('"') for c in text.split(",")]


# --------------------------------------------------------------------------------------
# Cleaning steps (pure)
# --------------------------------------------------------------------------------------


@dataclass
class _Rejects:
    """Collects (row, id, column, reason, raw) for rejected records."""

    rows: list[np.ndarray] = field(default_factory=list)
    reasons: list[list[str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    def add(self, rows: np.ndarray, column: str, reasons: list[str]) -> None:
        if len(rows):
            self.rows.append(rows)
            self.reasons.append(reasons)
            self.columns.append(column)

    def extend(self, other: _Rejects) -> None:
        self.rows.extend(other.rows)
        self.reasons.extend(other.reasons)
        self.columns.extend(other.columns)


def _reasons_for(values: pa.Array, template: str) -> list[str]:
    return [template.format(value=_short(v)) for v in values.to_pylist()]


def _short(value: object) -> str:
    text = f"'{value.isoformat()}'" if isinstance(value, date) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _mark(table: pa.Table, mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Indices (positions) where a boolean mask is true; null counts as false."""
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))


#: Control characters no field of the feed may hold: tab, newline and carriage return
#: (inside quoted text) aside. A NUL is how a corrupted copy or a binary splice shows.
_CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_ALLOWED_CONTROL = (9, 10, 13)


def _may_hold_control(values: pa.ChunkedArray) -> bool:
    """Cheap pre-check on the column's bytes: the regex then runs only on flagged columns."""
    for chunk in values.chunks:
        data = chunk.buffers()[2] if len(chunk.buffers()) > 2 else None
        if data is None:
            continue
        raw = np.frombuffer(data, np.uint8)
        low = np.count_nonzero(raw < 32)
        if low and low > sum(np.count_nonzero(raw == c) for c in _ALLOWED_CONTROL):
            return True
        if np.count_nonzero(raw == 127):
            return True
    return False


def check_control_characters(table: pa.Table, rejects: _Rejects) -> None:
    """Reject records whose text holds a NUL or another control character.

    Args:
        table: parsed snapshot (text columns as read).
        rejects: collector of rejected records.
    """
    names = [f.name for f in table.schema if f.name != ROW and pa.types.is_string(f.type)]
    flagged = [n for n, maybe in zip(names, _in_parallel(lambda n: _may_hold_control(table[n]), names),
                                     strict=True) if maybe]
    for name in flagged:
        bad = _mark(table, pc.match_substring_regex(table[name], _CONTROL))
        values = pc.take(table[name], pa.array(bad, pa.int64())).to_pylist()
        reasons = []
        for value in values:
            found = re.search(_CONTROL, value)
            char = f"U+{ord(found.group()):04X}" if found else "?"
            reasons.append(f"{name} contains control character {char} at position {found.start() if found else '?'}: "
                           f"{_short(value)}")
        rejects.add(pc.take(table[ROW], pa.array(bad, pa.int64())).to_numpy(), name, reasons)


def coerce_types(table: pa.Table, as_of: date, rejects: _Rejects) -> pa.Table:
    """Cast string columns to the schema's types; a value that does not parse rejects its row.

    Args:
        table: parsed snapshot (all strings).
        as_of: snapshot date, bounds release dates.
        rejects: collector of rejected records.

    Returns:
        A new table with typed columns (invalid values set null; their rows are rejected).
    """
    # Columns are independent and Arrow's kernels release the GIL: they run in parallel,
    # and their rejects are collected in column order, as one loop would.
    done = _in_parallel(lambda name: _coerce_column(table, name, as_of), RAW_COLUMN_NAMES)
    columns = {}
    for name, (values, found) in zip(RAW_COLUMN_NAMES, done, strict=True):
        columns[name] = values
        rejects.extend(found)
    columns[ROW] = table[ROW]
    return pa.table(columns)


def _coerce_column(table: pa.Table, name: str, as_of: date) -> tuple[pa.ChunkedArray, _Rejects]:
    """One column of :func:`coerce_types`: its typed values and the records it rejects."""
    rejects = _Rejects()
    dtype = RAW_COLUMNS[name]
    if table[name].type == dtype != pa.string():  # typed by the parser: only checks left
        return _checked_typed(table, table[name], name, as_of, rejects), rejects
    values = _trimmed(table[name]) if name in _TRIMMED else table[name]
    if pa.types.is_floating(dtype) or pa.types.is_integer(dtype):
        kind = "an integer" if pa.types.is_integer(dtype) else "a number"
        values = _cast_checked(table, values, name, dtype, kind, rejects)
    elif pa.types.is_date(dtype):
        values = _cast_dates(table, values, name, as_of, rejects)
    return values, rejects


def _in_parallel(work: Callable[[str], T], names: Iterable[str]) -> list[T]:
    """``work`` of each name, in order, on a few threads (Arrow compute releases the GIL)."""
    names = list(names)
    with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1, 4) or 1) as pool:
        return list(pool.map(work, names))


def _checked_typed(
    table: pa.Table, values: pa.ChunkedArray, name: str, as_of: date, rejects: _Rejects
) -> pa.ChunkedArray:
    """The checks of :func:`_cast_checked` / :func:`_cast_dates` on already typed values."""
    if pa.types.is_date(values.type):
        return _check_years(table, values, name, as_of, rejects)
    if pa.types.is_floating(values.type):
        finite = pc.is_finite(values)
        bad = _mark(table, pc.invert(finite))
        if not len(bad):
            return values
        rejects.add(
            pc.take(table[ROW], bad).to_numpy(),
            name,
            # As text, so the reason reads as in the text path ('nan', not nan).
            _reasons_for(pc.cast(pc.take(values, bad), pa.string()), f"{name} is not a number: {{value}}"),
        )
        return pc.if_else(finite, values, pa.scalar(None, values.type))
    return values


def _trimmed(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Surrounding whitespace removed; a value of only whitespace is missing (null)."""
    trimmed = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def parse_integers(values: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Integers written as ``123``, ``+123``, ``123.0`` or `` 123 ``; anything else becomes null.

    Never goes through float64, so large ids keep every digit.
    """
    if _plain_digits(values):  # the common case: one cast, no regex passes
        return pc.cast(values, pa.int64())
    ok = pc.match_substring_regex(values, _INTEGER)
    # Arrow's cast takes neither a plus sign nor a fraction, even ".0": both go first.
    digits = pc.replace_substring_regex(pc.utf8_trim_whitespace(values), r"^\+|\.0*$", "")
    return pc.cast(pc.if_else(ok, digits, pa.scalar(None, pa.string())), pa.int64())


def _plain_digits(values: pa.ChunkedArray | pa.Array) -> bool:
    """Whether every value is null or 1 to 18 ASCII digits (then Arrow's cast is exact).

    Such values match :data:`_INTEGER` as they are and cast to the same integers, so
    :func:`parse_integers` can skip its regex passes; anything else (signs, fractions,
    spaces, hexadecimal, empty text) takes the checked path.
    """
    if values.null_count == len(values):
        return False
    return bool(pc.all(pc.ascii_is_decimal(values)).as_py()) and (
        pc.max(pc.binary_length(values)).as_py() <= 18
    )


_TRIMMED = {name for name, dtype in RAW_COLUMNS.items() if not pa.types.is_string(dtype)} | {
    "status",
    "imdb_id",
    "original_language",
    "poster_path",
}


def _cast_checked(
    table: pa.Table,
    values: pa.ChunkedArray,
    name: str,
    dtype: pa.DataType,
    kind: str,
    rejects: _Rejects,
) -> pa.ChunkedArray:
    if pa.types.is_integer(dtype):
        # Always through the pattern: Arrow's own cast would read "0x10" as 16.
        typed = pc.cast(parse_integers(values), dtype)
    else:
        try:  # the common case: every value parses, no regex pass needed
            return _finite(pc.cast(values, dtype))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, _NonFinite):
            pass
        ok = pc.match_substring_regex(values, _NUMBER)
        typed = pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), dtype)
    # A value was written but did not parse.
    bad = _mark(table, pc.and_(pc.is_valid(values), pc.is_null(typed)))
    rejects.add(
        pc.take(table[ROW], bad).to_numpy(),
        name,
        _reasons_for(pc.take(values, bad), f"{name} is not {kind}: {{value}}"),
    )
    return typed


class _NonFinite(Exception):
    pass


def _finite(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Refuse inf/nan so the regex pass reports them as not numbers."""
    if pc.any(pc.invert(pc.is_finite(values))).as_py():
        raise _NonFinite
    return values


def _cast_dates(
    table: pa.Table, values: pa.ChunkedArray, name: str, as_of: date, rejects: _Rejects
) -> pa.ChunkedArray:
    parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2020-02-30 over to 2020-03-01: only a date that prints back as
    # written is real.
    round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values)
    parsed = pc.if_else(round_trip, parsed, pa.scalar(None, parsed.type))
    bad_format = pc.and_(pc.is_valid(values), pc.is_null(parsed))
    bad = _mark(table, bad_format)
    rejects.add(
        pc.take(table[ROW], bad).to_numpy(),
        name,
        _reasons_for(pc.take(values, bad), f"{name} is not a YYYY-MM-DD date: {{value}}"),
    )
    return _check_years(table, pc.cast(parsed, pa.date32()), name, as_of, rejects)


def _check_years(
    table: pa.Table, dates: pa.ChunkedArray, name: str, as_of: date, rejects: _Rejects
) -> pa.ChunkedArray:
    years = pc.year(dates)
    out = pc.or_(
        pc.less(years, EARLIEST_RELEASE_YEAR), pc.greater(years, as_of.year + MAX_YEARS_AHEAD)
    )
    far = _mark(table, out)
    rejects.add(
        pc.take(table[ROW], far).to_numpy(),
        name,
        _reasons_for(
            pc.take(dates, far),
            f"{name} year outside [{EARLIEST_RELEASE_YEAR}, {as_of.year + MAX_YEARS_AHEAD}]: {{value}}",
        ),
    )
    return dates


def zeros_to_null(table: pa.Table) -> pa.Table:
    """Replace the raw file's 0 ("unknown") by null in budget, revenue, runtime, vote_average.

    Args:
        table: typed snapshot.

    Returns:
        A new table.
    """
    out = table
    for name in ZERO_MEANS_UNKNOWN:
        col = out[name]
        out = out.set_column(
            out.schema.get_field_index(name),
            name,
            pc.if_else(pc.equal(col, 0), pa.scalar(None, col.type), col),
        )
    return out


def null_malformed_links(table: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    """Set ``imdb_id`` / ``poster_path`` values that are not well-formed ids to null.

    They only build links (IMDb page, poster image); a malformed one must not reach a URL,
    and it says nothing about the film's other features, so the film is kept and the
    count is reported as a warning instead of quarantining the row.

    Args:
        table: typed snapshot.

    Returns:
        A new table and, per column, how many values were set to null.
    """
    out, counts = table, {}
    patterns = {"imdb_id": IMDB_ID_PATTERN, "poster_path": POSTER_PATH_PATTERN}
    matches = _in_parallel(lambda name: pc.match_substring_regex(table[name], patterns[name].pattern),
                           patterns)
    for name, ok in zip(patterns, matches, strict=True):
        col = out[name]
        bad = pc.sum(pc.invert(ok)).as_py() or 0  # null stays null and is not counted
        if bad:
            counts[name] = bad
            kept = pc.if_else(ok, col, pa.scalar(None, col.type))
            out = out.set_column(out.schema.get_field_index(name), name, kept)
    return out, counts


def check_values(table: pa.Table, rejects: _Rejects) -> None:
    """Reject rows with a missing id, an unknown status or a value outside its allowed range.

    Args:
        table: typed snapshot after :func:`zeros_to_null`.
        rejects: collector of rejected records.
    """
    missing_id = _mark(table, pc.is_null(table["id"]))
    rejects.add(
        pc.take(table[ROW], missing_id).to_numpy(),
        "id",
        ["id is missing"] * len(missing_id),
    )
    for name, bounds in RAW_RANGES.items():
        col = table[name]
        out = pa.scalar(False)
        if bounds.low is not None:
            out = pc.or_(out, pc.less(col, bounds.low))
        if bounds.high is not None:
            out = pc.or_(out, pc.greater(col, bounds.high))
        bad = _mark(table, out)
        rejects.add(
            pc.take(table[ROW], bad).to_numpy(),
            name,
            _reasons_for(pc.take(col, bad), f"{name} outside {bounds.describe()}: {{value}}"),
        )
    status = table["status"]
    unknown = pc.invert(pc.is_in(status, value_set=pa.array(STATUSES)))
    bad = _mark(table, unknown)
    rejects.add(
        pc.take(table[ROW], bad).to_numpy(),
        "status",
        _reasons_for(pc.take(status, bad), f"status is not one of {', '.join(STATUSES)}: {{value}}"),
    )


def split_lists(table: pa.Table) -> pa.Table:
    """Turn ``"A, B"`` list columns into lists of strings (null stays null).

    Args:
        table: typed snapshot.

    Returns:
        A new table where every column of ``LIST_COLUMNS`` is ``list<string>``.
    """
    out = table
    split = _in_parallel(lambda name: pc.split_pattern(table[name], LIST_SEPARATOR), LIST_COLUMNS)
    for name, items in zip(LIST_COLUMNS, split, strict=True):
        out = out.set_column(out.schema.get_field_index(name), name, items)
    return out


def last_of_each_id(ids: np.ndarray) -> np.ndarray:
    """Boolean mask keeping the last record of each id (file order decides)."""
    keep = np.zeros(len(ids), dtype=bool)
    if len(ids) == 0:
        return keep
    # A stable sort keeps file order within an id; then compare neighbours.
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    keep[order[np.r_[ordered[1:] != ordered[:-1], True]]] = True
    return keep


def duplicate_records(ids: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> np.ndarray:
    """The records among ``rows`` (positions in file order) that a later one of them repeats.

    For each id only its last record among ``rows`` is kept: the others are returned.
    """
    ids_of_rows = pc.take(ids, pa.array(rows, pa.int64())).to_numpy(zero_copy_only=False)
    return rows[~last_of_each_id(ids_of_rows)]


#: Up to this many dropped rows, :func:`keep_rows` joins slices instead of filtering.
_MAX_SLICED_DROPS = 2_000


def keep_rows(table: pa.Table, mask: np.ndarray) -> pa.Table:
    """The rows where ``mask`` is true, in order.

    A snapshot drops a few hundred of its 1.2M records; a filter would copy every column
    of the rest (2 CPU-seconds, the largest step of cleaning). Joining zero-copy slices
    of the rows between the dropped ones gives the same rows without copying them.

    Args:
        table: any table.
        mask: one boolean per row, true to keep.

    Returns:
        A table with the kept rows (``table`` itself when nothing is dropped).
    """
    dropped = np.flatnonzero(~mask)
    if len(dropped) == 0:
        return table
    if len(dropped) > _MAX_SLICED_DROPS:
        return table.filter(pa.array(mask))
    starts, ends = np.r_[0, dropped + 1], np.r_[dropped, len(mask)]
    pieces = [table.slice(start, end - start) for start, end in zip(starts, ends, strict=True)
              if end > start]
    return pa.concat_tables(pieces) if pieces else table.slice(0, 0)


def drop_duplicate_ids(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Keep the last record of each id; the others are returned to be quarantined.

    The rule is deterministic: for a repeated id the record furthest down the file wins,
    as a later line is the newer export.

    Args:
        table: typed snapshot with ``_row``.

    Returns:
        (kept rows in file order, dropped rows).
    """
    duplicate = duplicate_records(table["id"], np.arange(table.num_rows))
    keep = np.ones(table.num_rows, dtype=bool)
    keep[duplicate] = False
    return keep_rows(table, keep), table.take(pa.array(duplicate, pa.int64()))


def clean_snapshot(
    parsed: ParsedSnapshot,
    *,
    as_of: date,
    source: str,
    max_reject_fraction: float,
) -> CleanSnapshot:
    """Apply every cleaning step and quarantine what fails.

    Args:
        parsed: the output of :func:`read_snapshot_csv`.
        as_of: snapshot date.
        source: source name, recorded with rejects.
        max_reject_fraction: a larger rejected share means a broken source.

    Returns:
        The cleaned snapshot with its rejects.

    Raises:
        SchemaError: the snapshot has no rows at all.
        BrokenSourceError: more than ``max_reject_fraction`` of the records were rejected.
    """
    raw = parsed.table
    rows_read = raw.num_rows + len(parsed.bad_lines)
    if rows_read == 0:
        raise SchemaError("the snapshot has a header but no rows")
    rejects = _Rejects()
    check_control_characters(raw, rejects)
    typed = coerce_types(raw, as_of, rejects)
    typed = zeros_to_null(typed)
    typed, malformed_links = null_malformed_links(typed)
    check_values(typed, rejects)
    rejected = np.unique(np.concatenate(rejects.rows)) if rejects.rows else np.array([], np.int64)
    # _row is 1-based and equals position + 1 in the parsed table.
    valid_mask = np.ones(typed.num_rows, dtype=bool)
    valid_mask[rejected - 1] = False
    # Duplicates among the valid records, as drop_duplicate_ids finds them; then one
    # pass drops both (keep_rows copies no column).
    duplicate = duplicate_records(typed["id"], np.flatnonzero(valid_mask))
    if len(duplicate):
        valid_mask[duplicate] = False
        rejects.add(
            duplicate + 1,
            "id",
            _reasons_for(pc.take(typed["id"], pa.array(duplicate)),
                         "id repeated, kept its last record: {value}"),
        )
    kept = keep_rows(typed, valid_mask)
    reject_table = _rejects_table(raw, parsed.bad_lines, rejects, as_of=as_of, source=source)
    clean = split_lists(kept)
    rejected_rows = rows_read - clean.num_rows
    if rejected_rows > max_reject_fraction * rows_read:
        raise BrokenSourceError(
            f"{rejected_rows:,} of {rows_read:,} records rejected "
            f"({rejected_rows / rows_read:.1%} > {max_reject_fraction:.1%}): the source looks broken, "
            f"nothing was written. Most common reasons: {_top_reasons(reject_table)}"
        )
    warnings: tuple[str, ...] = ()
    if parsed.extra_columns:
        warnings += (f"ignored unknown column(s): {', '.join(parsed.extra_columns)}",)
    warnings += tuple(
        f"{count:,} malformed {name} value(s) set to null" for name, count in malformed_links.items()
    )
    return CleanSnapshot(
        table=clean.drop_columns([ROW]),
        rejects=reject_table,
        rows_read=rows_read,
        duplicates=len(duplicate),
        warnings=warnings,
    )


def _rejects_table(
    raw: pa.Table,
    bad_lines: tuple[BadLine, ...],
    rejects: _Rejects,
    *,
    as_of: date,
    source: str,
) -> pa.Table:
    rows: list[int | None] = []
    columns: list[str | None] = []
    reasons: list[str] = []
    for idx, column, why in zip(rejects.rows, rejects.columns, rejects.reasons, strict=True):
        rows.extend(idx.tolist())
        columns.extend([column] * len(idx))
        reasons.extend(why)
    positions = np.asarray(rows, dtype=np.int64) - 1
    # A filter copies only the chosen rows (a take would first join a chunked table's
    # chunks); the few rows are then ordered like the reasons.
    unique, inverse = np.unique(positions, return_inverse=True)
    mask = np.zeros(raw.num_rows, dtype=bool)
    mask[unique] = True
    subset = raw.filter(pa.array(mask)).take(pa.array(inverse, pa.int64()))
    ids = parse_integers(subset["id"])
    # Long texts are shortened field by field, so ``raw`` stays valid JSON.
    raw_json = [
        json.dumps({k: _clip(v) for k, v in r.items()}, ensure_ascii=False, default=str)
        for r in subset.drop_columns([ROW]).to_pylist()
    ]
    n_bad = len(bad_lines)
    return pa.table(
        {
            "snapshot_date": pa.array([as_of] * (len(rows) + n_bad), pa.date32()),
            "source": pa.array([source] * (len(rows) + n_bad), pa.string()),
            "record": pa.array(rows + [None] * n_bad, pa.int64()),
            "id": pa.concat_arrays(
                [ids.combine_chunks() if len(rows) else pa.array([], pa.int64()),
                 pa.array([b.id for b in bad_lines], pa.int64())]
            ),
            "column": pa.array(columns + [None] * n_bad, pa.string()),
            "reason": pa.array(reasons + [b.reason for b in bad_lines], pa.string()),
            "raw": pa.array(raw_json + [b.text for b in bad_lines], pa.string()),
        },
        schema=REJECTS_SCHEMA,
    )


def _clip(value: object, limit: int = 200) -> object:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 3] + "..."
    return value


def _top_reasons(rejects: pa.Table, n: int = 3) -> str:
    """The most common kinds of reject ("budget outside [0, 1e+10]"), with counts."""
    kinds = Counter(r.rpartition(": ")[0] or r for r in rejects["reason"].to_pylist())
    return "; ".join(f"{k} ({v:,})" for k, v in kinds.most_common(n)) or "none"


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------


@task(name="clean-snapshot", cache_policy=NO_CACHE, timeout_seconds=1800)
def clean_snapshot_task(
    path: Path, as_of: date, source: str, max_reject_fraction: float | None = None
) -> CleanSnapshot:
    """Read and clean the snapshot CSV; logs rows read, kept and quarantined.

    ``max_reject_fraction`` None means the setting ``MOVIE_RATINGS_MAX_REJECT_FRACTION``.

    One task for both steps on purpose: Prefect keeps every task result of a flow run in
    memory until the run ends, and the parsed text table is the largest object of an
    ingest (over 1 GB for the full snapshot); it never needs to leave this task.
    """
    logger = get_run_logger()
    if max_reject_fraction is None:
        max_reject_fraction = get_settings().max_reject_fraction
    parsed = read_snapshot_csv(path)
    logger.info(
        "read %s records from %s (%s malformed lines)",
        f"{parsed.table.num_rows:,}", path, len(parsed.bad_lines),
    )
    clean = clean_snapshot(
        parsed, as_of=as_of, source=source, max_reject_fraction=max_reject_fraction
    )
    del parsed
    logger.info(
        "kept %s of %s records; quarantined %s (%s duplicate ids)",
        f"{clean.table.num_rows:,}",
        f"{clean.rows_read:,}",
        f"{clean.rejected_rows:,}",
        f"{clean.duplicates:,}",
    )
    if clean.rejects.num_rows:
        logger.warning("quarantine reasons: %s", _top_reasons(clean.rejects, 5))
    for warning in clean.warnings:
        logger.warning(warning)
    return clean
