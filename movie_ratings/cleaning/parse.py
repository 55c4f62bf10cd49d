"""Extract: read a snapshot CSV into a table of text, with the lines that could not be split.

Types are coerced later (:mod:`movie_ratings.cleaning.clean`), row by row, so that one bad
value quarantines one record instead of failing the whole file. Only a file that cannot be
read as a CSV in the Kaggle schema at all raises here.
"""

from __future__ import annotations

import csv
import io
import mmap
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from movie_ratings.errors import SchemaError
from movie_ratings.schema import RAW_COLUMN_NAMES, RAW_COLUMNS, REQUIRED_INGEST_COLUMNS

#: Row number column carried through cleaning so rejects can point at the record.
ROW = "_row"
#: Control characters no field of the feed may hold: tab, newline and carriage return
#: (inside quoted text) aside. A NUL is how a corrupted copy or a binary splice shows.
CONTROL = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
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


#: Arrow's default 1 MB blocks: larger ones read the full snapshot more slowly (README,
#: Performance). A record must fit in one block.
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
    control = re.search(CONTROL, text)
    if control:  # binary data; its bytes are not for a terminal either
        raise SchemaError(f"{path}: the header line holds control character U+{ord(control.group()):04X} "
                          f"at byte offset {control.start()}: not a CSV file in the Kaggle schema")
    # Names are taken as written (only CSV quotes removed): " title" is not "title", and
    # the parser would not find it either.
    return [c.strip('"') for c in text.split(",")]


# --------------------------------------------------------------------------------------
# Cleaning steps (pure)
# --------------------------------------------------------------------------------------
