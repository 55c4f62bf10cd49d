"""Conversions between Arrow tables and the pandas frames the SDK takes and returns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.errors import DataError


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """A pandas frame for ``insert`` whose columns keep their Arrow types exactly.

    The SDK infers each column's type from the frame and refuses an insert whose types
    differ from the group's. Plain ``to_pandas`` would make an int column with nulls
    float64 and an all-null string column untyped (which the SDK cannot type at all);
    Arrow-backed columns keep int, date, list<string> and timestamp types as declared.
    """
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def _column(values: pd.Series, field: pa.Field, group: str) -> pa.Array:
    dtype = field.type
    try:
        if pa.types.is_list(dtype):
            try:  # lists or numpy arrays per cell, None/NaN for missing: Arrow reads them as they are
                return pa.array(values, type=dtype, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                cells = [None if not hasattr(v, "__len__") and _is_missing(v) else list(v)
                         for v in values]
                return pa.array(cells, type=dtype)
        if pa.types.is_date(dtype) and (
            pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_object_dtype(values)
        ):
            values = pd.to_datetime(values, errors="raise", utc=True)
            return pc.cast(pa.array(values.dt.date, from_pandas=True), dtype)
        if pa.types.is_timestamp(dtype):
            values = pd.to_datetime(values, errors="raise", utc=dtype.tz is not None)
        array = pa.array(values, from_pandas=True)
        return array if array.type == dtype else pc.cast(array, dtype)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, TypeError) as exc:
        raise DataError(
            f"feature group {group}: column {field.name} read back from Hopsworks does not "
            f"convert to {dtype}: {exc}"
        ) from None


def frame_to_table(frame: pd.DataFrame, schema: pa.Schema, group: str) -> pa.Table:
    """An Arrow table with ``schema`` from a frame the SDK returned.

    The SDK's readers give dates as datetimes or date objects, nullable integers as floats
    or pandas' nullable types, and lists as lists or numpy arrays, depending on the reader;
    all of these are accepted.

    Raises:
        DataError: a column is missing or does not convert, naming both.
    """
    missing = [n for n in schema.names if n not in frame.columns]
    if missing:
        raise DataError(
            f"feature group {group}: Hopsworks returned no column(s) {missing}; found "
            f"{list(frame.columns)}"
        )
    frame = frame.reset_index(drop=True)
    return pa.Table.from_arrays(
        [_column(frame[f.name], f, group) for f in schema], schema=schema
    )

