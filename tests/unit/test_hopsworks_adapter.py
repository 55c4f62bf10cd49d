"""The Hopsworks adapters against the SDK fake: what they call, with which arguments, and how
they behave when Hopsworks fails. The behaviour shared with the local store is in
tests/contract/; this file is about the Hopsworks side of the boundary."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests
from hopsworks_fake import (
    HOPSWORKS_NAME,
    FakeHopsworks,
    RestAPIError,
    forget_logins,
    sdk_group_names,
)
from pydantic import SecretStr

from movie_ratings import hopsworks_connection
from movie_ratings.errors import ConfigurationError, DataError, TransientError, is_transient
from movie_ratings.hopsworks_connection import (
    classify_error,
    hopsworks_config,
    login,
    translate_errors,
)
from movie_ratings.modeling.card import ModelCard
from movie_ratings.registry import get_model_registry
from movie_ratings.registry.hopsworks import HopsworksModelRegistry, numeric_metrics
from movie_ratings.schema import MOVIE_GENRES, MOVIE_SIGNALS, MOVIES
from movie_ratings.settings import Settings
from movie_ratings.store import get_feature_store
from movie_ratings.store.base import SnapshotInfo
from movie_ratings.store.hopsworks import (
    STATISTICS,
    HopsworksFeatureStore,
    frame_to_table,
    hopsworks_group,
    offline_type,
    open_hopsworks_store,
    table_to_frame,
)

KEY = "hw-secret-key-0123456789"
ENV = ("HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT", "HOPSWORKS_HOST", "HOPSWORKS_PORT",
       "HOPSWORKS_HOSTNAME_VERIFICATION", "MOVIE_RATINGS_BACKEND", "MOVIE_RATINGS_HOPSWORKS_API_KEY",
       "MOVIE_RATINGS_HOPSWORKS_API_KEY_SECRET")
VERSIONS = {MOVIES.name: 1, MOVIE_GENRES.name: 1}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    forget_logins()


@pytest.fixture
def fake(tmp_path: Path):
    sdk = FakeHopsworks(tmp_path)
    yield sdk
    sdk.close()


def settings(**overrides) -> Settings:
    values = {"backend": "hopsworks", "hopsworks_api_key": KEY, "hopsworks_project": "movies",
              "hopsworks_host": "hw.example.org"} | overrides
    return Settings(**values)


# ------------------------------------------------------------------------------------------
# selection, settings, login
# ------------------------------------------------------------------------------------------


def test_an_api_key_selects_hopsworks_unless_the_backend_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().backend == "local"
    monkeypatch.setenv("HOPSWORKS_API_KEY", KEY)
    assert Settings().backend == "hopsworks"
    monkeypatch.setenv("MOVIE_RATINGS_BACKEND", "local")
    assert Settings().backend == "local"


def test_missing_settings_are_named_before_any_sdk_call(
    fake: FakeHopsworks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIE_RATINGS_BACKEND", "hopsworks")
    with pytest.raises(ConfigurationError) as raised:
        open_hopsworks_store(Settings(), sdk=fake)
    for name in ("HOPSWORKS_API_KEY", "HOPSWORKS_PROJECT", "HOPSWORKS_HOST"):
        assert name in str(raised.value)
    with pytest.raises(ConfigurationError, match="HOPSWORKS_HOST") as raised:
        get_feature_store(settings(hopsworks_host=None))
    assert "HOPSWORKS_PROJECT" not in str(raised.value)
    with pytest.raises(ConfigurationError, match="HOPSWORKS_PROJECT"):
        get_model_registry(settings(hopsworks_project=" "))
    with pytest.raises(ConfigurationError, match="host name"):
        hopsworks_config(settings(hopsworks_host="https://hw.example.org/"))
    assert fake.recorder.calls == []


def test_the_key_never_shows(fake: FakeHopsworks, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPSWORKS_API_KEY", KEY)
    config = hopsworks_config(Settings(hopsworks_project="p", hopsworks_host="h"))
    shown = " ".join([repr(Settings()), str(Settings()), repr(config), str(config),
                      json.dumps(Settings().model_dump(mode="json"))])
    assert KEY not in shown
    fake.login_failures.append(RestAPIError(401, "bad key"))
    with pytest.raises(ConfigurationError) as raised:
        login(config, sdk=fake)
    assert KEY not in str(raised.value) and "HOPSWORKS_API_KEY" in str(raised.value)


def test_login_passes_everything_explicitly_and_happens_once(fake: FakeHopsworks) -> None:
    open_hopsworks_store(settings(), sdk=fake)
    open_hopsworks_store(settings(), sdk=fake)
    (call,) = fake.recorder.named("hopsworks.login")
    assert call.kwargs == {
        "host": "hw.example.org", "port": 443, "project": "movies", "api_key_value": KEY,
        "api_key_file": None, "hostname_verification": True, "trust_store_path": None,
        "cert_folder": None, "engine": "python",
    }
    assert len(fake.recorder.named("Project.get_feature_store")) == 2


def test_hostname_verification_is_off_only_when_turned_off(
    fake: FakeHopsworks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOPSWORKS_HOSTNAME_VERIFICATION", "false")
    login(hopsworks_config(settings(**{"hopsworks_hostname_verification": False})), sdk=fake)
    assert fake.recorder.named("hopsworks.login")[0].kwargs["hostname_verification"] is False
    assert Settings(hopsworks_api_key=KEY).hopsworks_hostname_verification is False
    monkeypatch.delenv("HOPSWORKS_HOSTNAME_VERIFICATION")
    assert Settings(hopsworks_api_key=KEY).hopsworks_hostname_verification is True


def test_key_from_a_prefect_secret_block() -> None:
    config = hopsworks_config(
        settings(hopsworks_api_key=None, hopsworks_api_key_secret="hopsworks-key"),
        load_secret=lambda name: f" {KEY}\n" if name == "hopsworks-key" else "",
    )
    assert config.api_key.get_secret_value() == KEY

    def broken(name: str) -> str:
        raise ValueError(f"Unable to find block document named {name}")

    with pytest.raises(ConfigurationError, match="'hopsworks-key'"):
        hopsworks_config(settings(hopsworks_api_key=None, hopsworks_api_key_secret="hopsworks-key"),
                         load_secret=broken)


def test_an_unreachable_cluster_at_login_is_retryable(fake: FakeHopsworks) -> None:
    fake.login_failures.append(requests.exceptions.ConnectionError("connection refused"))
    with pytest.raises(TransientError, match="logging in"):
        login(hopsworks_config(settings()), sdk=fake)
    assert login(hopsworks_config(settings()), sdk=fake) is fake.project  # the retry works


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RestAPIError(503, "unavailable"), TransientError),
        (RestAPIError(502, "bad gateway"), TransientError),
        (RestAPIError(429, "slow down"), TransientError),
        (RestAPIError(400, "feature type mismatch"), DataError),
        (RestAPIError(404, "no such feature group"), DataError),
        (RestAPIError(401, "unauthorized"), ConfigurationError),
        (RestAPIError(403, "forbidden"), ConfigurationError),
        (requests.exceptions.ConnectionError("reset by peer"), TransientError),
        (requests.exceptions.ReadTimeout("read timed out"), TransientError),
        (TimeoutError("timed out"), TransientError),
        (ConnectionResetError("reset"), TransientError),
        (requests.exceptions.SSLError("certificate verify failed"), ConfigurationError),
        (type("FeatureStoreException", (Exception,), {})("bad query"), DataError),
        (ValueError("Reading data with Hive is not supported when using hopsworks client "
                    "version >= 4.0"), ConfigurationError),
        (type("FeatureStoreException", (Exception,), {})(
            "Failed to write to delta table in external cluster. Make sure datanode load "
            "balancer has been setup on the cluster."), ConfigurationError),
        (type("ModelRegistryException", (Exception,), {})(
            "Model with name m and version 2 already exists, please select another version."),
         TransientError),
        (type("ModelRegistryException", (Exception,), {})("corrupt"), DataError),
    ],
)
def test_sdk_errors_map_to_what_is_retried(error: Exception, expected: type) -> None:
    mapped = classify_error(error, "inserting into movies v1")
    assert type(mapped) is expected
    assert "inserting into movies v1" in str(mapped)
    assert is_transient(mapped) is (expected is TransientError)
    with pytest.raises(expected), translate_errors("inserting"):
        raise error


def test_unknown_errors_pass_through_unchanged() -> None:
    assert classify_error(KeyError("x"), "reading") is None
    with pytest.raises(KeyError), translate_errors("reading"):
        raise KeyError("x")


# ------------------------------------------------------------------------------------------
# what the feature store adapter creates and writes
# ------------------------------------------------------------------------------------------


def _snapshot(ids: list[int], as_of: date, rating: float = 7.0) -> dict[str, pa.Table]:
    tables = {}
    for spec in (MOVIES, MOVIE_GENRES, MOVIE_SIGNALS):
        columns = []
        for f in spec.features:
            if f.name == "id":
                columns.append(pa.array(ids, f.dtype))
            elif f.name == "snapshot_date":
                columns.append(pa.array([as_of] * len(ids), f.dtype))
            elif f.name == "imdb_rating":
                columns.append(pa.array([rating] * len(ids), f.dtype))
            elif f.name == "content_hash":
                columns.append(pa.array([11] * len(ids), f.dtype))
            elif f.name == "genres":
                columns.append(pa.array([["Drama"]] * len(ids), f.dtype))
            elif pa.types.is_int8(f.dtype):
                columns.append(pa.array([1 if f.name == "drama" else 0] * len(ids), f.dtype))
            else:
                columns.append(pa.nulls(len(ids), f.dtype))
        tables[spec.name] = pa.Table.from_arrays(columns, schema=spec.arrow_schema)
    return tables


def _store(fake: FakeHopsworks) -> HopsworksFeatureStore:
    return HopsworksFeatureStore(fake.feature_store, feature_cls=fake.Feature, address="fake")


def _upsert(store: HopsworksFeatureStore, ids: list[int], as_of: date, rating: float = 7.0):
    from movie_ratings.schema import REJECTS_SCHEMA

    return store.upsert_snapshot(_snapshot(ids, as_of, rating), VERSIONS, SnapshotInfo(as_of, "demo", is_demo=True),
                                 REJECTS_SCHEMA.empty_table())


def test_feature_groups_are_created_with_their_full_definition(fake: FakeHopsworks) -> None:
    _upsert(_store(fake), [1, 2], date(2026, 3, 1))
    created = {c.kwargs["name"]: c.kwargs for c in fake.recorder.named("FeatureStore.get_or_create_feature_group")}
    assert set(created) == {"movies", "movie_genres", "movie_signals", "movies_current",
                            "movie_genres_current", "movie_signals_current",
                            "store_commits"}  # no rejects: none to write
    # one row per film, replaced on change: no event time, so inserts merge on the id alone
    assert created["movies_current"]["primary_key"] == ["id"]
    assert created["movies_current"]["event_time"] is None
    assert created["movies_current"]["statistics_config"] is False
    movies = created["movies"]
    assert movies["version"] == 1
    assert movies["primary_key"] == ["id", "store_commit"]
    assert movies["event_time"] == "snapshot_date"
    assert movies["online_enabled"] is False and movies["time_travel_format"] == "DELTA"
    assert movies["statistics_config"] == STATISTICS["movies"]
    assert created["store_commits"]["statistics_config"] is False
    features = {f.name: f for f in movies["features"]}
    for f in MOVIES.features:
        assert features[f.name].description == f.description and features[f.name].type == offline_type(f.dtype)
    assert features["top_cast"].type == "array<string>" and features["release_date"].type == "date"
    assert features["store_commit"].type == "bigint" and features["is_tombstone"].type == "boolean"
    genres = {f.name: f.type for f in created["movie_genres"]["features"]}
    assert genres["drama"] == "int" and genres["genres"] == "array<string>"
    for call in fake.recorder.named("FeatureGroup.insert"):
        assert call.kwargs["wait"] is True and call.kwargs["write_options"] == {"wait_for_job": True}
    inserted = fake.recorder.named("FeatureGroup.insert")[0].args[0]
    assert inserted["release_year"].dtype == pd.ArrowDtype(pa.int32())  # nullable ints stay ints
    assert inserted["title"].dtype == pd.ArrowDtype(pa.string())  # all null, still typed


def test_every_name_is_valid_in_hopsworks() -> None:
    for name in sdk_group_names():
        stored = hopsworks_group(name).stored
        for n in (name, *stored.column_names):
            assert HOPSWORKS_NAME.match(n), n
        assert set(stored.primary_key) | {stored.event_time} <= set(stored.column_names)
        config = STATISTICS.get(name, False)
        if config:
            assert set(config["columns"]) <= set(stored.column_names)


def test_a_failed_insert_is_retryable_and_the_retry_leaves_no_trace(fake: FakeHopsworks) -> None:
    store = _store(fake)
    _upsert(store, [1, 2], date(2026, 3, 1))
    # the second day dies after writing movies, before its commit record
    fake.feature_store.failures["insert:store_commits"] = [RestAPIError(503, "unavailable")]
    with pytest.raises(TransientError, match="store_commits"):
        _upsert(store, [1, 2, 3], date(2026, 3, 2), rating=8.0)
    assert store.latest_commit().number == 1
    assert store.read_group("movie_signals", 1)["imdb_rating"].to_pylist() == [7.0, 7.0]  # invisible
    signals_log = fake.feature_store.groups[("movie_signals", 1)].table
    assert signals_log.num_rows == 5  # 2 committed + 3 uncommitted rows
    # a new rating is a signal: only the new film got a movies row
    assert fake.feature_store.groups[("movies", 1)].table.num_rows == 3
    # the retry removes the dead run's rows, then writes the day once
    result = _upsert(store, [1, 2, 3], date(2026, 3, 2), rating=8.0)
    assert result.commit.number == 2 and (result.new, result.changed) == (1, 2)
    removed = fake.recorder.named("FeatureGroup.remove_rows")
    from_logs = [c.args[0] for c in removed if "store_commit" in c.args[0].columns]
    assert [len(f) for f in from_logs] == [1, 1, 3]  # movies, movie_genres, movie_signals
    assert list(from_logs[0].columns) == ["id", "store_commit", "snapshot_date"]
    # the current-rows groups: film 3 existed only in the dead run, films 1-2 are restored
    from_current = [c.args[0] for c in removed if "store_commit" not in c.args[0].columns]
    assert [f["id"].tolist() for f in from_current] == [[3], [3], [3]]
    assert sorted(fake.feature_store.groups[("movies", 1)].table["store_commit"].to_pylist()) == [1, 1, 2]
    signals_commits = fake.feature_store.groups[("movie_signals", 1)].table["store_commit"].to_pylist()
    assert sorted(signals_commits) == [1, 1, 2, 2, 2]
    current = fake.feature_store.groups[("movie_signals_current", 1)].table.sort_by("id")
    assert current["store_commit"].to_pylist() == [2, 2, 2]
    assert current["imdb_rating"].to_pylist() == [8.0, 8.0, 8.0]
    movies_current = fake.feature_store.groups[("movies_current", 1)].table.sort_by("id")
    assert movies_current["store_commit"].to_pylist() == [1, 1, 2]


def test_a_daily_upsert_reads_current_rows_not_history(fake: FakeHopsworks) -> None:
    store = _store(fake)
    for day in range(1, 6):
        _upsert(store, [1, 2, 3], date(2026, 3, day), rating=6.0 + day)
    logs = {n: fake.feature_store.groups[(n, 1)] for n in ("movies", "movie_genres", "movie_signals")}
    assert logs["movie_signals"].table.num_rows == 15  # five versions of three films' signals
    assert logs["movies"].table.num_rows == 3  # descriptions never changed
    before = {n: g.rows_read for n, g in logs.items()}
    current_before = fake.feature_store.groups[("movies_current", 1)].rows_read

    result = _upsert(store, [1, 2, 3, 4], date(2026, 3, 6), rating=20.0)

    assert (result.new, result.changed) == (1, 3)
    assert {n: g.rows_read - before[n] for n, g in logs.items()} == {
        "movies": 0, "movie_genres": 0, "movie_signals": 0}
    assert fake.feature_store.groups[("movies_current", 1)].rows_read - current_before == 3
    assert store.read_group("movie_signals", 1)["imdb_rating"].to_pylist() == [20.0] * 4
    assert store.read_group("movie_signals", 1, commit=5)["imdb_rating"].to_pylist() == [11.0] * 3


def test_feature_view_definition_and_training_data(fake: FakeHopsworks) -> None:
    store = _store(fake)
    _upsert(store, [1, 2], date(2026, 3, 1))
    store.ensure_feature_view("movie_ratings", 1, VERSIONS)
    _upsert(store, [1, 2, 3], date(2026, 3, 2), rating=8.0)
    (call,) = fake.recorder.named("FeatureStore.get_or_create_feature_view")
    assert call.kwargs["labels"] == ["imdb_rating"]
    assert call.kwargs["training_helper_columns"] == ["store_commit", "is_tombstone"]
    assert call.kwargs["inference_helper_columns"] == ["store_commit", "is_tombstone"]
    genres_join, signals_join = fake.recorder.named("Query.join")
    assert genres_join.kwargs["on"] == ["id", "store_commit"]
    assert signals_join.kwargs["on"] == ["id"]

    rows, td_version = store.create_training_data("movie_ratings", 1, commit=1, description="run 1")
    assert td_version == 1 and sorted(rows["id"].to_pylist()) == [1, 2]
    assert rows["imdb_rating"].to_pylist() == [7.0, 7.0]
    assert rows.equals(store.read_feature_view("movie_ratings", 1, commit=1))
    training = fake.recorder.named("FeatureView.training_data")[0].kwargs
    assert training["extra_filter"].feature == "store_commit" and training["extra_filter"].value == 1
    assert training["primary_key"] and training["event_time"] and training["training_helper_columns"]
    latest, second = store.create_training_data("movie_ratings", 1)
    assert second == 2 and latest["imdb_rating"].to_pylist() == [8.0, 8.0, 8.0]


def test_reads_use_no_time_travel_query(fake: FakeHopsworks) -> None:
    """The Python client refuses as_of queries; the fake fails like it if one is made."""
    store = _store(fake)
    _upsert(store, [1], date(2026, 3, 1))
    _upsert(store, [1, 2], date(2026, 3, 2))
    assert store.read_group("movies", 1, commit=1)["id"].to_pylist() == [1]
    assert all(c.kwargs["wallclock_time"] is None for c in fake.recorder.named("FeatureGroup.read"))


# ------------------------------------------------------------------------------------------
# conversions
# ------------------------------------------------------------------------------------------


def test_frames_from_the_sdk_convert_back_to_the_declared_types() -> None:
    schema = pa.schema([
        ("id", pa.int64()), ("day", pa.date32()), ("year", pa.int32()), ("names", pa.list_(pa.string())),
        ("flag", pa.bool_()), ("when", pa.timestamp("us", tz="UTC")),
    ])
    frame = pd.DataFrame({
        "id": [1, 2, 3],
        "day": pd.to_datetime(["2026-01-02", None, "2026-01-04"]),
        "year": [2020.0, np.nan, 1999.0],
        "names": [np.array(["a", "b"], dtype=object), None, []],
        "flag": [True, None, False],
        "when": pd.to_datetime(["2026-01-02T06:00:00Z"] * 3),
    })
    table = frame_to_table(frame, schema, "g")
    assert table.schema == schema
    assert table["day"].to_pylist() == [date(2026, 1, 2), None, date(2026, 1, 4)]
    assert table["year"].to_pylist() == [2020, None, 1999]
    assert table["names"].to_pylist() == [["a", "b"], None, []]
    assert table["flag"].to_pylist() == [True, None, False]
    objects = frame.assign(day=[date(2026, 1, 2), None, date(2026, 1, 4)], year=pd.array([2020, None, 1999], "Int32"))
    assert frame_to_table(objects, schema, "g").equals(table)


def test_frames_that_do_not_convert_name_the_column() -> None:
    schema = pa.schema([("id", pa.int64()), ("year", pa.int32())])
    with pytest.raises(DataError, match=r"group g.*no column\(s\) \['year'\]"):
        frame_to_table(pd.DataFrame({"id": [1]}), schema, "group g")
    with pytest.raises(DataError, match="column year"):
        frame_to_table(pd.DataFrame({"id": [1], "year": ["nineteen"]}), schema, "group g")


def test_only_finite_numbers_are_sent_as_metrics() -> None:
    assert numeric_metrics({"rmse": 0.7, "n": 3, "r2": np.float64(0.5), "name": "xgb", "ok": True,
                            "bad": float("nan"), "nested": {"rmse": 1.0}}) == {"rmse": 0.7, "n": 3.0, "r2": 0.5}


# ------------------------------------------------------------------------------------------
# model registry calls
# ------------------------------------------------------------------------------------------


def test_registration_sends_metrics_schema_example_and_lineage(fake: FakeHopsworks, tmp_path: Path) -> None:
    store = _store(fake)
    _upsert(store, [1, 2], date(2026, 3, 1))
    store.ensure_feature_view("movie_ratings", 1, VERSIONS)
    registry = HopsworksModelRegistry(fake.registry, store, tmp_path / "cache", schema_classes=fake.schema_classes)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "model.skops").write_bytes(b"stand-in pipeline")
    (artifacts / "input_example.json").write_text(json.dumps([{"budget": 1.0, "runtime": 90.0}]))
    card = {"metrics": {"rmse": 0.71, "mae": 0.55, "r2": 0.41, "mse": 0.5041, "estimator": "xgb"},
            "feature_view": {"name": "movie_ratings", "version": 1}, "training_dataset_version": 3,
            "estimator": "HistGradientBoostingRegressor"}
    version = registry.register("movie_ratings_model", artifacts, ModelCard.model_validate(card))
    (create,) = fake.recorder.named("python.create_model")
    kwargs = create.kwargs
    assert kwargs["name"] == "movie_ratings_model" and kwargs["version"] == 1
    assert kwargs["metrics"] == {"rmse": 0.71, "mae": 0.55, "r2": 0.41, "mse": 0.5041}
    assert "HistGradientBoostingRegressor" in kwargs["description"] and "rmse 0.71" in kwargs["description"]
    assert list(kwargs["input_example"].columns) == ["budget", "runtime"]
    assert kwargs["model_schema"].input_schema.columns == ["budget", "runtime"]
    assert kwargs["feature_view"] is fake.feature_store.views[("movie_ratings", 1)]
    assert kwargs["training_dataset_version"] == 3
    (save,) = fake.recorder.named("Model.save")
    assert json.loads((fake.registry.root / "movie_ratings_model" / "1" / "card.json").read_text())["version"] == 1
    assert Path(save.args[0]).name == "movie_ratings_model"
    # downloaded once, then served from the cache
    assert registry.get("movie_ratings_model", 1).path == version.path
    assert len(fake.recorder.named("Model.download")) == 1
    registry.best("movie_ratings_model", "r2", higher_is_better=True)
    assert fake.recorder.named("ModelRegistry.get_best_model")[-1].kwargs["direction"] == "max"
    registry.promote("movie_ratings_model", 1, "first")
    promotions = fake.feature_store.groups[("model_promotions", 1)]
    assert promotions.primary_key == ["model_name"] and promotions.event_time == "promoted_at"
    assert promotions.table["model_version"].to_pylist() == [1]


def test_a_model_not_registered_by_us_is_refused(fake: FakeHopsworks, tmp_path: Path) -> None:
    registry = HopsworksModelRegistry(fake.registry, _store(fake), tmp_path / "cache",
                                      schema_classes=fake.schema_classes)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "weights.bin").write_bytes(b"x")
    fake.registry.python.create_model(name="movie_ratings_model", version=1).save(str(foreign))
    with pytest.raises(DataError, match=r"card\.json"):
        registry.get("movie_ratings_model", 1)
    assert not (tmp_path / "cache" / "movie_ratings_model" / "1").exists()


def test_secret_str_is_what_settings_keep() -> None:
    assert isinstance(settings().hopsworks_api_key, SecretStr)


# ------------------------------------------------------------------------------------------
# what the SDK does that a kinder fake would hide (tests/hopsworks_fake.py, hopsworks 5.2.1)
# ------------------------------------------------------------------------------------------


def test_a_cluster_without_the_query_service_is_a_configuration_error(fake: FakeHopsworks) -> None:
    store = _store(fake)
    _upsert(store, [1, 2], date(2026, 3, 1))
    fake.cluster.query_service = False
    with pytest.raises(ConfigurationError, match="must run the Feature Query Service"):
        store.read_group("movies", 1)


def test_a_cluster_without_datanode_load_balancers_is_a_configuration_error(fake: FakeHopsworks) -> None:
    fake.cluster.datanode_load_balancer = False
    with pytest.raises(ConfigurationError, match="namenode and datanode load balancers"):
        _upsert(_store(fake), [1, 2], date(2026, 3, 1))


def test_a_group_is_saved_at_its_first_insert(fake: FakeHopsworks) -> None:
    store = _store(fake)
    handle = store._created("movies", 1)
    assert fake.feature_store.get_feature_group("movies", 1) is None  # created, not saved
    with pytest.raises(DataError, match="not saved"):
        store.ensure_feature_view("movie_ratings", 1, VERSIONS)
    _upsert(store, [1], date(2026, 3, 1))
    assert fake.feature_store.get_feature_group("movies", 1) is handle


def test_reads_return_dates_and_nullable_integers_as_the_sdk_does(fake: FakeHopsworks) -> None:
    import datetime as dt

    store = _store(fake)
    _upsert(store, [1, 2], date(2026, 3, 1))
    frame = fake.feature_store.groups[("movies", 1)].read(dataframe_type="pandas")
    assert isinstance(frame["snapshot_date"].iloc[0], dt.date)
    assert frame["id"].dtype == pd.Int64Dtype() and frame["release_year"].dtype == pd.Int32Dtype()
    assert store.read_group("movies", 1)["release_year"].type == pa.int32()


def test_a_version_registered_meanwhile_is_retried_as_the_next_one(
    fake: FakeHopsworks, tmp_path: Path
) -> None:
    from hopsworks_fake import Model

    store = _store(fake)
    registry = HopsworksModelRegistry(fake.registry, store, tmp_path / "cache",
                                      schema_classes=fake.schema_classes)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "model.skops").write_bytes(b"stand-in pipeline")
    # another process registers version 1 between our listing of versions and our save
    original = Model.save

    def racing_save(self: Model, model_path: str, **kwargs: object) -> Model:
        if (self._name, 1) not in fake.registry.models:
            other = Model(fake.registry, self._name, 1, {}, None, None, None, None, None)
            original(other, model_path)
        return original(self, model_path, **kwargs)

    Model.save = racing_save  # type: ignore[method-assign]
    try:
        with pytest.raises(TransientError, match="already exists"):
            registry.register("movie_ratings_model", artifacts, ModelCard.model_validate({"metrics": {"rmse": 1.0}}))
    finally:
        Model.save = original  # type: ignore[method-assign]
    assert registry.register("movie_ratings_model", artifacts, ModelCard.model_validate({"metrics": {"rmse": 1.0}})).version == 2


def test_the_wrong_deltalake_build_under_the_hopsworks_backend_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib import metadata

    real_version = metadata.version

    def version(name: str) -> str:
        return "0.0.1" if name == "hops-deltalake" else real_version(name)

    monkeypatch.setattr(metadata, "version", version)
    with pytest.raises(ConfigurationError, match=r"not the hops-deltalake 0\.0\.1 build.*make install-hopsworks"):
        hopsworks_connection.check_deltalake_build()

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    with pytest.raises(ConfigurationError, match="hops-deltalake, which is not installed here"):
        hopsworks_connection.check_deltalake_build()


def test_the_hopsworks_environment_has_the_right_deltalake_build() -> None:
    pytest.importorskip("hsfs", reason="only in .venv-hopsworks (make test-hopsworks)")
    hopsworks_connection.check_deltalake_build()


def test_current_rows_a_dead_run_overwrote_are_restored_from_the_log(fake: FakeHopsworks) -> None:
    store = _store(fake)
    _upsert(store, [1, 2], date(2026, 3, 1), rating=7.0)
    fake.feature_store.failures["insert:store_commits"] = [RestAPIError(503, "unavailable")]
    with pytest.raises(TransientError):  # dies after writing new ratings to movie_signals_current
        _upsert(store, [1, 2, 3], date(2026, 3, 2), rating=8.0)
    current = fake.feature_store.groups[("movie_signals_current", 1)].table
    assert sorted(current["store_commit"].to_pylist()) == [2, 2, 2]

    # the rerun of the day brings the old values back: nothing changed since commit 1
    result = _upsert(store, [1, 2], date(2026, 3, 2), rating=7.0)
    assert (result.new, result.changed, result.deleted) == (0, 0, 0)
    current = fake.feature_store.groups[("movie_signals_current", 1)].table.sort_by("id")
    assert current["id"].to_pylist() == [1, 2]
    assert current["store_commit"].to_pylist() == [1, 1]
    assert current["imdb_rating"].to_pylist() == [7.0, 7.0]
    # and the next day diffs against the restored rows, reading no history
    logs = fake.feature_store.groups[("movie_signals", 1)]
    before = logs.rows_read
    assert _upsert(store, [1, 2], date(2026, 3, 3), rating=9.0).changed == 2
    assert logs.rows_read == before


def test_a_history_group_from_before_the_interval_columns_gains_them(fake: FakeHopsworks) -> None:
    from datetime import UTC, datetime

    from movie_ratings.schema import MOVIE_PREDICTIONS

    # the group as the code before intervals created it: no rating_low, rating_high
    old_columns = [f for f in MOVIE_PREDICTIONS.features if f.name not in ("rating_low", "rating_high")]
    old = fake.feature_store.get_or_create_feature_group(
        name="movie_predictions", version=1, description="old", primary_key=["id", "model_version"],
        event_time="prediction_date", features=[fake.Feature(f.name, offline_type(f.dtype)) for f in old_columns],
        statistics_config=False, online_enabled=False, time_travel_format="DELTA")
    d1, d2 = date(2026, 3, 1), date(2026, 3, 2)

    def rows(day: date, low: float | None) -> pa.Table:
        return pa.table({"id": [1], "model_version": [1], "prediction_date": [day], "predicted_rating": [7.5],
                         "status": ["Planned"], "release_date": [None], "rated_when_predicted": [False],
                         "store_commit": [1], "predicted_at": [datetime(2026, 3, 1, tzinfo=UTC)],
                         "rating_low": [low], "rating_high": [None if low is None else low + 1.0]},
                        schema=MOVIE_PREDICTIONS.arrow_schema)

    old.insert(table_to_frame(rows(d1, None).drop_columns(["rating_low", "rating_high"])))
    store = _store(fake)
    # read before any insert by this code: the columns the group lacks read as null
    before = store.read_all_rows("movie_predictions", 1)
    assert before.schema == MOVIE_PREDICTIONS.arrow_schema and before["rating_low"].to_pylist() == [None]

    store.merge_rows("movie_predictions", 1, rows(d2, 6.5))
    appended = fake.recorder.named("FeatureGroup.append_features")
    assert len(appended) == 1 and [f.name for f in appended[0].args[0]] == ["rating_low", "rating_high"]
    assert [f.type for f in appended[0].args[0]] == ["double", "double"]
    history = _store(fake).read_all_rows("movie_predictions", 1).sort_by("prediction_date")
    assert history["rating_low"].to_pylist() == [None, 6.5]
    assert history["rating_high"].to_pylist() == [None, 7.5]
    # the next merge finds them there: nothing appended again
    store.merge_rows("movie_predictions", 1, rows(date(2026, 3, 3), 6.0))
    assert len(fake.recorder.named("FeatureGroup.append_features")) == 1


def test_a_history_group_without_its_keys_is_refused(fake: FakeHopsworks) -> None:
    from datetime import UTC, datetime

    from movie_ratings.schema import MOVIE_PREDICTIONS

    kept = [f for f in MOVIE_PREDICTIONS.features if f.name not in ("model_version", "rating_low", "rating_high")]
    other = fake.feature_store.get_or_create_feature_group(
        name="movie_predictions", version=1, description="other", primary_key=["id"],
        event_time="prediction_date", features=[fake.Feature(f.name, offline_type(f.dtype)) for f in kept],
        statistics_config=False, online_enabled=False, time_travel_format="DELTA")
    row = {"id": 1, "model_version": 1, "prediction_date": date(2026, 3, 1), "predicted_rating": 7.5,
           "status": "Planned", "release_date": None, "rated_when_predicted": False, "store_commit": 1,
           "predicted_at": datetime(2026, 3, 1, tzinfo=UTC), "rating_low": None, "rating_high": None}
    rows = pa.Table.from_pylist([row], schema=MOVIE_PREDICTIONS.arrow_schema)
    other.insert(table_to_frame(rows.select([f.name for f in kept])))
    with pytest.raises(DataError, match=r"lacks key columns \['model_version'\]"):
        _store(fake).merge_rows("movie_predictions", 1, rows)
    assert not fake.recorder.named("FeatureGroup.append_features")
