"""The Hopsworks model registry backend: the :class:`ModelRegistry` interface over hsml.

Every Hopsworks model-registry call of this project sits in this module.

* **register**: the artifacts directory plus ``card.json`` is saved as a Python model with
  ``mr.python.create_model(name, version, metrics, description, input_example,
  model_schema, feature_view, training_dataset_version)`` and ``model.save(dir)``. Only
  numeric metrics go to Hopsworks (it refuses others); the whole card travels in the files.
  ``save`` uploads every file first and registers the version last, removing the upload if
  anything fails, so a half-written version is never visible (atomic, like the local
  registry). The version number is chosen as the next free one and written into the card;
  if another registration took that number first, hsml raises ``ModelRegistryException``
  ("already exists") before uploading anything; it is mapped to a ``TransientError``, so the
  register task's retry registers the next free number.
* **best**: ``mr.get_best_model(name, metric, "min" | "max")``.
* **get** downloads the version (``model.download()``) into a local cache under
  ``MOVIE_RATINGS_HOME/model-cache`` once; inference then loads ``model.skops`` from there.
* **integrity**: the card lists the SHA-256 of every artifact, and the SHA-256 of the card
  itself is part of the version's description in Hopsworks (which a download cannot
  change). Every ``get`` reads the description again and checks the card and every file,
  cached or just downloaded, before anything is loaded.
* **production pointer**: a row per promotion in the ``model_promotions`` feature group of
  the same project (the latest row wins). Hopsworks tags need a tag schema that only an
  administrator can create, and a model's files and card cannot change after ``save``; a
  feature-group row needs nothing but the project, is written in one insert, and keeps the
  history of promotions with their reasons.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.hopsworks_connection import connect, translate_errors
from movie_ratings.modeling.artifacts import (
    artifact_hashes,
    sha256_file,
    verify_artifacts,
)
from movie_ratings.modeling.card import ModelCard
from movie_ratings.registry.base import CARD_FILE, MODEL_FILE, ModelVersion
from movie_ratings.schema import MODEL_PROMOTIONS
from movie_ratings.settings import Settings
from movie_ratings.store.hopsworks import HopsworksFeatureStore, feature_store_of

#: Optional file in the artifacts directory: a few input rows as JSON records.
INPUT_EXAMPLE_FILE = "input_example.json"
_MAX_DESCRIPTION = 1000
_CARD_HASH = re.compile(r"\[card\.json sha256 ([0-9a-f]{64})\]")


def numeric_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Only the finite numbers of a metrics dict (what Hopsworks accepts as model metrics)."""
    out = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            continue
        if np.isfinite(value):
            out[name] = float(value)
    return out


def model_description(name: str, card: ModelCard, card_sha256: str | None = None) -> str:
    """A one-line description for the registry's model list, ending with the card's hash."""
    suffix = f" [card.json sha256 {card_sha256}]" if card_sha256 else ""
    room = _MAX_DESCRIPTION - len(suffix)
    if card.description:
        return card.description[:room] + suffix
    metrics = numeric_metrics(card.metrics.scores())
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))
    estimator = card.estimator or "model"
    return f"{name}: {estimator}; hold-out {shown}"[:room] + suffix


def recorded_card_hash(description: str | None) -> str | None:
    """The card's SHA-256 written into a version's description at registration."""
    found = _CARD_HASH.search(description or "")
    return found.group(1) if found else None


def input_example(artifacts: Path, card: ModelCard) -> pd.DataFrame | None:
    """A few input rows for the registry, from ``input_example.json`` or the card."""
    path = artifacts / INPUT_EXAMPLE_FILE
    records = (json.loads(path.read_text()) if path.is_file()
               else (card.model_extra or {}).get("input_example"))
    if not records:
        return None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DataError(f"the input example of {artifacts} must be a list of JSON records")
    return pd.DataFrame.from_records(records)


