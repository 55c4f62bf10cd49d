"""Every SDK method, keyword and attribute the Hopsworks adapters use exists in the installed
``hopsworks`` SDK, checked with ``inspect.signature``; and the real ``hopsworks.login`` never
reaches its interactive prompts when called the way the adapters call it.

The calls are not listed by hand: a scenario drives both adapters over the SDK fake, which
records each call with its arguments, and every recorded call is bound to the real SDK's
signature. A new SDK call in an adapter is therefore checked as soon as a test exercises it.
Runs where the ``hopsworks`` extra is installed (``make test-hopsworks``); skipped elsewhere.
"""

from __future__ import annotations

import builtins
import getpass
import importlib
import inspect
import io
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hopsworks_fake import Call, FakeHopsworks, RestAPIError, forget_logins, sdk_group_names

from movie_ratings import hopsworks_connection
from movie_ratings.errors import TransientError
from movie_ratings.modeling.card import ModelCard
from movie_ratings.registry.hopsworks import open_hopsworks_registry
from movie_ratings.schema import (
    DOCTOR_SCRATCH,
    MODEL_PROMOTIONS,
    MOVIE_GENRES,
    MOVIE_PREDICTIONS,
    MOVIE_SIGNALS,
    MOVIES,
    REJECTS_SCHEMA,
)
from movie_ratings.settings import Settings
from movie_ratings.store.base import SnapshotInfo
from movie_ratings.store.hopsworks import offline_type, open_hopsworks_store, table_to_frame

hopsworks = pytest.importorskip(
    "hopsworks", reason="the hopsworks extra is not installed here; `make test-hopsworks` runs these"
)

KEY = "hw-secret-key-0123456789"
#: Where each recorded target lives in the real SDK.
SDK_OBJECTS = {
    "hopsworks": "hopsworks",
    "Project": "hopsworks_common.project:Project",
    "FeatureStore": "hsfs.feature_store:FeatureStore",
    "FeatureGroup": "hsfs.feature_group:FeatureGroup",
    "Query": "hsfs.constructor.query:Query",
    "FeatureView": "hsfs.feature_view:FeatureView",
    "Feature": "hsfs.feature:Feature",
    "ModelRegistry": "hsml.model_registry:ModelRegistry",
    "python": "hsml.python.signature",
    "Model": "hsml.python.model:Model",
    "ModelSchema": "hsml.model_schema:ModelSchema",
    "Schema": "hsml.schema:Schema",
}
#: Calls the scenario must have made (so a scenario that stops exercising one is noticed).
EXPECTED = {
    "hopsworks.login", "Project.get_feature_store", "Project.get_model_registry",
    "FeatureStore.get_or_create_feature_group", "FeatureStore.get_feature_group",
    "FeatureStore.get_or_create_feature_view", "FeatureStore.get_feature_view",
    "FeatureStore.get_feature_views", "FeatureGroup.insert", "FeatureGroup.read",
    "FeatureGroup.remove_rows", "FeatureGroup.commit_details", "FeatureGroup.select_all",
    "FeatureGroup.select", "FeatureGroup.get_feature", "Query.join", "Query.read",
    "FeatureView.training_data", "FeatureView.get_last_accessed_training_dataset",
    "Feature.__init__", "Feature.__le__", "Feature.__gt__", "FeatureGroup.filter",
    "FeatureGroup.delete", "FeatureGroup.append_features", "python.create_model", "Model.save", "Model.download",
    "ModelRegistry.get_model", "ModelRegistry.get_models", "ModelRegistry.get_best_model",
    "ModelSchema.__init__", "Schema.__init__",
}
EXPECTED_ATTRIBUTES = {"FeatureView.query", "Query.featuregroups", "FeatureGroup.name", "FeatureGroup.columns",
                       "FeatureGroup.version", "ModelRegistry.python", "Model.version",
                       "Model.description"}


def sdk_object(owner: str) -> Any:
    module_name, _, attribute = SDK_OBJECTS[owner].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def real_callable(target: str) -> tuple[Any, bool]:
    """The SDK function for a recorded target, and whether it takes ``self``."""
    owner, _, name = target.partition(".")
    obj = sdk_object(owner)
    function = getattr(obj, name)
    return function, inspect.isclass(obj)


def _tables(ids: list[int], as_of: date, rating: float) -> dict[str, pa.Table]:
    tables = {}
    for spec in (MOVIES, MOVIE_GENRES, MOVIE_SIGNALS):
        columns = []
        for f in spec.features:
            value = {"id": None, "snapshot_date": as_of, "imdb_rating": rating, "genres": ["Drama"],
                     "content_hash": 11}.get(f.name)
            if f.name == "id":
                columns.append(pa.array(ids, f.dtype))
            elif value is not None:
                columns.append(pa.array([value] * len(ids), f.dtype))
            elif pa.types.is_int8(f.dtype):
                columns.append(pa.array([0] * len(ids), f.dtype))
            else:
                columns.append(pa.nulls(len(ids), f.dtype))
        tables[spec.name] = pa.Table.from_arrays(columns, schema=spec.arrow_schema)
    return tables


