"""Clean: typed columns, unknowns as null, lists split, one record per id.

Pure functions over :class:`pyarrow.Table` (immutable, so an input is never changed). A
step that can reject records returns them (:class:`~movie_ratings.cleaning.rejects.Rejects`)
beside its result. Missing values are information and stay null (no ``dropna()``).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.cleaning.parallel import in_parallel
from movie_ratings.cleaning.parse import ROW
from movie_ratings.cleaning.rejects import Rejects, mark, reasons_for, rejected_where
from movie_ratings.cleaning.validate import check_years
from movie_ratings.schema import (
    IMDB_ID_PATTERN,
    LIST_COLUMNS,
    LIST_SEPARATOR,
    POSTER_PATH_PATTERN,
    RAW_COLUMN_NAMES,
    RAW_COLUMNS,
    SOURCE_HASH,
    ZERO_MEANS_UNKNOWN,
)

_NUMBER = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_INTEGER = r"^\s*[-+]?\d{1,18}(\.0*)?\s*$"  # 18 digits always fit in int64


def coerce_types(table: pa.Table, as_of: date) -> tuple[pa.Table, Rejects]:
    """Cast string columns to the schema's types; a value that does not parse rejects its row.

    Args:
        table: parsed snapshot (all strings).
        as_of: snapshot date, bounds release dates.

    Returns:
        A new table with typed columns (invalid values set null), and the rejected records.
    """
    # Columns are independent and Arrow's kernels release the GIL: they run in parallel,
    # and their rejects are added up in column order, as one loop would.
    done = in_parallel(lambda name: coerce_column(table, name, as_of), RAW_COLUMN_NAMES)
    columns = {name: values for name, (values, _) in zip(RAW_COLUMN_NAMES, done, strict=True)}
    columns[ROW] = table[ROW]
    if SOURCE_HASH in table.column_names:  # computed from the raw record; travels with it
        columns[SOURCE_HASH] = table[SOURCE_HASH]
    return pa.table(columns), Rejects.combine(found for _, found in done)


def coerce_column(table: pa.Table, name: str, as_of: date) -> tuple[pa.ChunkedArray, Rejects]:
    """One column of :func:`coerce_types`: its typed values and the records it rejects."""
    dtype = RAW_COLUMNS[name]
    if table[name].type == dtype != pa.string():  # typed by the parser: only checks left
        return _checked_typed(table, table[name], name, as_of)
    values = _trimmed(table[name]) if name in _TRIMMED else table[name]
    if pa.types.is_floating(dtype) or pa.types.is_integer(dtype):
        kind = "an integer" if pa.types.is_integer(dtype) else "a number"
        return _cast_checked(table, values, name, dtype, kind)
    if pa.types.is_date(dtype):
        return _cast_dates(table, values, name, as_of)
    return values, Rejects()


def _checked_typed(
    table: pa.Table, values: pa.ChunkedArray, name: str, as_of: date
) -> tuple[pa.ChunkedArray, Rejects]:
    """The checks of :func:`_cast_checked` / :func:`_cast_dates` on already typed values."""
    if pa.types.is_date(values.type):
        return values, check_years(table, values, name, as_of)
    if pa.types.is_floating(values.type):
        finite = pc.is_finite(values)
        bad = mark(pc.invert(finite))
        if not len(bad):
            return values, Rejects()
        found = Rejects.of(
            pc.take(table[ROW], bad).to_numpy(),
            name,
            # As text, so the reason reads as in the text path ('nan', not nan).
            reasons_for(pc.cast(pc.take(values, bad), pa.string()), f"{name} is not a number: {{value}}"),
        )
        return pc.if_else(finite, values, pa.scalar(None, values.type)), found
    return values, Rejects()


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
    table: pa.Table, values: pa.ChunkedArray, name: str, dtype: pa.DataType, kind: str
) -> tuple[pa.ChunkedArray, Rejects]:
    if pa.types.is_integer(dtype):
        # Always through the pattern: Arrow's own cast would read "0x10" as 16.
        typed = pc.cast(parse_integers(values), dtype)
    else:
        try:  # the common case: every value parses, no regex pass needed
            return _finite(pc.cast(values, dtype)), Rejects()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, _NonFinite):
            pass
        ok = pc.match_substring_regex(values, _NUMBER)
        typed = pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), dtype)
    # A value was written but did not parse.
    unparsed = pc.and_(pc.is_valid(values), pc.is_null(typed))
    return typed, rejected_where(table, unparsed, name, values, f"{name} is not {kind}: {{value}}")[1]


class _NonFinite(Exception):
    pass


def _finite(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Refuse inf/nan so the regex pass reports them as not numbers."""
    if pc.any(pc.invert(pc.is_finite(values))).as_py():
        raise _NonFinite
    return values


