"""A fake of the Hopsworks SDK at the boundary the adapters use, in memory.

It behaves like Hopsworks where the adapters depend on it (offline inserts upsert on
primary key + event time, point-in-time joins, feature views with labels and helper
columns, in-memory training datasets with versions, a model registry that stores files),
checks what Hopsworks checks (declared features, names, keys), returns frames the way the
SDK's readers do, and records every call with its keyword arguments so tests can assert
them and check them against the real SDK's signatures (tests/unit/test_hopsworks_signatures.py).

Behaviours of hopsworks 5.2.1 that are modelled because the adapters must cope with them
(each is marked where it is modelled with the SDK function it mirrors):

* a feature group from ``get_or_create_feature_group`` is saved at its first ``insert``;
  before that ``get_feature_group`` does not find it and a view cannot use it;
* ``FeatureGroup.read`` / ``Query.read`` return what the Query Service gives after the SDK's
  ``_cast_column_to_offline_type``: dates as ``datetime.date`` objects, integers as nullable
  ``Int64``/``Int32``, doubles as nullable ``Float64``, timestamps as naive UTC datetimes,
  lists as numpy arrays (tests/unit/test_hopsworks_signatures.py runs the SDK's own cast on
  the same tables and compares);
* ``Model.download(local_path)`` returns ``local_path`` with the files at its root;
* ``FeatureView.training_data`` without start/end keeps only ``event_time < now`` and
  computes statistics;
* saving a model version that already exists raises ``ModelRegistryException``.

Cluster preconditions can be broken on purpose (:attr:`FakeHopsworks.cluster`) to test what
the user is told: no Query Service (reads fail like the SDK's Hive fallback) and no datanode
load balancer (delta-rs writes from outside the cluster fail).
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TYPES = {
    "bigint": pa.int64(), "int": pa.int32(), "smallint": pa.int16(), "tinyint": pa.int8(),
    "double": pa.float64(), "float": pa.float32(), "boolean": pa.bool_(), "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"), "string": pa.string(),
}


def arrow_type(offline: str) -> pa.DataType:
    if offline.startswith("array<") and offline.endswith(">"):
        return pa.list_(arrow_type(offline[len("array<"):-1]))
    return _TYPES[offline]


@dataclass
class Call:
    """One recorded SDK call: ``target`` names the real SDK object (see the signature test)."""

    target: str
    args: tuple
    kwargs: dict[str, Any]


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    attributes: set[str] = field(default_factory=set)

    def record(self, target: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append(Call(target, args, kwargs))

    def named(self, target: str) -> list[Call]:
        return [c for c in self.calls if c.target == target]


class _Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.reason = "fake"


class RestAPIError(Exception):
    """Same name and ``response.status_code`` as the SDK's error."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"HTTP code: {status_code}, error msg: {message}")
        self.response = _Response(status_code)


class FeatureStoreException(Exception):
    """Same name as the SDK's client-side feature store error."""


class ModelRegistryException(Exception):
    """Same name as the SDK's client-side model registry error (hsml)."""


@dataclass
class Cluster:
    """What the cluster provides (all of it unless a test takes something away)."""

    query_service: bool = True
    datanode_load_balancer: bool = True
    model_registry: bool = True


class Feature:
    """Stands in for ``hsfs.feature.Feature`` (construction and filters)."""

    def __init__(self, name: str, type: str | None = None, description: str | None = None,
                 primary: bool = False, **kwargs: Any) -> None:
        _recorder().record("Feature.__init__", name=name, type=type, description=description,
                           primary=primary, **kwargs)
        self.name, self.type, self.description = name, type, description

    def __le__(self, other: Any) -> Filter:
        _recorder().record("Feature.__le__", other)
        return Filter(self.name, "<=", other)

    def __gt__(self, other: Any) -> Filter:
        _recorder().record("Feature.__gt__", other)
        return Filter(self.name, ">", other)


@dataclass
class Filter:
    feature: str
    op: str
    value: Any

    def apply_arrow(self, table: pa.Table) -> pa.Table:
        column = table[self.feature]
        op = pc.less_equal if self.op == "<=" else pc.greater
        return table.filter(pc.fill_null(op(column, self.value), False))

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        column = frame[self.feature]
        if self.op == "<=":
            return frame[(column <= self.value).to_numpy(dtype=bool, na_value=False)]
        assert self.op == ">"
        return frame[(column > self.value).to_numpy(dtype=bool, na_value=False)]