def _rejects(as_of: date) -> pa.Table:
    return pa.Table.from_pylist([{"snapshot_date": as_of, "source": "demo", "record": 7, "id": 9,
                                  "column": "runtime", "reason": "runtime 5000 outside [1, 1000]",
                                  "raw": "9,..."}], schema=REJECTS_SCHEMA)


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHopsworks:
    """Drive both adapters through everything they do, on the fake; return its recorder."""
    for name in ("HOPSWORKS_API_KEY", "HOPSWORKS_HOSTNAME_VERIFICATION"):
        monkeypatch.delenv(name, raising=False)
    forget_logins()
    fake = FakeHopsworks(tmp_path)
    settings = Settings(backend="hopsworks", hopsworks_api_key=KEY, hopsworks_project="movies",
                        hopsworks_host="hw.example.org", hopsworks_cache_dir=tmp_path / "cache")
    store = open_hopsworks_store(settings, sdk=fake)
    versions = {MOVIES.name: 1, MOVIE_GENRES.name: 1}
    d1, d2 = date(2026, 3, 1), date(2026, 3, 2)
    store.upsert_snapshot(_tables([1, 2], d1, 7.0), versions, SnapshotInfo(d1, "demo"), _rejects(d1))
    store.ensure_feature_view("movie_ratings", 1, versions)
    fake.feature_store.failures["insert:store_commits"] = [RestAPIError(503, "busy")]
    with pytest.raises(TransientError):
        store.upsert_snapshot(_tables([1, 3], d2, 8.0), versions, SnapshotInfo(d2, "demo"), _rejects(d2))
    store.upsert_snapshot(_tables([1, 3], d2, 8.0), versions, SnapshotInfo(d2, "demo"), _rejects(d2))
    store.read_group("movies", 1, commit=1)
    store.read_feature_view("movie_ratings", 1)
    store.create_training_data("movie_ratings", 1, commit=2)
    store.read_rejects()
    store.status()
    # a predictions group created before the interval columns: the store appends them
    before_intervals = [f for f in MOVIE_PREDICTIONS.features if f.name not in ("rating_low", "rating_high")]
    fake.feature_store.get_or_create_feature_group(
        name="movie_predictions", version=1, description="before intervals", primary_key=["id", "model_version"],
        event_time="prediction_date", features=[fake.Feature(f.name, offline_type(f.dtype)) for f in before_intervals],
        statistics_config=False, online_enabled=False, time_travel_format="DELTA",
    ).insert(table_to_frame(pa.table({
        "id": [2], "model_version": [1], "prediction_date": [d1], "predicted_rating": [6.5],
        "status": ["Planned"], "release_date": [None], "rated_when_predicted": [False], "store_commit": [1],
        "predicted_at": [datetime(2026, 3, 1, tzinfo=UTC)],
    }, schema=pa.schema([MOVIE_PREDICTIONS.arrow_schema.field(f.name) for f in before_intervals]))))
    store.merge_rows("movie_predictions", 1, pa.table({
        "id": [1], "model_version": [1], "prediction_date": [d2], "predicted_rating": [7.5],
        "status": ["Planned"], "release_date": [None], "rated_when_predicted": [False], "store_commit": [2],
        "predicted_at": [datetime(2026, 3, 2, tzinfo=UTC)], "rating_low": [6.9], "rating_high": [8.1],
    }))
    store.read_all_rows("movie_predictions", 1)
    store.doctor_write(7)
    store.doctor_read(7)
    store.doctor_delete()

    registry = open_hopsworks_registry(settings, sdk=fake)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "model.skops").write_bytes(b"stand-in pipeline")
    (artifacts / "input_example.json").write_text(json.dumps([{"budget": 1.0}]))
    card = {"metrics": {"rmse": 0.7, "r2": 0.4}, "feature_view": {"name": "movie_ratings", "version": 1},
            "training_dataset_version": 1}
    registry.register("movie_ratings_model", artifacts, ModelCard.model_validate(card))
    registry.versions("movie_ratings_model")
    registry.best("movie_ratings_model", "rmse")
    registry.promote("movie_ratings_model", 1, "first")
    registry.production("movie_ratings_model")
    yield fake
    fake.close()


