"""Model files cannot run code: safe format, trusted types only, hashes checked on both registries."""

from __future__ import annotations

import json
import pickle
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hopsworks_fake import FakeHopsworks

from movie_ratings.errors import DataError
from movie_ratings.modeling.artifacts import (
    TRUSTED_TYPES,
    load_pipeline,
    load_version,
    save_pipeline,
    untrusted_types,
)
from movie_ratings.modeling.card import ModelCard
from movie_ratings.modeling.estimators import CANDIDATES
from movie_ratings.registry.base import MODEL_FILE
from movie_ratings.registry.hopsworks import HopsworksModelRegistry
from movie_ratings.registry.local import LocalModelRegistry
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.store.hopsworks import HopsworksFeatureStore
from tasks.predict import snapshot_view_rows
from tasks.train import fit_candidates
from tasks.training_data import labelled_rows, temporal_split

AS_OF = date(2026, 11, 1)


class Payload:
    """Unpickling this creates ``marker``: what a swapped model file would do with os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


class RunsCodeOnLoad:
    """A class outside the trusted package whose state setter creates a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).touch()
        self.__dict__.update(state)

    def predict(self, rows):
        return rows


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory):
    path = write_snapshot_csv(demo_snapshot(AS_OF, size=700, seed=3),
                              tmp_path_factory.mktemp("demo") / "snapshot.csv")
    return snapshot_view_rows(Path(path), AS_OF).rows


@pytest.fixture(scope="module")
def fitted(view):
    rows = labelled_rows(view)
    return fit_candidates(rows, temporal_split(rows, test_size=0.2), CANDIDATES, seed=1, measure_text=False)


def artifacts_of(pipeline, directory: Path) -> Path:
    directory.mkdir()
    save_pipeline(pipeline, directory / MODEL_FILE)
    (directory / "plot.png").write_bytes(b"\x89PNG plot")
    return directory