def _cast_dates(
    table: pa.Table, values: pa.ChunkedArray, name: str, as_of: date
) -> tuple[pa.ChunkedArray, Rejects]:
    parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls 2020-02-30 over to 2020-03-01: only a date that prints back as
    # written is real.
    round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), values)
    parsed = pc.if_else(round_trip, parsed, pa.scalar(None, parsed.type))
    bad_format = pc.and_(pc.is_valid(values), pc.is_null(parsed))
    found = rejected_where(table, bad_format, name, values,
                           f"{name} is not a YYYY-MM-DD date: {{value}}")[1]
    dates = pc.cast(parsed, pa.date32())
    return dates, found + check_years(table, dates, name, as_of)


def zeros_to_null(table: pa.Table, columns: tuple[str, ...] = ZERO_MEANS_UNKNOWN) -> pa.Table:
    """Replace the raw file's 0 ("unknown") by null in budget, revenue, runtime, vote_average.

    Args:
        table: typed snapshot.
        columns: the columns to treat (all of them by default; each must be in ``table``).

    Returns:
        A new table.
    """
    out = table
    for name in columns:
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
    matches = in_parallel(lambda name: pc.match_substring_regex(table[name], patterns[name].pattern),
                          patterns)
    for name, ok in zip(patterns, matches, strict=True):
        col = out[name]
        bad = pc.sum(pc.invert(ok)).as_py() or 0  # null stays null and is not counted
        if bad:
            counts[name] = bad
            kept = pc.if_else(ok, col, pa.scalar(None, col.type))
            out = out.set_column(out.schema.get_field_index(name), name, kept)
    return out, counts


def split_lists(table: pa.Table) -> pa.Table:
    """Turn ``"A, B"`` list columns into lists of strings (null stays null).

    Args:
        table: typed snapshot.

    Returns:
        A new table where every column of ``LIST_COLUMNS`` is ``list<string>``.
    """
    out = table
    split = in_parallel(lambda name: pc.split_pattern(table[name], LIST_SEPARATOR), LIST_COLUMNS)
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
    repeated: np.ndarray = rows[~last_of_each_id(ids_of_rows)]
    return repeated


def reject_duplicates(table: pa.Table, valid: np.ndarray) -> tuple[np.ndarray, Rejects]:
    """The valid records that a later valid record repeats (its id), and their rejects.

    The rule is deterministic: for a repeated id the record furthest down the file wins,
    as a later line is the newer export.

    Args:
        table: typed snapshot with ``_row``, in file order.
        valid: one boolean per row, true for a record no other check rejected.

    Returns:
        The positions of the repeated records, and their rejects.
    """
    duplicate = duplicate_records(table["id"], np.flatnonzero(valid))
    found = Rejects.of(
        pc.take(table[ROW], pa.array(duplicate, pa.int64())).to_numpy(),
        "id",
        reasons_for(pc.take(table["id"], pa.array(duplicate, pa.int64())),
                    "id repeated, kept its last record: {value}"),
    )
    return duplicate, found


#: Up to this many dropped rows, :func:`keep_rows` joins slices instead of filtering.
_MAX_SLICED_DROPS = 2_000


def keep_rows(table: pa.Table, mask: np.ndarray) -> pa.Table:
    """The rows where ``mask`` is true, in order.

    A snapshot drops a few hundred of its records; a filter would copy every column of the
    rest (the largest step of cleaning, see README Performance). Joining zero-copy slices
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

