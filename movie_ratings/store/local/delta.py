"""Delta tables on local disk: creating a group's table, reading a table version as an
Arrow dataset, and compacting a table's small files.

The other modules of the local store take deltalake's names from here, so that a broken
install fails with the message below.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

try:
    from deltalake import DeltaTable, Schema, write_deltalake
    from deltalake.transaction import AddAction, create_table_with_add_actions
except ImportError as exc:  # only on a broken install; see the README's Hopsworks section
    raise ImportError(
        "the `deltalake` module is missing or broken. The hopsworks extra installs "
        "hops-deltalake, which writes the same `deltalake` module as the deltalake package, so "
        "uninstalling either one deletes the other's files. Reinstall the one you need: "
        "`pip install --force-reinstall --no-deps hops-deltalake` (with the hopsworks extra) or "
        f"`pip install --force-reinstall --no-deps deltalake` (without). ({exc})"
    ) from exc

__all__ = [
    "COMPACT_AFTER_FILES",
    "COMPACT_TARGET_BYTES",
    "CREATE_FILES",
    "DeltaTable",
    "create_table",
    "delta_dataset",
    "file_stats",
    "write_deltalake",
]

#: A table is compacted when a write leaves it with more data files than this. Every
#: daily update adds a small file to each table, and reading a table (the daily diff reads
#: it column by column) costs time per file: without compaction the daily diff would slow
#: down day after day.
COMPACT_AFTER_FILES = 16
#: Compaction merges the files smaller than this and leaves larger ones alone (a big
#: backfill's, a churny day's signals, and merged files once they reach it). Earlier
#: versions keep their files, so every byte compaction rewrites is stored twice: the
#: target is kept low enough that a day whose signals moved for a large share of the films
#: (its size at 1.2M films: bench/RESULTS.md) is never rewritten, while the small files of
#: quiet days are still merged.
COMPACT_TARGET_BYTES = 2 << 20


def _compacted(path: Path) -> int:
    """Merge a table's small files if it has too many; returns its latest version.

    Compaction is a Delta commit of its own that changes no row: the store commit then
    names the compacted version, and earlier versions keep their files (time travel).
    A run killed after it is rolled back like any uncommitted write.
    """
    table = DeltaTable(path)
    if len(table.file_uris()) > COMPACT_AFTER_FILES:
        table.optimize.compact(target_size=COMPACT_TARGET_BYTES)
        table = DeltaTable(path)
    return table.version()


def delta_dataset(path: Path, table_version: int) -> ds.Dataset:
    """The files of a Delta table version as an Arrow dataset, read by Arrow's own filesystem.

    deltalake's default reads through a Python filesystem handler, so Arrow's I/O threads
    call back into Python. A thread still doing so while the interpreter shuts down is
    forced to exit in the middle of C++ code, which aborts the process after all work is
    done ("terminate called without an active exception", delta-io/delta-rs#2184,
    apache/arrow#45017), now and then in short processes. Arrow's native local filesystem
    never calls into Python. deltalake documents passing a filesystem rooted at the table
    for exactly this kind of use.
    """
    root = pafs.SubTreeFileSystem(str(path.resolve()), pafs.LocalFileSystem())
    return DeltaTable(path, version=table_version).to_pyarrow_dataset(filesystem=root)


#: Parquet files a new group table is split into, written in parallel.
CREATE_FILES = 2


def create_table(path: Path, rows: pa.Table, *, name: str, description: str,
                 files: int = CREATE_FILES) -> int:
    """Create a Delta table holding ``rows``: Parquet files written by pyarrow in parallel,
    then committed as the table's first version in one transaction.

    A backfill's main cost: this takes less CPU time than ``write_deltalake`` (whose writer
    is single-threaded), and the files are written by ``files`` threads. Each file's
    statistics (row count, null counts, min/max of numbers and dates) go into the log as
    ``write_deltalake`` would put them, so later merges still skip files by
    ``snapshot_date``.

    Args:
        path: the table's folder (must not hold a table yet).
        rows: the rows (the schema becomes the table's).
        name: table name in the Delta metadata.
        description: table description in the Delta metadata.
        files: number of Parquet files (and threads).

    Returns:
        The table version (0).
    """
    path.mkdir(parents=True, exist_ok=True)
    step = max(1, -(-rows.num_rows // files))
    # Parquet min/max of numbers and dates only: those of the texts and lists are a large
    # share of the writing time, and no read filters on them.
    stats_columns = [f.name for f in rows.schema if _has_min_max(f.type) or pa.types.is_boolean(f.type)]
    parts = [rows.slice(start, step) for start in range(0, rows.num_rows, step)] or [rows]

    def write(part: pa.Table) -> AddAction:
        file = f"part-{uuid.uuid4()}-c000.snappy.parquet"
        pq.write_table(part, path / file, compression="snappy", write_statistics=stats_columns)
        stat = (path / file).stat()
        return AddAction(file, stat.st_size, {}, int(stat.st_mtime * 1000), True,
                         json.dumps(file_stats(part)))

    with ThreadPoolExecutor(len(parts)) as pool:
        actions = list(pool.map(write, parts))
    create_table_with_add_actions(str(path), Schema.from_arrow(rows.schema), actions,
                                  mode="error", name=name, description=description)
    return DeltaTable(path).version()


def _has_min_max(dtype: pa.DataType) -> bool:
    """Whether a column's min/max goes into file statistics: numbers and dates."""
    return bool(pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_date(dtype))


def file_stats(part: pa.Table) -> dict[str, Any]:
    """Delta file statistics of a data file's rows: row count, null count of every flat
    column, and min/max of integer, floating-point and date columns."""
    mins, maxs, nulls = {}, {}, {}
    for field, column in zip(part.schema, part.columns, strict=True):
        if pa.types.is_nested(field.type):
            continue
        nulls[field.name] = column.null_count
        if not _has_min_max(field.type) or column.null_count == len(column):
            continue
        low, high = pc.min_max(column).values()
        low, high = low.as_py(), high.as_py()
        if isinstance(low, float) and not (np.isfinite(low) and np.isfinite(high)):
            continue  # NaN or infinite bounds: leave them out rather than write invalid JSON
        mins[field.name] = low.isoformat() if hasattr(low, "isoformat") else low
        maxs[field.name] = high.isoformat() if hasattr(high, "isoformat") else high
    return {"numRecords": part.num_rows, "minValues": mins, "maxValues": maxs, "nullCount": nulls}
