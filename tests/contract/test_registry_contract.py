"""What every model registry backend must do (see tests/contract/contract_backends.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from contract_backends import Backend

from movie_ratings.errors import DataError, MovieRatingsError
from movie_ratings.modeling.card import ModelCard
from movie_ratings.registry.base import MODEL_FILE


def model_name(backend: Backend) -> str:
    return "movie_ratings_model" if backend.name != "hopsworks" else f"contract_model_{backend.version}"


def artifacts(tmp: Path, tag: str, *, rmse: float) -> Path:
    folder = tmp / f"artifacts-{tag}"
    folder.mkdir()
    (folder / MODEL_FILE).write_bytes(b"stand-in pipeline " + tag.encode())
    (folder / "residuals.png").write_bytes(b"\x89PNG fake plot " + tag.encode())
    return folder


def card(rmse: float, r2: float) -> ModelCard:
    return ModelCard.model_validate({
        "metrics": {"rmse": rmse, "mae": rmse * 0.8, "r2": r2, "mse": rmse**2},
        "seed_parity": {"metrics": {"rmse": rmse * 1.3}},
        "split": {"kind": "temporal", "test_start": "2024-01-01"},
        "features": ["budget", "runtime"],
        "input_example": [{"budget": 1.0e6, "runtime": 101.0}],
    })


def test_register_get_and_versions(backend: Backend) -> None:
    name = model_name(backend)
    first = backend.registry.register(name, artifacts(backend.tmp, "a", rmse=1.0), card(1.0, 0.3))
    second = backend.registry.register(name, artifacts(backend.tmp, "b", rmse=0.8), card(0.8, 0.4))
    assert (first.version, second.version) == (1, 2)
    assert second.card.name == name and second.card.version == 2
    assert second.metric("rmse") == 0.8 and second.card.split.kind == "temporal"
    assert second.model_path.read_bytes().endswith(b"b")
    assert (second.path / "residuals.png").read_bytes().endswith(b"b")
    again = backend.registry.get(name, 1)
    assert again.model_path.read_bytes().endswith(b"a") and again.card.metrics.rmse == 1.0
    assert [v.version for v in backend.registry.versions(name)] == [1, 2]
    with pytest.raises(KeyError):
        backend.registry.get(name, 3)


def test_register_refuses_a_folder_without_a_model(backend: Backend) -> None:
    empty = backend.tmp / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=MODEL_FILE):
        backend.registry.register(model_name(backend), empty, card(1.0, 0.1))
    assert backend.registry.versions(model_name(backend)) == []


def test_best_by_metric_in_either_direction(backend: Backend) -> None:
    name = model_name(backend)
    assert backend.registry.best(name, "rmse") is None
    for tag, rmse, r2 in (("a", 0.9, 0.50), ("b", 0.7, 0.40), ("c", 0.8, 0.60)):
        backend.registry.register(name, artifacts(backend.tmp, tag, rmse=rmse), card(rmse, r2))
    assert backend.registry.best(name, "rmse").version == 2
    assert backend.registry.best(name, "r2", higher_is_better=True).version == 3


def test_production_pointer_and_promotion(backend: Backend) -> None:
    name = model_name(backend)
    assert backend.registry.production(name) is None
    backend.registry.register(name, artifacts(backend.tmp, "a", rmse=1.0), card(1.0, 0.3))
    backend.registry.register(name, artifacts(backend.tmp, "b", rmse=0.8), card(0.8, 0.4))
    backend.registry.promote(name, 1, "first model")
    assert backend.registry.production(name).version == 1
    backend.registry.promote(name, 2, "beats production on the same hold-out")
    production = backend.registry.production(name)
    assert production.version == 2 and production.model_path.read_bytes().endswith(b"b")
    assert backend.registry.production_pointer(name)["reason"] == "beats production on the same hold-out"
    with pytest.raises(KeyError):
        backend.registry.promote(name, 7, "no such version")
    assert backend.registry.production(name).version == 2


def test_a_registration_that_fails_half_way_leaves_no_version(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = model_name(backend)
    backend.registry.register(name, artifacts(backend.tmp, "a", rmse=1.0), card(1.0, 0.3))
    backend.break_next_register(monkeypatch)
    with pytest.raises((OSError, MovieRatingsError)):
        backend.registry.register(name, artifacts(backend.tmp, "b", rmse=0.8), card(0.8, 0.4))
    monkeypatch.undo()
    assert [v.version for v in backend.registry.versions(name)] == [1]
    third = backend.registry.register(name, artifacts(backend.tmp, "c", rmse=0.7), card(0.7, 0.5))
    assert third.version == 2 and json.loads((third.path / "card.json").read_text())["version"] == 2