_ACTIVE: list[Recorder] = [Recorder()]


def _recorder() -> Recorder:
    return _ACTIVE[-1]


#: hopsworks_common.core.type_systems.pandas_offline_dtype_mapping
_PANDAS_OFFLINE = {
    "bigint": pd.Int64Dtype(), "int": pd.Int32Dtype(), "smallint": pd.Int16Dtype(),
    "tinyint": pd.Int8Dtype(), "float": pd.Float32Dtype(), "double": pd.Float64Dtype(),
}


def offline_type_of(dtype: pa.DataType) -> str:
    """The offline type a group declares for an Arrow type (inverse of :func:`arrow_type`)."""
    if pa.types.is_list(dtype):
        return f"array<{offline_type_of(dtype.value_type)}>"
    for name, candidate in _TYPES.items():
        if candidate == dtype or (pa.types.is_timestamp(dtype) and name == "timestamp"):
            return name
    raise KeyError(str(dtype))


def cast_to_offline_type(column: pd.Series, offline: str) -> pd.Series:
    """Mirrors hopsworks_common.core.type_systems._cast_pandas_column_to_offline_type, which
    Engine._sql_offline applies to every frame the Query Service returns."""
    if offline == "timestamp":
        return pd.to_datetime(column, utc=True).dt.tz_localize(None)
    if offline == "date":
        return pd.to_datetime(column, utc=True).dt.date
    if offline.startswith("array<") or offline == "boolean":
        return column.apply(
            lambda x: x if x is not None and (isinstance(x, list | dict | np.ndarray)
                                              or (not pd.isnull(x) and x != "")) else None)
    if offline == "string":
        return column.apply(lambda x: str(x) if x is not None else None)
    if offline in _PANDAS_OFFLINE:
        return column.astype(_PANDAS_OFFLINE[offline])
    return column


def _to_sdk_frame(table: pa.Table, types: dict[str, str]) -> pd.DataFrame:
    """What a read through the Query Service gives back for a table: the Arrow Flight result
    as pandas (arrow_flight_client._read_query), then the SDK's cast of every column to its
    offline type (Engine._sql_offline -> Engine._cast_columns)."""
    frame = table.to_pandas()
    for name in frame.columns:
        frame[name] = cast_to_offline_type(frame[name], types[name])
    return frame


