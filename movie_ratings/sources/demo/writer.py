"""Writing a snapshot as CSV the way the real file is written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from movie_ratings.sources.demo.lists import null_where


def csv_ready(table: pa.Table) -> pa.Table:
    """Format float columns the way pandas wrote the real file (``1234.0``, ``6.5``).

    Arrow writes ``1234.0`` as ``1234``, which readers would then infer as an integer.
    """
    columns = []
    for column in table.columns:
        if not pa.types.is_floating(column.type):
            columns.append(column)
            continue
        values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        numbers = values.to_numpy(zero_copy_only=False)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 1e16)
        as_int = pc.cast(pa.array(np.where(whole, numbers, 0).astype(np.int64)), pa.string())
        text = pc.if_else(
            pa.array(whole),
            pc.binary_join_element_wise(as_int, ".0", ""),
            pc.cast(values, pa.string()),
        )
        columns.append(null_where(text, values.is_null().to_numpy(zero_copy_only=False)))
    return pa.table(columns, names=table.column_names)


def write_snapshot_csv(table: pa.Table, path: Path) -> Path:
    """Write a snapshot as CSV atomically (a temporary file in the same folder, renamed).

    Strings are quoted, with embedded quotes doubled, so overviews may hold commas,
    quotes and line breaks; nulls are empty fields; floats keep a ``.0`` like the real
    file's.

    Args:
        table: a snapshot in the raw schema, e.g. from :func:`demo_snapshot`.
        path: the CSV file to write; its folder is created if missing.

    Returns:
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pa_csv.write_csv(csv_ready(table), tmp_name, pa_csv.WriteOptions(quoting_style="needed"))
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