class HopsworksModelRegistry:
    """Model versions in a Hopsworks project's model registry.

    Args:
        model_registry: the SDK's registry (``project.get_model_registry()``).
        store: the Hopsworks feature store of the same project (feature views, promotions).
        cache_dir: where downloaded versions are kept.
        schema_classes: the SDK's ``(ModelSchema, Schema)`` classes (imported when omitted).
    """

    backend = "hopsworks"

    def __init__(self, model_registry: Any, store: HopsworksFeatureStore, cache_dir: Path, *,
                 schema_classes: tuple[Any, Any] | None = None) -> None:
        self._mr = model_registry
        self._store = store
        self.cache_dir = Path(cache_dir)
        self._schema_classes = schema_classes

    def _schemas(self) -> tuple[Any, Any]:
        if self._schema_classes is None:
            from hsml.model_schema import ModelSchema
            from hsml.schema import Schema

            self._schema_classes = (ModelSchema, Schema)
        return self._schema_classes

    # ----------------------------------------------------------------------------------
    # writes
    # ----------------------------------------------------------------------------------

    def register(self, name: str, artifacts: Path, card: ModelCard) -> ModelVersion:
        artifacts = Path(artifacts)
        if not (artifacts / MODEL_FILE).is_file():
            raise DataError(f"{artifacts} has no {MODEL_FILE}: nothing to register")
        example = input_example(artifacts, card)
        schema = None
        if example is not None:
            model_schema_cls, schema_cls = self._schemas()
            schema = model_schema_cls(
                input_schema=schema_cls(example),
                output_schema=schema_cls(pd.DataFrame({"predicted_rating": [0.0]})),
            )
        view = None
        if card.feature_view is not None:
            view = self._store.feature_view_handle(card.feature_view.name, card.feature_view.version)
        version = max((v for v in self._version_numbers(name)), default=0) + 1
        with tempfile.TemporaryDirectory(prefix="movie-ratings-register-") as tmp:
            staging = Path(tmp) / name
            shutil.copytree(artifacts, staging)
            full_card = card.registered(name, version, datetime.now(UTC).isoformat(timespec="seconds"))
            full_card = full_card.model_copy(
                update={"artifacts": artifact_hashes(staging, exclude=[CARD_FILE])})
            (staging / CARD_FILE).write_text(json.dumps(full_card.to_json(), indent=2, sort_keys=True))
            card_sha256 = sha256_file(staging / CARD_FILE)
            with translate_errors(f"registering model {name} version {version}"):
                model = self._mr.python.create_model(
                    name=name,
                    version=version,
                    metrics=numeric_metrics(card.metrics.scores()),
                    description=model_description(name, card, card_sha256),
                    input_example=example,
                    model_schema=schema,
                    feature_view=view,
                    training_dataset_version=card.training_dataset_version,
                )
                model.save(str(staging))
        return self.get(name, version)

    def promote(self, name: str, version: int, reason: str) -> None:
        self._model(name, version)  # must exist
        row = pa.Table.from_pylist(
            [{"model_name": name, "promoted_at": datetime.now(UTC), "model_version": version,
              "reason": reason}],
            schema=MODEL_PROMOTIONS.arrow_schema,
        )
        self._store.insert_rows(MODEL_PROMOTIONS.name, self._store.bookkeeping_version, row)

    # ----------------------------------------------------------------------------------
    # reads
    # ----------------------------------------------------------------------------------

    def _model(self, name: str, version: int) -> Any:
        with translate_errors(f"looking up model {name} version {version}"):
            model = self._mr.get_model(name=name, version=version)
        if model is None:
            raise KeyError(f"model {name} version {version} is not in the Hopsworks registry")
        return model

    def version_numbers(self, name: str) -> list[int]:
        """Registered version numbers of ``name`` (no download; `movie-ratings doctor`)."""
        return self._version_numbers(name)

    def _version_numbers(self, name: str) -> list[int]:
        with translate_errors(f"listing versions of model {name}"):
            models = self._mr.get_models(name=name) or []
        return sorted(int(m.version) for m in models)

    def get(self, name: str, version: int) -> ModelVersion:
        model = self._model(name, version)  # read every time: it holds the card's hash
        what = f"model {name} v{version} (Hopsworks)"
        expected = recorded_card_hash(getattr(model, "description", None))
        path = self.cache_dir / name / str(version)
        if not (path / CARD_FILE).is_file():
            self._download(model, name, version, path)
        card_path = path / CARD_FILE
        if expected is None:
            # Registered before models were hashed: listed, never loaded (load_version
            # refuses a card without hashes, and any hashes in this card are unverifiable).
            try:
                raw = json.loads(card_path.read_text())
            except json.JSONDecodeError as exc:
                raise DataError(f"model card {card_path} is corrupt: {exc}") from None
            card = ModelCard.from_json(raw, where=f"model card {card_path}").model_copy(update={"artifacts": {}})
            return ModelVersion(name=name, version=version, card=card, path=path)
        if sha256_file(card_path) != expected:
            raise DataError(
                f"{what}: file {card_path} does not match the SHA-256 recorded in Hopsworks at "
                f"registration: the downloaded copy was changed, so it is not used. Delete {path} "
                "to download it again."
            )
        try:
            raw = json.loads(card_path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"model card {card_path} is corrupt: {exc}") from None
        card = ModelCard.from_json(raw, where=f"model card {card_path}")
        verify_artifacts(path, card.artifacts, what=what)
        return ModelVersion(name=name, version=version, card=card, path=path)

    def _download(self, model: Any, name: str, version: int, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".download-{version}-", dir=path.parent))
        try:
            with translate_errors(f"downloading model {name} version {version}"):
                downloaded = Path(model.download(local_path=str(staging)))
            if not (downloaded / CARD_FILE).is_file():
                raise DataError(
                    f"model {name} version {version} in Hopsworks has no {CARD_FILE}: "
                    "it was not registered by movie-ratings"
                )
            try:
                os.rename(downloaded, path)
            except OSError:
                if not (path / CARD_FILE).is_file():  # not a concurrent download of the same
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def versions(self, name: str) -> list[ModelVersion]:
        return [self.get(name, v) for v in self._version_numbers(name)]

    def best(self, name: str, metric: str, *, higher_is_better: bool = False) -> ModelVersion | None:
        with translate_errors(f"finding the best version of model {name} by {metric}"):
            model = self._mr.get_best_model(
                name=name, metric=metric, direction="max" if higher_is_better else "min"
            )
        return None if model is None else self.get(name, int(model.version))

    def production_pointer(self, name: str) -> dict[str, Any] | None:
        """The latest promotion of ``name`` (version, reason, promoted_at), or None."""
        rows = self._store.read_rows(MODEL_PROMOTIONS.name, self._store.bookkeeping_version)
        mine = [r for r in rows.to_pylist() if r["model_name"] == name]
        if not mine:
            return None
        latest = max(mine, key=lambda r: r["promoted_at"])
        return {"version": int(latest["model_version"]), "reason": latest["reason"],
                "promoted_at": latest["promoted_at"].isoformat(timespec="seconds")}

    def production(self, name: str) -> ModelVersion | None:
        pointer = self.production_pointer(name)
        return None if pointer is None else self.get(name, pointer["version"])


def open_hopsworks_registry(settings: Settings, *, sdk: Any | None = None) -> HopsworksModelRegistry:
    """Log in (once per process) and open the project's model registry.

    Its production pointer is a feature group, so the project's feature store is opened
    too. Arguments and errors as :func:`~movie_ratings.store.hopsworks.open_hopsworks_store`.
    """
    session = connect(settings, sdk=sdk)
    store = feature_store_of(session)
    with translate_errors(f"opening the model registry of project {session.config.project}"):
        model_registry = session.project.get_model_registry()
    schemas = getattr(session.sdk, "schema_classes", None)  # a fake's; the real ones come from hsml
    return HopsworksModelRegistry(model_registry, store, settings.model_cache_dir,
                                  schema_classes=schemas)