class FeatureGroup:
    def __init__(self, store: FeatureStore, name: str, version: int, description: str,
                 primary_key: list[str], event_time: str | None, features: list[Feature],
                 statistics_config: Any, online_enabled: bool, time_travel_format: str | None) -> None:
        self._store = store
        self._name, self._version = name, version
        self.description = description
        self.primary_key, self.event_time = list(primary_key), event_time
        self.features = features
        self.statistics_config = statistics_config
        self.online_enabled, self.time_travel_format = online_enabled, time_travel_format
        self.schema = pa.schema([pa.field(f.name, arrow_type(f.type)) for f in features])
        self.types = {f.name: f.type for f in features}
        self.table = self.schema.empty_table()
        self.commits: dict[int, dict[str, Any]] = {}
        self.saved = False
        self.rows_read = 0  # rows this group sent to a reader (tests check what is read)

    @property
    def name(self) -> str:
        _recorder().attributes.add("FeatureGroup.name")
        return self._name

    @property
    def version(self) -> int:
        _recorder().attributes.add("FeatureGroup.version")
        return self._version

    @property
    def columns(self) -> list[Feature]:
        """``hsfs.feature_group.FeatureGroupBase.columns``: the group's feature definitions."""
        _recorder().attributes.add("FeatureGroup.columns")
        return list(self.features)

    def append_features(self, features: Feature | list[Feature]) -> FeatureGroup:
        """``hsfs.feature_group.FeatureGroupBase.append_features``: new features join the
        schema (FeatureGroupEngine._append_features updates the metadata, then writes an
        empty frame to evolve the table's schema); stored rows read null there."""
        _recorder().record("FeatureGroup.append_features", features)
        new = [features] if isinstance(features, Feature) else list(features)
        clash = [f.name for f in new if f.name in self.schema.names]
        if clash:
            raise RestAPIError(400, f"{self._name}: features {clash} already exist")
        self.features = [*self.features, *new]
        self.schema = pa.schema([pa.field(f.name, arrow_type(f.type)) for f in self.features])
        self.types = {f.name: f.type for f in self.features}
        self.table = pa.Table.from_arrays(
            [self.table[n] if n in self.table.column_names else pa.nulls(self.table.num_rows, self.schema.field(n).type)
             for n in self.schema.names], schema=self.schema)
        return self

    def _keys(self) -> list[str]:
        return [*self.primary_key, *([self.event_time] if self.event_time else [])]

    def _from_frame(self, frame: pd.DataFrame) -> pa.Table:
        if list(frame.columns) != self.schema.names:
            raise RestAPIError(400, f"{self._name}: columns {list(frame.columns)} do not match "
                                    f"the feature group's features {self.schema.names}")
        try:
            return pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise RestAPIError(400, f"{self._name}: {exc}") from None

    def insert(self, features: pd.DataFrame, overwrite: bool = False, operation: str = "upsert",
               storage: str | None = None, write_options: dict | None = None,
               validation_options: dict | None = None, wait: bool = False, **kwargs: Any) -> tuple:
        _recorder().record("FeatureGroup.insert", features, overwrite=overwrite, operation=operation,
                           storage=storage, write_options=write_options,
                           validation_options=validation_options, wait=wait, **kwargs)
        self._store.fail_next("insert")
        self._store.fail_next(f"insert:{self._name}")
        if not self._store.cluster.datanode_load_balancer:
            # DeltaEngine._setup_delta_rs, for a client outside the cluster
            raise FeatureStoreException(
                "Failed to write to delta table in external cluster. Make sure datanode load "
                "balancer has been setup on the cluster.")
        incoming = self._from_frame(features)
        if not self.saved:  # FeatureGroup.insert saves a new group first (FeatureGroup.save)
            self._store.save_group(self)
        keys = self._keys()
        if incoming.group_by(keys).aggregate([]).num_rows != incoming.num_rows:
            raise RestAPIError(400, f"{self._name}: duplicate primary key + event time in one insert")
        # DeltaEngine._write_delta_dataset: merge on primary key + event time
        replaced = self._matching(incoming.select(keys))
        updated = int(replaced.sum())
        self.table = pa.concat_tables([self.table.filter(pa.array(~replaced)), incoming])
        self._commit(inserted=incoming.num_rows - updated, updated=updated, deleted=0)
        return None, None

    def _matching(self, keys: pa.Table) -> np.ndarray:
        """Which stored rows have one of ``keys``."""
        if self.table.num_rows == 0:
            return np.zeros(0, dtype=bool)
        names = keys.column_names
        stored = self.table.select(names).append_column(
            "__row", pa.array(np.arange(self.table.num_rows, dtype=np.int64)))
        hits = stored.join(keys.cast(stored.select(names).schema), names, join_type="left semi")
        out = np.zeros(self.table.num_rows, dtype=bool)
        out[hits["__row"].to_numpy()] = True
        return out

    def _commit(self, *, inserted: int, updated: int, deleted: int) -> None:
        commit_id = next(self._store.clock)
        self.commits[commit_id] = {"committedOn": str(commit_id), "rowsInserted": inserted,
                                   "rowsUpdated": updated, "rowsDeleted": deleted}

    def remove_rows(self, delete_df: pd.DataFrame, write_options: dict | None = None,
                    storage: str | None = None) -> None:
        _recorder().record("FeatureGroup.remove_rows", delete_df, write_options=write_options,
                           storage=storage)
        keys = self._keys()
        gone = pa.Table.from_pandas(delete_df[keys], preserve_index=False)
        drop = self._matching(gone)
        self.table = self.table.filter(pa.array(~drop))
        self._commit(inserted=0, updated=0, deleted=int(drop.sum()))

    def read(self, wallclock_time: Any = None, online: bool = False, dataframe_type: str = "default",
             read_options: dict | None = None, **kwargs: Any) -> pd.DataFrame:
        _recorder().record("FeatureGroup.read", wallclock_time=wallclock_time, online=online,
                           dataframe_type=dataframe_type, read_options=read_options, **kwargs)
        self._store.fail_next("read")
        if wallclock_time is not None:
            raise FeatureStoreException("Time travel queries are not supported in the python client.")
        return Query(self, list(self.schema.names)).read(dataframe_type=dataframe_type)

    def filter(self, f: Filter) -> Query:
        _recorder().record("FeatureGroup.filter", f)
        query = Query(self, list(self.schema.names))
        query.filters.append(f)
        return query

    def delete(self) -> None:
        _recorder().record("FeatureGroup.delete")
        self._store.delete_group(self)

    def commit_details(self, wallclock_time: Any = None, limit: int | None = None) -> dict:
        _recorder().record("FeatureGroup.commit_details", wallclock_time=wallclock_time, limit=limit)
        newest = sorted(self.commits, reverse=True)[:limit]
        return {k: self.commits[k] for k in newest}

    def select_all(self, include_primary_key: bool = True, include_foreign_key: bool = True,
                   include_partition_key: bool = True, include_event_time: bool = True) -> Query:
        _recorder().record("FeatureGroup.select_all", include_primary_key=include_primary_key,
                           include_event_time=include_event_time)
        return Query(self, list(self.schema.names))

    def select(self, features: list[str]) -> Query:
        _recorder().record("FeatureGroup.select", features)
        unknown = [f for f in features if f not in self.schema.names]
        if unknown:
            raise FeatureStoreException(f"{self._name} has no features {unknown}")
        return Query(self, list(features))

    def get_feature(self, name: str) -> Feature:
        _recorder().record("FeatureGroup.get_feature", name)
        if name not in self.schema.names:
            raise FeatureStoreException(f"{self._name} has no feature {name}")
        return Feature(name, str(self.schema.field(name).type))


