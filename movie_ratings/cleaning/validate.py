"""Validate: the rules a record must meet, each returning the records it rejects.

A validator never repairs: a record that breaks a rule is quarantined whole, with the
column and the reason (:class:`~movie_ratings.cleaning.rejects.Rejects`).
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.cleaning.parallel import in_parallel
from movie_ratings.cleaning.parse import CONTROL, ROW
from movie_ratings.cleaning.rejects import Rejects, mark, rejected_where, short
from movie_ratings.schema import EARLIEST_RELEASE_YEAR, MAX_YEARS_AHEAD, RAW_RANGES, STATUSES

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


def check_control_characters(table: pa.Table) -> Rejects:
    """Reject records whose text holds a NUL or another control character.

    Args:
        table: parsed snapshot (text columns as read).

    Returns:
        The rejected records.
    """
    names = [f.name for f in table.schema if f.name != ROW and pa.types.is_string(f.type)]
    flagged = [n for n, maybe in zip(names, in_parallel(lambda n: _may_hold_control(table[n]), names),
                                     strict=True) if maybe]
    found = Rejects()
    for name in flagged:
        bad = mark(pc.match_substring_regex(table[name], CONTROL))
        values = pc.take(table[name], pa.array(bad, pa.int64())).to_pylist()
        reasons = []
        for value in values:
            hit = re.search(CONTROL, value)
            char = f"U+{ord(hit.group()):04X}" if hit else "?"
            reasons.append(f"{name} contains control character {char} at position {hit.start() if hit else '?'}: "
                           f"{short(value)}")
        found += Rejects.of(pc.take(table[ROW], pa.array(bad, pa.int64())).to_numpy(), name, reasons)
    return found


def check_years(table: pa.Table, dates: pa.ChunkedArray, name: str, as_of: date) -> Rejects:
    """Reject dates before the first films or too far after the snapshot date.

    Args:
        table: the table the dates belong to (with ``_row``).
        dates: typed dates of column ``name``.
        name: the column.
        as_of: snapshot date.

    Returns:
        The rejected records.
    """
    years = pc.year(dates)
    out = pc.or_(
        pc.less(years, EARLIEST_RELEASE_YEAR), pc.greater(years, as_of.year + MAX_YEARS_AHEAD)
    )
    return rejected_where(
        table, out, name, dates,
        f"{name} year outside [{EARLIEST_RELEASE_YEAR}, {as_of.year + MAX_YEARS_AHEAD}]: {{value}}",
    )[1]


def check_values(table: pa.Table, columns: tuple[str, ...] | None = None) -> Rejects:
    """Reject rows with a missing id, an unknown status or a value outside its allowed range.

    Args:
        table: typed snapshot after :func:`~movie_ratings.cleaning.clean.zeros_to_null`.
        columns: check only these columns (and the id); all by default, each in ``table``.

    Returns:
        The rejected records.
    """
    missing_id = mark(pc.is_null(table["id"]))
    found = Rejects.of(pc.take(table[ROW], missing_id).to_numpy(), "id",
                       ["id is missing"] * len(missing_id))
    for name, bounds in RAW_RANGES.items():
        if columns is not None and name not in columns:
            continue
        col = table[name]
        out = pa.scalar(False)
        if bounds.low is not None:
            out = pc.or_(out, pc.less(col, bounds.low))
        if bounds.high is not None:
            out = pc.or_(out, pc.greater(col, bounds.high))
        found += rejected_where(table, out, name, col, f"{name} outside {bounds.describe()}: {{value}}")[1]
    if columns is not None and "status" not in columns:
        return found
    status = table["status"]
    unknown = pc.invert(pc.is_in(status, value_set=pa.array(STATUSES)))
    return found + rejected_where(table, unknown, "status", status,
                                  f"status is not one of {', '.join(STATUSES)}: {{value}}")[1]
