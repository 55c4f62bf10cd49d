"""A fake of the Hopsworks SDK at the boundary the adapters use, in memory.

It behaves like Hopsworks where the adapters depend on it (offline inserts upsert on
primary key + event time, point-in-time joins, feature views with labels and helper
columns, in-memory training datasets with versions, a model registry that stores files),
checks what Hopsworks checks (declared features, names, keys), returns frames the way the
SDK's readers do (dates as datetimes, integers with nulls as floats, lists as numpy
arrays), and records every call with its keyword arguments so tests can assert them and
check them against the real SDK's signatures (tests/unit/test_hopsworks_signatures.py).
"""

from __future__ import annotations

import itertools
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

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


@dataclass
class Filter:
    feature: str
    op: str
    value: Any

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        assert self.op == "<="
        return frame[frame[self.feature] <= self.value]


_ACTIVE: list[Recorder] = [Recorder()]


def _recorder() -> Recorder:
    return _ACTIVE[-1]


def _to_sdk_frame(table: pa.Table) -> pd.DataFrame:
    """What the SDK's offline reader gives back for a table."""
    return table.to_pandas(date_as_object=False)


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
        self.table = self.schema.empty_table()
        self.commits: dict[int, dict[str, Any]] = {}

    @property
    def name(self) -> str:
        _recorder().attributes.add("FeatureGroup.name")
        return self._name

    @property
    def version(self) -> int:
        _recorder().attributes.add("FeatureGroup.version")
        return self._version

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
        incoming = self._from_frame(features)
        keys = self._keys()
        incoming_keys = set(zip(*(incoming[k].to_pylist() for k in keys), strict=True))
        if len(incoming_keys) != incoming.num_rows:
            raise RestAPIError(400, f"{self._name}: duplicate primary key + event time in one insert")
        old_keys = list(zip(*(self.table[k].to_pylist() for k in keys), strict=True)) if self.table.num_rows else []
        keep = pa.array([k not in incoming_keys for k in old_keys], pa.bool_())
        updated = self.table.num_rows - sum(keep.to_pylist()) if old_keys else 0
        self.table = pa.concat_tables([self.table.filter(keep) if old_keys else self.table, incoming])
        self._commit(inserted=incoming.num_rows - updated, updated=updated, deleted=0)
        return None, None

    def _commit(self, *, inserted: int, updated: int, deleted: int) -> None:
        commit_id = next(self._store.clock)
        self.commits[commit_id] = {"committedOn": str(commit_id), "rowsInserted": inserted,
                                   "rowsUpdated": updated, "rowsDeleted": deleted}

    def remove_rows(self, delete_df: pd.DataFrame, write_options: dict | None = None,
                    storage: str | None = None) -> None:
        _recorder().record("FeatureGroup.remove_rows", delete_df, write_options=write_options,
                           storage=storage)
        keys = self._keys()
        gone = set(zip(*(pd.Series(delete_df[k]).tolist() for k in keys), strict=True))
        old_keys = list(zip(*(self.table[k].to_pylist() for k in keys), strict=True))
        keep = pa.array([k not in gone for k in old_keys], pa.bool_())
        before = self.table.num_rows
        self.table = self.table.filter(keep)
        self._commit(inserted=0, updated=0, deleted=before - self.table.num_rows)

    def read(self, wallclock_time: Any = None, online: bool = False, dataframe_type: str = "default",
             read_options: dict | None = None, **kwargs: Any) -> pd.DataFrame:
        _recorder().record("FeatureGroup.read", wallclock_time=wallclock_time, online=online,
                           dataframe_type=dataframe_type, read_options=read_options, **kwargs)
        self._store.fail_next("read")
        if wallclock_time is not None:
            raise FeatureStoreException("Time travel queries are not supported in the python client.")
        return _to_sdk_frame(self.table)

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
        return out.drop(columns=["__row"])[self.columns].reset_index(drop=True)

    def read(self, online: bool = False, dataframe_type: str = "default",
             read_options: dict | None = None, **kwargs: Any) -> pd.DataFrame:
        _recorder().record("Query.read", online=online, dataframe_type=dataframe_type,
                           read_options=read_options, **kwargs)
        self.left._store.fail_next("read")
        return self._frame()


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
        frame = self._query._frame()
        if extra_filter is not None:
            frame = extra_filter.apply(frame)
        drop = list(self.labels)
        if not primary_key:
            drop += self._query.left.primary_key
        if not event_time:
            drop.append(self._query.left.event_time)
        if not training_helper_columns:
            drop += self.training_helper_columns
        version = max(self.training_datasets, default=0) + 1
        self.training_datasets[version] = {"description": description, "filter": extra_filter}
        self._last_td = version
        features = frame.drop(columns=[c for c in dict.fromkeys(drop) if c in frame.columns])
        return features.reset_index(drop=True), frame[self.labels].reset_index(drop=True)

    def get_last_accessed_training_dataset(self) -> int | None:
        _recorder().record("FeatureView.get_last_accessed_training_dataset")
        return self._last_td


class FeatureStore:
    def __init__(self) -> None:
        self.groups: dict[tuple[str, int], FeatureGroup] = {}
        self.views: dict[tuple[str, int], FeatureView] = {}
        self.clock = itertools.count(1_700_000_000_000, 1000)
        self.failures: dict[str, list[Exception]] = {}

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
        group = FeatureGroup(self, name, version, description, primary_key or [], event_time,
                             list(features or []), statistics_config, online_enabled, time_travel_format)
        self.groups[(name, version)] = group
        return group

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
            raise RestAPIError(409, f"model {self._name} version {self._version} already exists")
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
        _recorder().record("Model.download", local_path=local_path)
        target = Path(local_path) / "download"
        shutil.copytree(self.files, target)
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
        return self._mr


class FakeHopsworks:
    """Stands in for the ``hopsworks`` module: ``login`` plus the classes the adapters build."""

    Feature = Feature
    schema_classes = (ModelSchema, Schema)

    def __init__(self, root: Path, *, project: str = "movies_test") -> None:
        self.feature_store = FeatureStore()
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