class Query:
    def __init__(self, left: FeatureGroup, selected: list[str]) -> None:
        self.left, self.selected = left, selected
        self.joins: list[tuple[Query, list[str], str]] = []
        self.filters: list[Filter] = []

    def filter(self, f: Filter) -> Query:
        _recorder().record("Query.filter", f)
        out = Query(self.left, self.selected)
        out.joins, out.filters = list(self.joins), [*self.filters, f]
        return out

    def join(self, sub_query: Query, on: list[str] | None = None, left_on: list[str] | None = None,
             right_on: list[str] | None = None, join_type: str | None = "left",
             prefix: str | None = None) -> Query:
        _recorder().record("Query.join", sub_query, on=on, left_on=left_on, right_on=right_on,
                           join_type=join_type, prefix=prefix)
        for key in on or []:
            if key not in self.left.schema.names or key not in sub_query.left.schema.names:
                raise FeatureStoreException(f"join key {key} is not in both feature groups")
        clash = set(self.columns) & set(sub_query.selected)
        if clash and prefix is None:
            raise FeatureStoreException(f"ambiguous features {sorted(clash)} in the join")
        out = Query(self.left, self.selected)
        out.joins = [*self.joins, (sub_query, list(on or []), join_type or "left")]
        out.filters = list(self.filters)
        return out

    @property
    def columns(self) -> list[str]:
        cols = list(self.selected)
        for sub, _on, _how in self.joins:
            cols += sub.selected
        return cols

    @property
    def featuregroups(self) -> list[FeatureGroup]:
        _recorder().attributes.add("Query.featuregroups")
        return [self.left, *(sub.left for sub, _o, _h in self.joins)]

    def _frame(self) -> pd.DataFrame:
        """Point-in-time join: for each left row, the right row with the same keys and the
        latest event time not after the left row's."""
        left = self.left.table.to_pandas(date_as_object=False)
        out = left.copy()
        out["__row"] = np.arange(len(out))
        for sub, on, _how in self.joins:
            right = sub.left.table.to_pandas(date_as_object=False)
            et_l, et_r = self.left.event_time, sub.left.event_time
            right = right[[*on, et_r, *[c for c in sub.selected if c not in on]]].rename(
                columns={et_r: "__right_time"})
            right_cols = [c for c in sub.selected if c not in on]
            merged = out[["__row", *on, et_l]].merge(right, on=on, how="inner")
            merged = merged[merged["__right_time"] <= merged[et_l]]
            merged = merged.sort_values(["__row", "__right_time"]).drop_duplicates("__row", keep="last")
            out = out.merge(merged[["__row", *right_cols]], on="__row", how="left")
        out = out.drop(columns=["__row"])[self.columns].reset_index(drop=True)
        for f in self.filters:
            out = f.apply(out)
        return out.reset_index(drop=True)

    def types(self) -> dict[str, str]:
        types = dict(self.left.types)
        for sub, _on, _how in self.joins:
            types |= {c: sub.left.types[c] for c in sub.selected}
        return types

    def _sdk_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame as the SDK returns it (see :func:`_to_sdk_frame`)."""
        table = pa.Table.from_pandas(frame, preserve_index=False)
        types = self.types()
        table = table.cast(pa.schema([pa.field(n, arrow_type(types[n])) for n in table.column_names]))
        return _to_sdk_frame(table, types)

    def read(self, online: bool = False, dataframe_type: str = "default",
             read_options: dict | None = None, **kwargs: Any) -> pd.DataFrame:
        _recorder().record("Query.read", online=online, dataframe_type=dataframe_type,
                           read_options=read_options, **kwargs)
        store = self.left._store
        store.fail_next("read")
        for group in self.featuregroups:
            if not group.saved:
                raise FeatureStoreException(f"feature group {group._name} is not saved yet")
        if not store.cluster.query_service:
            # Engine._sql_offline without the Query Service (Arrow Flight) falls back to Hive
            raise ValueError(
                "Reading data with Hive is not supported when using hopsworks client version >= 4.0")
        if not self.joins:  # one group: read without the pandas join machinery
            table = self.left.table.select(self.selected)
            for f in self.filters:  # pushed down: only matching rows leave the cluster
                table = f.apply_arrow(table)
            self.left.rows_read += table.num_rows
            return _to_sdk_frame(table, self.left.types)
        frame = self._sdk_frame(self._frame())
        for group in self.featuregroups:
            group.rows_read += group.table.num_rows
        return frame


class FeatureView:
    def __init__(self, name: str, version: int, query: Query, labels: list[str], description: str,
                 inference_helper_columns: list[str], training_helper_columns: list[str]) -> None:
        self._name, self._version, self._query = name, version, query
        self.labels, self.description = labels, description
        self.inference_helper_columns = inference_helper_columns
        self.training_helper_columns = training_helper_columns
        self.training_datasets: dict[int, dict[str, Any]] = {}
        self._last_td: int | None = None

    @property
    def name(self) -> str:
        _recorder().attributes.add("FeatureView.name")
        return self._name

    @property
    def version(self) -> int:
        _recorder().attributes.add("FeatureView.version")
        return self._version

    @property
    def query(self) -> Query:
        _recorder().attributes.add("FeatureView.query")
        return self._query

    def training_data(self, start_time: Any = None, end_time: Any = None, description: str = "",
                      extra_filter: Filter | None = None, statistics_config: Any = None,
                      read_options: dict | None = None, spine: Any = None, primary_key: bool = False,
                      event_time: bool = False, training_helper_columns: bool = False,
                      dataframe_type: str = "default", **kwargs: Any) -> tuple:
        _recorder().record("FeatureView.training_data", start_time=start_time, end_time=end_time,
                           description=description, extra_filter=extra_filter,
                           statistics_config=statistics_config, read_options=read_options,
                           primary_key=primary_key, event_time=event_time,
                           training_helper_columns=training_helper_columns,
                           dataframe_type=dataframe_type, **kwargs)
        store = self._query.left._store
        if not store.cluster.query_service:
            raise ValueError(
                "Reading data with Hive is not supported when using hopsworks client version >= 4.0")
        frame = self._query._frame()
        if extra_filter is not None:
            frame = extra_filter.apply(frame)
        # FeatureViewEngine._set_event_time: without start/end the SDK sets them to 1 s after
        # the epoch and *now*, and the query keeps start <= event_time < end.
        start = _to_timestamp(start_time) if start_time is not None else pd.Timestamp(1000, unit="ms")
        end = _to_timestamp(end_time) if end_time is not None else pd.Timestamp.now()
        times = pd.to_datetime(frame[self._query.left.event_time])
        frame = frame[((times >= start) & (times < end)).to_numpy()]
        drop = list(self.labels)
        if not primary_key:
            drop += self._query.left.primary_key
        if not event_time:
            drop.append(self._query.left.event_time)
        if not training_helper_columns:
            drop += self.training_helper_columns
        version = max(self.training_datasets, default=0) + 1
        # FeatureViewEngine._compute_training_dataset_statistics runs unless statistics are off
        statistics = statistics_config is not False and not (
            isinstance(statistics_config, dict) and statistics_config.get("enabled") is False)
        self.training_datasets[version] = {"description": description, "filter": extra_filter,
                                           "start_time": start, "end_time": end,
                                           "statistics_computed": statistics}
        self._last_td = version
        frame = self._query._sdk_frame(frame.reset_index(drop=True))
        features = frame.drop(columns=[c for c in dict.fromkeys(drop) if c in frame.columns])
        return features.reset_index(drop=True), frame[self.labels].reset_index(drop=True)

    def get_last_accessed_training_dataset(self) -> int | None:
        _recorder().record("FeatureView.get_last_accessed_training_dataset")
        return self._last_td


def _to_timestamp(value: Any) -> pd.Timestamp:
    """Start/end times as the SDK accepts them (dates, datetimes, strings, epoch ms)."""
    if isinstance(value, int):
        return pd.Timestamp(value, unit="ms")
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp


class FeatureStore:
    def __init__(self) -> None:
        self.groups: dict[tuple[str, int], FeatureGroup] = {}
        self.views: dict[tuple[str, int], FeatureView] = {}
        self.clock = itertools.count(1_700_000_000_000, 1000)
        self.failures: dict[str, list[Exception]] = {}
        self.cluster = Cluster()

    def save_group(self, group: FeatureGroup) -> None:
        """FeatureGroup.save: the group becomes visible to get_feature_group and views."""
        group.saved = True
        self.groups.setdefault((group._name, group._version), group)

    def delete_group(self, group: FeatureGroup) -> None:
        self.groups.pop((group._name, group._version), None)
        group.saved = False

    def fail_next(self, operation: str) -> None:
        """Raise the next failure queued for ``operation`` (tests queue them)."""
        queued = self.failures.get(operation)
        if queued:
            raise queued.pop(0)

    def get_or_create_feature_group(self, name: str, version: int, description: str = "",
                                    online_enabled: bool = False, time_travel_format: str | None = None,
                                    primary_key: list[str] | None = None, event_time: str | None = None,
                                    features: list[Feature] | None = None,
                                    statistics_config: Any = None, **kwargs: Any) -> FeatureGroup:
        _recorder().record("FeatureStore.get_or_create_feature_group", name=name, version=version,
                           description=description, online_enabled=online_enabled,
                           time_travel_format=time_travel_format, primary_key=primary_key,
                           event_time=event_time, features=features,
                           statistics_config=statistics_config, **kwargs)
        if (name, version) in self.groups:
            return self.groups[(name, version)]
        # A new group is not saved here: FeatureStore.get_or_create_feature_group returns an
        # unsaved FeatureGroup, saved by its first insert (or save).
        names = [f.name for f in features or []]
        bad = [n for n in [name, *names] if not _NAME.match(n)]
        if bad:
            raise RestAPIError(400, f"invalid names {bad}")
        for key in [*(primary_key or []), *([event_time] if event_time else [])]:
            if key not in names:
                raise RestAPIError(400, f"{key} is not a feature of {name}")
        if isinstance(statistics_config, dict):
            unknown = [c for c in statistics_config.get("columns", []) if c not in names]
            if unknown:
                raise RestAPIError(400, f"statistics columns {unknown} are not features of {name}")
        return FeatureGroup(self, name, version, description, primary_key or [], event_time,
                            list(features or []), statistics_config, online_enabled, time_travel_format)

    def get_feature_group(self, name: str, version: int | None = None) -> FeatureGroup | None:
        _recorder().record("FeatureStore.get_feature_group", name=name, version=version)
        return self.groups.get((name, version))

    def get_or_create_feature_view(self, name: str, query: Query, version: int, description: str = "",
                                   labels: list[str] | None = None,
                                   inference_helper_columns: list[str] | None = None,
                                   training_helper_columns: list[str] | None = None,
                                   **kwargs: Any) -> FeatureView:
        _recorder().record("FeatureStore.get_or_create_feature_view", name=name, query=query,
                           version=version, description=description, labels=labels,
                           inference_helper_columns=inference_helper_columns,
                           training_helper_columns=training_helper_columns, **kwargs)
        if (name, version) in self.views:
            return self.views[(name, version)]
        unsaved = [g._name for g in query.featuregroups if not g.saved]
        if unsaved:
            raise FeatureStoreException(f"feature groups {unsaved} are not saved yet")
        for column in [*(labels or []), *(inference_helper_columns or []), *(training_helper_columns or [])]:
            if column not in query.columns:
                raise RestAPIError(400, f"{column} is not a feature of the view's query")
        view = FeatureView(name, version, query, list(labels or []), description,
                           list(inference_helper_columns or []), list(training_helper_columns or []))
        self.views[(name, version)] = view
        return view

    def get_feature_view(self, name: str, version: int | None = None) -> FeatureView | None:
        _recorder().record("FeatureStore.get_feature_view", name=name, version=version)
        return self.views.get((name, version))

    def get_feature_views(self, name: str) -> list[FeatureView]:
        _recorder().record("FeatureStore.get_feature_views", name=name)
        return [v for (n, _), v in sorted(self.views.items()) if n == name]


# ------------------------------------------------------------------------------------------
# model registry
# ------------------------------------------------------------------------------------------


class Schema:
    def __init__(self, object: Any = None, **kwargs: Any) -> None:
        _recorder().record("Schema.__init__", object, **kwargs)
        self.columns = list(object.columns) if isinstance(object, pd.DataFrame) else None


class ModelSchema:
    def __init__(self, input_schema: Schema | None = None, output_schema: Schema | None = None,
                 **kwargs: Any) -> None:
        _recorder().record("ModelSchema.__init__", input_schema=input_schema,
                           output_schema=output_schema, **kwargs)
        self.input_schema, self.output_schema = input_schema, output_schema


class Model:
    def __init__(self, registry: ModelRegistry, name: str, version: int | None, metrics: dict | None,
                 description: str | None, input_example: Any, model_schema: Any, feature_view: Any,
                 training_dataset_version: int | None) -> None:
        self._registry = registry
        self._name, self._version = name, version
        self.training_metrics = metrics or {}
        self._description, self.input_example = description, input_example
        self.model_schema, self.feature_view = model_schema, feature_view
        self.training_dataset_version = training_dataset_version
        self.files: Path | None = None

    @property
    def name(self) -> str:
        _recorder().attributes.add("Model.name")
        return self._name

    @property
    def version(self) -> int:
        _recorder().attributes.add("Model.version")
        return self._version

    @property
    def description(self) -> str | None:
        _recorder().attributes.add("Model.description")
        return self._description

    def save(self, model_path: str, await_registration: int = 480, keep_original_files: bool = False,
             upload_configuration: dict | None = None) -> Model:
        _recorder().record("Model.save", model_path, await_registration=await_registration,
                           keep_original_files=keep_original_files,
                           upload_configuration=upload_configuration)
        registry = self._registry
        if self._version is None:
            self._version = max((v for n, v in registry.models if n == self._name), default=0) + 1
        if (self._name, self._version) in registry.models:
            # ModelEngine._save_model... checks the version first (hsml 5.2)
            raise ModelRegistryException(
                f"Model with name {self._name} and version {self._version} already exists, "
                "please select another version.")
        for metric, value in self.training_metrics.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise RestAPIError(400, f"metric {metric} is not a number")
        target = registry.root / self._name / str(self._version)
        shutil.copytree(model_path, target)
        try:
            registry.fail_next("save")  # fails after the upload, before registration
        except BaseException:
            shutil.rmtree(target)  # as hsml does: the upload is removed, nothing is registered
            raise
        self.files = target
        registry.models[(self._name, self._version)] = self
        return self

    def download(self, local_path: str | None = None) -> str:
        """ModelEngine._download: the files go to the root of ``local_path`` (a new temporary
        folder when omitted), which is returned."""
        _recorder().record("Model.download", local_path=local_path)
        target = Path(local_path) if local_path is not None else Path(tempfile.mkdtemp())
        shutil.copytree(self.files, target, dirs_exist_ok=True)
        return str(target)


class PythonModels:
    def __init__(self, registry: ModelRegistry) -> None:
        self._registry = registry

    def create_model(self, name: str, version: int | None = None, metrics: dict | None = None,
                     description: str | None = None, input_example: Any = None,
                     model_schema: Any = None, feature_view: Any = None,
                     training_dataset_version: int | None = None, tags: Any = None) -> Model:
        _recorder().record("python.create_model", name=name, version=version, metrics=metrics,
                           description=description, input_example=input_example,
                           model_schema=model_schema, feature_view=feature_view,
                           training_dataset_version=training_dataset_version, tags=tags)
        return Model(self._registry, name, version, metrics, description, input_example,
                     model_schema, feature_view, training_dataset_version)


class ModelRegistry:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.models: dict[tuple[str, int], Model] = {}
        self.failures: dict[str, list[Exception]] = {}
        self._python = PythonModels(self)

    def fail_next(self, operation: str) -> None:
        queued = self.failures.get(operation)
        if queued:
            raise queued.pop(0)

    @property
    def python(self) -> PythonModels:
        _recorder().attributes.add("ModelRegistry.python")
        return self._python

    def get_model(self, name: str, version: int | None = None) -> Model | None:
        _recorder().record("ModelRegistry.get_model", name=name, version=version)
        return self.models.get((name, version))

    def get_models(self, name: str) -> list[Model]:
        _recorder().record("ModelRegistry.get_models", name=name)
        return [m for (n, _), m in sorted(self.models.items()) if n == name]

    def get_best_model(self, name: str, metric: str, direction: str) -> Model | None:
        _recorder().record("ModelRegistry.get_best_model", name=name, metric=metric, direction=direction)
        if direction not in ("max", "min"):
            raise ValueError(f"direction must be max or min, got {direction!r}")
        scored = [m for (n, _), m in self.models.items() if n == name and metric in m.training_metrics]
        if not scored:
            return None
        pick = max if direction == "max" else min
        return pick(scored, key=lambda m: m.training_metrics[metric])


# ------------------------------------------------------------------------------------------
# project and login
# ------------------------------------------------------------------------------------------


class Project:
    def __init__(self, name: str, feature_store: FeatureStore, registry: ModelRegistry) -> None:
        self.name, self._fs, self._mr = name, feature_store, registry

    def get_feature_store(self, name: str | None = None) -> FeatureStore:
        _recorder().record("Project.get_feature_store", name=name)
        return self._fs

    def get_model_registry(self) -> ModelRegistry:
        _recorder().record("Project.get_model_registry")
        if not self._fs.cluster.model_registry:
            raise RestAPIError(404, "the model registry service is not enabled for this project")
        return self._mr


class FakeHopsworks:
    """Stands in for the ``hopsworks`` module: ``login`` plus the classes the adapters build."""

    Feature = Feature
    schema_classes = (ModelSchema, Schema)

    ModelRegistryException = ModelRegistryException

    def __init__(self, root: Path, *, project: str = "movies_test") -> None:
        self.feature_store = FeatureStore()
        self.cluster = self.feature_store.cluster
        self.registry = ModelRegistry(root / "registry-files")
        self.project = Project(project, self.feature_store, self.registry)
        self.recorder = Recorder()
        self.login_failures: list[Exception] = []
        _ACTIVE.append(self.recorder)

    def close(self) -> None:
        if self.recorder in _ACTIVE:
            _ACTIVE.remove(self.recorder)

    def login(self, host: str | None = None, port: int = 443, project: str | None = None,
              api_key_value: str | None = None, api_key_file: str | None = None,
              hostname_verification: bool = False, trust_store_path: str | None = None,
              cert_folder: str | None = None, engine: str | None = None) -> Project:
        self.recorder.record("hopsworks.login", host=host, port=port, project=project,
                             api_key_value=api_key_value, api_key_file=api_key_file,
                             hostname_verification=hostname_verification,
                             trust_store_path=trust_store_path, cert_folder=cert_folder,
                             engine=engine)
        if self.login_failures:
            raise self.login_failures.pop(0)
        if api_key_value is None or project is None:
            raise AssertionError("the real SDK would prompt for the key or the project here")
        return self.project


def select_fake_hopsworks(fake: FakeHopsworks, monkeypatch: Any) -> None:
    """Make the settings select Hopsworks and every login reach ``fake`` (for one test).

    The adapters' import of the ``hopsworks`` module gets the fake, so flows and the CLI
    reach it through exactly the code a real cluster would be reached through.
    """
    from movie_ratings import hopsworks_connection

    monkeypatch.setenv("MOVIE_RATINGS_BACKEND", "hopsworks")
    monkeypatch.setenv("HOPSWORKS_API_KEY", "fake-api-key")
    monkeypatch.setenv("HOPSWORKS_PROJECT", "movies_test")
    monkeypatch.setenv("HOPSWORKS_HOST", "hopsworks.invalid")
    monkeypatch.setattr(hopsworks_connection, "_import_hopsworks", lambda: fake)
    hopsworks_connection.forget_logins()