def test_every_sdk_call_the_adapters_make_matches_the_installed_sdk(recorded: FakeHopsworks) -> None:
    calls: list[Call] = recorded.recorder.calls
    missing = EXPECTED - {c.target for c in calls}
    assert not missing, f"the scenario no longer exercises {sorted(missing)}"
    problems = []
    for call in calls:
        function, takes_self = real_callable(call.target)
        signature = inspect.signature(function)
        args = (object(), *call.args) if takes_self else call.args
        try:
            signature.bind(*args, **call.kwargs)
        except TypeError as exc:
            problems.append(f"{call.target}{signature}: {exc} (called with {sorted(call.kwargs)})")
    assert not problems, "\n".join(sorted(set(problems)))


def test_every_sdk_attribute_the_adapters_read_exists(recorded: FakeHopsworks) -> None:
    attributes = recorded.recorder.attributes
    assert attributes >= EXPECTED_ATTRIBUTES
    for attribute in sorted(attributes):
        owner, _, name = attribute.partition(".")
        assert hasattr(sdk_object(owner), name), f"{SDK_OBJECTS[owner]} has no {name}"


def test_the_keywords_that_matter_are_real_parameters() -> None:
    """Keywords a fake would accept through **kwargs are checked by name too."""
    expectations = {
        "hopsworks.login": {"api_key_value", "hostname_verification", "project", "engine", "trust_store_path"},
        "FeatureStore.get_or_create_feature_group": {"primary_key", "event_time", "features",
                                                     "statistics_config", "online_enabled",
                                                     "time_travel_format", "description", "version"},
        "FeatureStore.get_or_create_feature_view": {"labels", "inference_helper_columns",
                                                    "training_helper_columns", "query", "version"},
        "FeatureGroup.insert": {"write_options", "wait"},
        "FeatureView.training_data": {"extra_filter", "primary_key", "event_time",
                                      "training_helper_columns", "dataframe_type", "description"},
        "python.create_model": {"metrics", "description", "input_example", "model_schema",
                                "feature_view", "training_dataset_version", "version"},
        "ModelRegistry.get_best_model": {"name", "metric", "direction"},
        "Model.download": {"local_path"},
    }
    for target, keywords in expectations.items():
        function, _ = real_callable(target)
        assert keywords <= set(inspect.signature(function).parameters), target


