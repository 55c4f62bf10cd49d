"""The local model registry: versions, atomic registration, best, production pointer."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from movie_ratings.errors import DataError
from movie_ratings.modeling.artifacts import load_pipeline, save_pipeline
from movie_ratings.modeling.card import ModelCard
from movie_ratings.registry.base import MODEL_FILE
from movie_ratings.registry.local import LocalModelRegistry


def artifacts(tmp_path: Path, name: str = "a") -> Path:
    directory = tmp_path / f"artifacts-{name}"
    directory.mkdir()
    (directory / MODEL_FILE).write_bytes(b"model bytes " + name.encode())
    (directory / "plot.png").write_bytes(b"png")
    return directory


def card(rmse: float) -> ModelCard:
    return ModelCard.model_validate({"metrics": {"rmse": rmse, "mae": rmse / 2, "r2": 0.5, "mse": rmse**2}})


def test_versions_are_numbered_and_carry_their_card(tmp_path: Path) -> None:
    registry = LocalModelRegistry(tmp_path / "registry")
    first = registry.register("m", artifacts(tmp_path, "a"), card(0.9))
    second = registry.register("m", artifacts(tmp_path, "b"), card(0.8))
    assert (first.version, second.version) == (1, 2)
    assert second.card.name == "m" and second.card.version == 2 and second.card.registered_at
    assert (second.path / "plot.png").read_bytes() == b"png"
    assert [v.version for v in registry.versions("m")] == [1, 2]
    assert registry.get("m", 1).model_path.read_bytes() == b"model bytes a"


def test_best_by_metric(tmp_path: Path) -> None:
    registry = LocalModelRegistry(tmp_path)
    assert registry.best("m", "rmse") is None
    for rmse in (0.9, 0.7, 0.8):
        registry.register("m", artifacts(tmp_path, str(rmse)), card(rmse))
    assert registry.best("m", "rmse").version == 2
    assert registry.best("m", "r2", higher_is_better=True).version == 3  # ties: newest


def test_production_pointer(tmp_path: Path) -> None:
    registry = LocalModelRegistry(tmp_path)
    assert registry.production("m") is None
    registry.register("m", artifacts(tmp_path, "a"), card(0.9))
    registry.register("m", artifacts(tmp_path, "b"), card(0.8))
    registry.promote("m", 1, "first")
    assert registry.production("m").version == 1
    registry.promote("m", 2, "better")
    assert registry.production("m").version == 2
    assert registry.production_pointer("m")["reason"] == "better"
    with pytest.raises(KeyError):
        registry.promote("m", 9, "no such version")
    assert registry.production("m").version == 2


def test_an_interrupted_registration_leaves_no_version_and_production_unchanged(tmp_path: Path, monkeypatch) -> None:
    registry = LocalModelRegistry(tmp_path / "r")
    registry.register("m", artifacts(tmp_path, "a"), card(0.9))
    registry.promote("m", 1, "first")

    def dies_half_way(src, dst, **kwargs):
        Path(dst).mkdir(exist_ok=True)
        (Path(dst) / MODEL_FILE).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(shutil, "copytree", dies_half_way)
    with pytest.raises(OSError, match="disk full"):
        registry.register("m", artifacts(tmp_path, "b"), card(0.1))
    monkeypatch.undo()
    assert [v.version for v in registry.versions("m")] == [1]
    assert registry.production("m").version == 1
    # a staging directory left by a killed process is ignored, then cleaned by the next writer
    (tmp_path / "r" / "m" / ".staging-dead").mkdir()
    assert [v.version for v in registry.versions("m")] == [1]
    assert registry.register("m", artifacts(tmp_path, "c"), card(0.5)).version == 2
    assert not list((tmp_path / "r" / "m").glob(".staging-*"))


def test_registering_without_a_model_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=r"model\.skops"):
        LocalModelRegistry(tmp_path / "r").register("m", empty, card(1.0))


def test_corrupt_cards_and_pointers_are_clear_errors(tmp_path: Path) -> None:
    registry = LocalModelRegistry(tmp_path)
    version = registry.register("m", artifacts(tmp_path), card(0.9))
    registry.promote("m", 1, "first")
    (version.path / "card.json").write_text("{not json")
    with pytest.raises(DataError, match=r"card.json is corrupt"):
        registry.get("m", 1)
    (tmp_path / "m" / "production.json").write_text("")
    with pytest.raises(DataError, match="production pointer"):
        registry.production("m")


def test_missing_or_corrupt_model_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing"):
        load_pipeline(tmp_path / "none.skops")
    (tmp_path / "bad.skops").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match="corrupt"):
        load_pipeline(tmp_path / "bad.skops")
    save_pipeline({"not": "a model"}, tmp_path / "dict.skops")
    with pytest.raises(DataError, match="does not hold a model"):
        load_pipeline(tmp_path / "dict.skops")


def test_every_file_is_hashed_in_the_card(tmp_path: Path) -> None:
    version = LocalModelRegistry(tmp_path / "r").register("m", artifacts(tmp_path), card(0.9))
    hashes = version.card.artifacts
    assert set(hashes) == {MODEL_FILE, "plot.png"}
    assert hashes[MODEL_FILE] == hashlib.sha256(b"model bytes a").hexdigest()
