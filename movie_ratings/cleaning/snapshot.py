"""A whole snapshot through extract, validation and cleaning, with its rejects table.

Each step returns the records it rejects; this module adds them up in step order, drops
the rejected and repeated records, and fails a snapshot whose rejected share says the
source is broken.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pyarrow as pa

from movie_ratings.cleaning.clean import (
    coerce_types,
    keep_rows,
    null_malformed_links,
    parse_integers,
    reject_duplicates,
    split_lists,
    zeros_to_null,
)
from movie_ratings.cleaning.parse import ROW, BadLine, ParsedSnapshot
from movie_ratings.cleaning.rejects import Rejects
from movie_ratings.cleaning.validate import check_control_characters, check_values
from movie_ratings.errors import BrokenSourceError, SchemaError
from movie_ratings.schema import REJECTS_SCHEMA, SOURCE_HASH


@dataclass(frozen=True)
class Prefiltered:
    """The records of a daily snapshot whose description is the one stored (their source
    hash is the stored film's): only their signals were cleaned.

    Attributes:
        ids: their films, in file order.
        source_hashes: their source hashes (equal to the stored ones at ``commit``).
        signals: their cleaned signals: ``id``, the signal columns and ``_row``.
        cleaned_rows: ``_row`` of each row of the snapshot's cleaned table (the records
            that went through every step), to put both back in file order.
        commit: the store commit whose rows they were compared with.
    """

    ids: np.ndarray
    source_hashes: np.ndarray
    signals: pa.Table
    cleaned_rows: np.ndarray
    commit: int


@dataclass(frozen=True)
class CleanSnapshot:
    """The outcome of cleaning a snapshot.

    Attributes:
        table: typed rows, one per id, raw column names; list columns are lists of strings.
            With ``prefiltered``, only the records that went through every cleaning step.
        rejects: quarantined rows (``REJECTS_SCHEMA``), one row per (record, reason).
        rows_read: records in the file, bad lines included.
        duplicates: records dropped because a later record had the same id.
        prefiltered: a daily's records whose description was already stored (kept, but
            not in ``table``); None when every record was cleaned in full.
    """

    table: pa.Table
    rejects: pa.Table
    rows_read: int
    duplicates: int = 0
    warnings: tuple[str, ...] = field(default=())
    prefiltered: Prefiltered | None = None

    @property
    def rows_kept(self) -> int:
        """Records kept (one per film), prefiltered ones included."""
        extra = len(self.prefiltered.ids) if self.prefiltered is not None else 0
        return int(self.table.num_rows) + extra

    @property
    def rejected_rows(self) -> int:
        return self.rows_read - self.rows_kept



def clean_snapshot(
    parsed: ParsedSnapshot,
    *,
    as_of: date,
    source: str,
    max_reject_fraction: float,
) -> CleanSnapshot:
    """Apply every cleaning step and quarantine what fails.

    Args:
        parsed: the output of :func:`~movie_ratings.cleaning.parse.read_snapshot_csv`.
        as_of: snapshot date.
        source: source name, recorded with rejects.
        max_reject_fraction: a larger rejected share means a broken source.

    Returns:
        The cleaned snapshot with its rejects.

    Raises:
        SchemaError: the snapshot has no rows at all.
        BrokenSourceError: more than ``max_reject_fraction`` of the records were rejected.
    """
    rows_read = parsed.table.num_rows + len(parsed.bad_lines)
    if rows_read == 0:
        raise SchemaError("the snapshot has a header but no rows")
    cleaned = clean_records(parsed, as_of=as_of, source=source)
    check_reject_fraction(rows_read - cleaned.table.num_rows, rows_read, max_reject_fraction,
                          cleaned.rejects)
    return replace(cleaned, table=cleaned.table.drop_columns([ROW]))


def clean_records(parsed: ParsedSnapshot, *, as_of: date, source: str) -> CleanSnapshot:
    """Every cleaning step on the records of ``parsed``, without the reject-share check.

    ``parsed`` may hold only some of a file's records (the daily prefilter cleans those whose
    description changed): every step is decided by a record alone, its ``_row`` and the
    snapshot date, except the duplicate rule, which needs all records of an id. The result's
    table keeps ``_row``; its ``rows_read`` counts ``parsed``'s records and bad lines.
    """
    raw = parsed.table
    rows_read = raw.num_rows + len(parsed.bad_lines)
    control = check_control_characters(raw)
    typed, unparsed = coerce_types(raw, as_of)
    typed, malformed_links = null_malformed_links(zeros_to_null(typed))
    rejects = control + unparsed + check_values(typed)
    record_numbers = typed[ROW].to_numpy()
    valid_mask = np.ones(typed.num_rows, dtype=bool)
    valid_mask[np.searchsorted(record_numbers, rejects.records())] = False
    # Duplicates among the valid records; then one pass drops both (keep_rows copies no column).
    duplicate, repeated = reject_duplicates(typed, valid_mask)
    valid_mask[duplicate] = False
    rejects += repeated
    kept = keep_rows(typed, valid_mask)
    reject_table = _rejects_table(raw, parsed.bad_lines, rejects, as_of=as_of, source=source)
    warnings: tuple[str, ...] = ()
    if parsed.extra_columns:
        warnings += (f"ignored unknown column(s): {', '.join(parsed.extra_columns)}",)
    warnings += tuple(
        f"{count:,} malformed {name} value(s) set to null" for name, count in malformed_links.items()
    )
    return CleanSnapshot(
        table=split_lists(kept),
        rejects=reject_table,
        rows_read=rows_read,
        duplicates=len(duplicate),
        warnings=warnings,
    )


def check_reject_fraction(rejected_rows: int, rows_read: int, max_reject_fraction: float,
                          rejects: pa.Table) -> None:
    """Fail a snapshot whose rejected share says the source is broken.

    Raises:
        BrokenSourceError: more than ``max_reject_fraction`` of the records were rejected.
    """
    if rejected_rows > max_reject_fraction * rows_read:
        raise BrokenSourceError(
            f"{rejected_rows:,} of {rows_read:,} records rejected "
            f"({rejected_rows / rows_read:.1%} > {max_reject_fraction:.1%}): the source looks broken, "
            f"nothing was written. Most common reasons: {top_reasons(rejects)}"
        )


def _rejects_table(
    raw: pa.Table,
    bad_lines: tuple[BadLine, ...],
    rejects: Rejects,
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
    # Record numbers to positions in ``raw`` (all of a file's records, or some of them).
    positions = np.searchsorted(raw[ROW].to_numpy(), np.asarray(rows, dtype=np.int64))
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
        for r in subset.drop_columns([c for c in (ROW, SOURCE_HASH) if c in subset.column_names]).to_pylist()
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


def top_reasons(rejects: pa.Table, n: int = 3) -> str:
    """The most common kinds of reject ("budget outside [0, 1e+10]"), with counts."""
    kinds = Counter(r.rpartition(": ")[0] or r for r in rejects["reason"].to_pylist())
    return "; ".join(f"{k} ({v:,})" for k, v in kinds.most_common(n)) or "none"


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------