def test_the_payload_really_runs_code_when_unpickled(tmp_path: Path) -> None:
    """The refusals below mean something: unpickling the swapped file would create the marker."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


def test_every_candidate_saves_and_loads_with_trusted_types_only(fitted, view, tmp_path: Path) -> None:
    # A new model class that needs a type outside the trusted ones fails here, naming it.
    for name, result in fitted.results.items():
        path = tmp_path / f"{name}.skops"
        save_pipeline(result.model, path)  # raises "contains types that are not trusted" if not
        loaded = load_pipeline(path)
        np.testing.assert_allclose(loaded.predict(view), result.model.predict(view), rtol=1e-9, atol=1e-9,
                                   err_msg=name)


def test_saving_a_model_with_an_untrusted_type_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"test_model_files\.RunsCodeOnLoad.*TRUSTED_TYPES"):
        save_pipeline(RunsCodeOnLoad(str(tmp_path / "marker")), tmp_path / "model.skops")
    assert not (tmp_path / "model.skops").exists()


def test_only_classes_of_the_package_and_the_listed_types_are_trusted() -> None:
    assert untrusted_types([
        "movie_ratings.modeling.estimators.SampledFit", "movie_ratings.modeling.encoders._History",
        *TRUSTED_TYPES,
    ]) == []
    refused = ["builtins.eval", "os.system", "movie_ratings.modeling.artifacts.save_pipeline",
               "movie_ratings.modeling.encoders.BaseEstimator", "movie_ratings.modeling.nope.X",
               "movie_ratings.modelingevil.X", "posix.system"]
    assert untrusted_types(refused) == sorted(refused)


def test_a_file_with_an_untrusted_type_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    import skops.io as sio

    marker = tmp_path / "marker"
    path = tmp_path / "model.skops"
    sio.dump(RunsCodeOnLoad(str(marker)), path)  # written around our save_pipeline check
    with pytest.raises(DataError, match=rf"{path} contains types that are not trusted.*RunsCodeOnLoad"):
        load_pipeline(path)
    assert not marker.exists()


def test_pickles_are_refused_with_a_retrain_message(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(DataError, match=r"pickle/joblib file.*retrain"):
        load_pipeline(path)
    import joblib

    joblib.dump(Payload(marker), path, compress=3)  # how models were saved before
    with pytest.raises(DataError, match=r"pickle/joblib file.*retrain"):
        load_pipeline(path)
    assert not marker.exists()


# ---- local registry -------------------------------------------------------------------------


@pytest.fixture
def local_version(fitted, tmp_path: Path):
    registry = LocalModelRegistry(tmp_path / "registry")
    version = registry.register("m", artifacts_of(fitted.best.model, tmp_path / "artifacts"), ModelCard())
    return registry, version


def test_local_a_registered_model_loads(local_version, view) -> None:
    _, version = local_version
    assert len(load_version(version).predict(view)) == view.num_rows


def test_local_a_swapped_pickle_is_refused_and_never_runs(local_version, tmp_path: Path) -> None:
    registry, version = local_version
    marker = tmp_path / "marker"
    version.model_path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(DataError, match=rf"{version.model_path} does not match the SHA-256"):
        load_version(registry.get("m", 1))
    # also when the attacker rewrites the card's hash too: the format check refuses it
    card_path = version.path / "card.json"
    card = json.loads(card_path.read_text())
    card["artifacts"][MODEL_FILE] = __import__("hashlib").sha256(version.model_path.read_bytes()).hexdigest()
    card_path.write_text(json.dumps(card))
    with pytest.raises(DataError, match="pickle/joblib file"):
        load_version(registry.get("m", 1))
    assert not marker.exists()


def test_local_a_tampered_byte_is_refused(local_version) -> None:
    registry, version = local_version
    data = bytearray(version.model_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    version.model_path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"model m v1: file {version.model_path} does not match"):
        load_version(registry.get("m", 1))


def test_local_an_old_joblib_version_is_refused_with_a_retrain_message(tmp_path: Path) -> None:
    old = tmp_path / "registry" / "m" / "1"
    old.mkdir(parents=True)
    (old / "model.joblib").write_bytes(pickle.dumps(Payload(tmp_path / "marker")))
    (old / "card.json").write_text(json.dumps({"name": "m", "version": 1, "metrics": {}}))
    with pytest.raises(DataError, match=r"records no SHA-256.*retrain"):
        load_version(LocalModelRegistry(tmp_path / "registry").get("m", 1))
    assert not (tmp_path / "marker").exists()


# ---- Hopsworks registry (through the fake SDK) ----------------------------------------------


@pytest.fixture
def hopsworks(fitted, tmp_path: Path):
    fake = FakeHopsworks(tmp_path / "hw")
    store = HopsworksFeatureStore(fake.feature_store, feature_cls=fake.Feature, address="fake")
    registry = HopsworksModelRegistry(fake.registry, store, tmp_path / "cache", schema_classes=fake.schema_classes)
    registry.register("m", artifacts_of(fitted.best.model, tmp_path / "artifacts"), ModelCard.model_validate({"metrics": {"rmse": 1.0}}))
    yield fake, registry
    fake.close()


def test_hopsworks_records_the_card_hash_in_the_description(hopsworks) -> None:
    fake, registry = hopsworks
    version = registry.get("m", 1)
    stored = fake.registry.models[("m", 1)].description
    from movie_ratings.modeling.artifacts import sha256_file

    assert f"[card.json sha256 {sha256_file(version.path / 'card.json')}]" in stored
    assert set(version.card.artifacts) == {MODEL_FILE, "plot.png"}


def test_hopsworks_a_swapped_pickle_in_the_cache_is_refused_and_never_runs(hopsworks, tmp_path: Path) -> None:
    _, registry = hopsworks
    version = registry.get("m", 1)  # downloaded into the cache
    marker = tmp_path / "marker"
    version.model_path.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(DataError, match=rf"{version.model_path} does not match the SHA-256"):
        load_version(registry.get("m", 1))
    # a swapped card in the cache (hashes rewritten to match) is refused by the description's hash
    card_path = version.path / "card.json"
    card = json.loads(card_path.read_text())
    card["artifacts"][MODEL_FILE] = __import__("hashlib").sha256(version.model_path.read_bytes()).hexdigest()
    card_path.write_text(json.dumps(card))
    with pytest.raises(DataError, match=rf"{card_path} does not match the SHA-256 recorded in Hopsworks"):
        registry.get("m", 1)
    assert not marker.exists()


def test_hopsworks_a_tampered_byte_in_the_registry_is_refused(hopsworks, tmp_path: Path) -> None:
    fake, registry = hopsworks
    stored = fake.registry.root / "m" / "1" / MODEL_FILE
    data = bytearray(stored.read_bytes())
    data[100] ^= 0x01
    stored.write_bytes(bytes(data))
    shutil.rmtree(tmp_path / "cache")  # registration downloaded it once: download it again
    with pytest.raises(DataError, match=rf"file {tmp_path / 'cache' / 'm' / '1' / MODEL_FILE} does not match"):
        registry.get("m", 1)


def test_hopsworks_a_version_without_a_recorded_hash_is_listed_but_never_loaded(hopsworks) -> None:
    fake, registry = hopsworks
    fake.registry.models[("m", 1)]._description = "registered before hashes"
    version = registry.get("m", 1)  # still listed (status, best, training's comparison)
    assert [v.version for v in registry.versions("m")] == [1]
    with pytest.raises(DataError, match=r"records no SHA-256 of its files.*retrain"):
        load_version(version)  # the card's own hashes cannot be trusted without the record


def test_training_is_not_blocked_by_a_production_model_that_fails_its_check() -> None:
    """Retraining is the way out of a refused model: it must register and promote."""
    from tasks.register import score_production

    class Registry:
        def production(self, name):
            raise DataError("file model.skops does not match the SHA-256 recorded at registration")

    production = score_production(Registry(), data=None, split=None, fitted=None)  # type: ignore[arg-type]
    assert production is not None and not production.comparable and "does not match" in (production.reason or "")
