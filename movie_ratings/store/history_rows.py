"""History groups (predictions), the same on every backend: the rows a merge accepts, and
rows written before the group's schema gained a column."""

from __future__ import annotations

import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.schema import HISTORY_GROUPS, FeatureGroupSpec


def history_spec(name: str) -> FeatureGroupSpec:
    """The declared history group ``name``.

    Raises:
        DataError: ``name`` is not a history group.
    """
    spec = HISTORY_GROUPS.get(name)
    if spec is None:
        raise DataError(f"{name!r} is not a history group")
    return spec


def history_keys(spec: FeatureGroupSpec) -> list[str]:
    """Columns a history group merges on: its primary key and event time."""
    return [*spec.primary_key, spec.event_time]


def rows_to_merge(name: str, table: pa.Table) -> tuple[FeatureGroupSpec, pa.Table]:
    """The group and the rows of a merge into history group ``name``, in its schema.

    Raises:
        DataError: not a history group, the rows do not match its schema, or two rows
            share a key (primary key + event time).
    """
    spec = history_spec(name)
    try:
        table = table.select(list(spec.column_names)).cast(spec.arrow_schema)
    except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"rows for {name} do not match its schema: {exc}") from None
    keys = history_keys(spec)
    if table.group_by(keys).aggregate([]).num_rows != table.num_rows:
        raise DataError(f"rows for {name} repeat a key {keys}")
    return spec, table


def with_added_columns(rows: pa.Table, spec: FeatureGroupSpec) -> pa.Table:
    """Rows read from a history group, in its schema: null in the columns added to the
    schema since they were written."""
    for column in spec.arrow_schema:
        if column.name not in rows.column_names:
            rows = rows.append_column(column, pa.nulls(rows.num_rows, column.type))
    return rows.select(list(spec.column_names)).cast(spec.arrow_schema)
