"""Rejected records as an immutable value: each cleaning step returns its own.

A step reports the records it rejects as :class:`Rejects` (record numbers, the column and
one reason per record) instead of filling a shared collector; the caller adds them up in
step order, so the rejects table lists reasons in the order the steps found them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.cleaning.parse import ROW


@dataclass(frozen=True, eq=False)
class Rejects:
    """Rejected records, batch by batch.

    Attributes:
        rows: per batch, the 1-based record numbers (``_row``) rejected.
        columns: per batch, the column that failed.
        reasons: per batch, one reason per record.
    """

    rows: tuple[np.ndarray, ...] = ()
    columns: tuple[str, ...] = ()
    reasons: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of(cls, rows: np.ndarray, column: str, reasons: Iterable[str]) -> Rejects:
        """One batch (no batch at all when ``rows`` is empty)."""
        if not len(rows):
            return cls()
        return cls((rows,), (column,), (tuple(reasons),))

    def __add__(self, other: Rejects) -> Rejects:
        return Rejects(self.rows + other.rows, self.columns + other.columns,
                       self.reasons + other.reasons)

    @classmethod
    def combine(cls, parts: Iterable[Rejects]) -> Rejects:
        """All ``parts`` in order."""
        out = cls()
        for part in parts:
            out = out + part
        return out

    def records(self) -> np.ndarray:
        """The distinct record numbers rejected, sorted."""
        return np.unique(np.concatenate(self.rows)) if self.rows else np.array([], np.int64)


def rejected_where(table: pa.Table, mask: pa.Array | pa.ChunkedArray, column: str,
                   values: pa.Array | pa.ChunkedArray, template: str) -> tuple[np.ndarray, Rejects]:
    """Positions where ``mask`` holds, and their rejects with ``template`` filled per value.

    Args:
        table: the table with ``_row``.
        mask: one boolean per row; null counts as false.
        column: the column named in the rejects.
        values: the column's values, shown in the reasons.
        template: a reason with a ``{value}`` field.

    Returns:
        The positions, and their :class:`Rejects`.
    """
    bad = mark(mask)
    found = Rejects.of(pc.take(table[ROW], bad).to_numpy(), column,
                       reasons_for(pc.take(values, bad), template))
    return bad, found


def reasons_for(values: pa.Array | pa.ChunkedArray, template: str) -> list[str]:
    """``template`` with each value, shortened, in its ``{value}`` field."""
    return [template.format(value=short(v)) for v in values.to_pylist()]


def short(value: object) -> str:
    """A value as a reason shows it: quoted, dates as written, at most 60 characters."""
    text = f"'{value.isoformat()}'" if isinstance(value, date) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def mark(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Indices (positions) where a boolean mask is true; null counts as false."""
    return np.flatnonzero(pc.fill_null(mask, False).to_numpy(zero_copy_only=False))