def test_the_real_login_never_prompts(monkeypatch: pytest.MonkeyPatch) -> None:
    """``hopsworks.login`` as the adapters call it, with a fake connection underneath: no key
    prompt, no project prompt, TLS host name verification passed through."""
    made: list[dict[str, Any]] = []

    class Project:
        name, id = "movies", 119

        def get_url(self) -> str:
            return "https://hw.example.org/p/119"

    class Connection:
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)
            self._project_api = type("Api", (), {"_get_project": staticmethod(lambda name: Project())})()

        def _close(self) -> None:
            pass

    def no_prompt(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("the SDK prompted for input")

    for name in ("HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT", "HOPSWORKS_HOST", "HOPSWORKS_HOSTNAME_VERIFICATION",
                 "REST_ENDPOINT", "HOPSWORKS_ENGINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hopsworks, "_make_connection", Connection)
    monkeypatch.setattr(hopsworks, "_hw_connection", Connection)
    monkeypatch.setattr(hopsworks, "_set_active_project", lambda project: None)
    monkeypatch.setattr(hopsworks, "_initialize_module_apis", lambda: None)
    monkeypatch.setattr(getpass, "getpass", no_prompt)
    monkeypatch.setattr(builtins, "input", no_prompt)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    forget_logins()
    config = hopsworks_connection.hopsworks_config(Settings(
        backend="hopsworks", hopsworks_api_key=KEY, hopsworks_project="movies", hopsworks_host="hw.example.org"))

    project = hopsworks_connection.login(config)

    assert project.name == "movies"
    (kwargs,) = made
    assert kwargs["api_key_value"] == KEY and kwargs["hostname_verification"] is True
    assert kwargs["host"] == "hw.example.org" and kwargs["engine"] == "python"
    # The same SDK without a key on its default host would prompt: the guard above is real.
    forget_logins()
    with pytest.raises(AssertionError, match="prompted"):
        hopsworks.login()


def test_the_deltalake_module_on_disk_is_the_hopsworks_build() -> None:
    """hops-deltalake and deltalake write the same files; every one must be hops-deltalake's
    (hsfs writes DELTA feature groups to HopsFS through it), none a mix of the two."""
    import base64
    import hashlib
    from importlib import metadata

    import deltalake

    files = [f for f in metadata.files("hops-deltalake") or [] if f.parts[0] == "deltalake" and f.hash]
    assert files, "hops-deltalake lists no files of the deltalake module"
    mismatched = []
    for entry in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(entry.locate().read_bytes()).digest())
        if digest.rstrip(b"=").decode() != entry.hash.value:
            mismatched.append(str(entry))
    assert not mismatched, f"files of another deltalake build on disk: {mismatched[:5]}"
    assert deltalake.__version__.replace("-", ".") == metadata.version("hops-deltalake")


def _written_tables() -> dict[str, pa.Table]:
    """A table like those the adapters insert into each group (tombstones, all-null columns)."""
    from movie_ratings.store import hopsworks as adapter
    from movie_ratings.store.base import GroupState, StoreCommit
    from movie_ratings.store.hopsworks import rows

    d1 = date(2026, 3, 1)
    tables = _tables([1, 2], d1, 7.0)
    frames = {}
    for name in ("movies", "movie_genres", "movie_signals"):
        stored = adapter.hopsworks_group(name).stored
        frames[name] = pa.concat_tables([rows.log_rows(tables[name], stored, 3),
                                         rows.tombstone_rows(np.array([5]), stored, d1, 3)])
        current = adapter.hopsworks_group(adapter.current_group_name(name)).stored
        frames[current.name] = frames[name].cast(current.arrow_schema)
    frames["movie_ratings_doctor"] = pa.Table.from_pylist(
        [{"check_id": 7, "checked_at": datetime(2026, 3, 1, tzinfo=UTC), "note": "doctor"}],
        schema=DOCTOR_SCRATCH.arrow_schema)
    frames["snapshot_rejects"] = rows._reject_rows(_rejects(d1), 3)
    frames["store_commits"] = rows._commit_to_row(StoreCommit(
        number=3, created_at="2026-03-01T06:00:00.000001+00:00", snapshot_date=d1, source="demo",
        source_version=None, is_demo=True, groups={"movies_1": GroupState("movies", 1, 3, 2)}))
    frames["movie_predictions"] = pa.table({
        "id": [1], "model_version": [1], "prediction_date": [d1], "predicted_rating": [7.5],
        "status": [None], "release_date": [None], "rated_when_predicted": [False], "store_commit": [3],
        "predicted_at": [datetime(2026, 3, 1, tzinfo=UTC)], "rating_low": [6.9], "rating_high": [None],
    }).cast(adapter.hopsworks_group("movie_predictions").stored.arrow_schema)
    frames["model_promotions"] = pa.Table.from_pylist(
        [{"model_name": "m", "promoted_at": datetime(2026, 3, 1, tzinfo=UTC), "model_version": 1, "reason": None}],
        schema=MODEL_PROMOTIONS.arrow_schema)
    assert set(frames) == set(sdk_group_names())
    return frames


def test_the_sdk_types_our_insert_frames_as_the_groups_declare() -> None:
    """The SDK infers a type per column of an insert frame and refuses a mismatch with the
    group's features: run its own inference on the frames the adapters insert (tombstones and
    all-null columns included) and compare with the declared types."""
    from hsfs.engine import python as python_engine

    from movie_ratings.store import hopsworks as adapter

    engine = python_engine.Engine.__new__(python_engine.Engine)  # type inference needs no connection
    for name, table in _written_tables().items():
        stored = adapter.hopsworks_group(name).stored
        inferred = {f.name: f.type for f in engine._parse_schema_feature_group(adapter.table_to_frame(table))}
        declared = {f.name: adapter.offline_type(f.dtype) for f in stored.features}
        assert inferred == declared, name


def test_the_fake_reads_back_what_the_sdks_own_cast_gives() -> None:
    """A read through the Query Service ends with the SDK casting every column to its
    offline type (Engine._sql_offline -> _cast_column_to_offline_type): run that code on the
    tables the adapters write, check the fake returns the same frame, and that the adapter
    turns it back into exactly the table that was written."""
    import hopsworks_fake
    from hopsworks_common.core.type_systems import _cast_column_to_offline_type

    from movie_ratings.store import hopsworks as adapter

    for name, table in _written_tables().items():
        stored = adapter.hopsworks_group(name).stored
        types = {f.name: adapter.offline_type(f.dtype) for f in stored.features}
        sdk = table.to_pandas()
        for column in sdk.columns:
            sdk[column] = _cast_column_to_offline_type(sdk[column], types[column])
        fake = hopsworks_fake._to_sdk_frame(table, types)
        assert list(fake.dtypes) == list(sdk.dtypes), name
        for column in sdk.columns:
            assert [type(v) for v in fake[column]] == [type(v) for v in sdk[column]], (name, column)
        back = adapter.frame_to_table(sdk, stored.arrow_schema, name)
        assert back.equals(table.cast(stored.arrow_schema)), name
        assert adapter.frame_to_table(fake, stored.arrow_schema, name).equals(back), name
