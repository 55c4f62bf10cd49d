"""The local model registry: one directory per model version under MOVIE_RATINGS_HOME.

Layout::

    <root>/<model name>/<version>/      artifacts + card.json, complete or absent
    <root>/<model name>/production.json the production pointer (replaced atomically)
    <root>/<model name>/.staging-*/     versions being written (never read)
    <root>/.lock                        one writer at a time

A version is written into a staging directory, synced, then renamed to its number: a
rename is atomic, so a save that dies half way leaves only a staging directory that no
reader looks at (the next writer removes it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from movie_ratings.durable import atomic_replace, sync_dir, sync_tree
from movie_ratings.errors import DataError
from movie_ratings.modeling.artifacts import artifact_hashes
from movie_ratings.modeling.card import ModelCard
from movie_ratings.registry.base import CARD_FILE, MODEL_FILE, ModelVersion

_STAGING = ".staging-"


class LocalModelRegistry:
    """Model versions as directories under ``root``."""

    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ----------------------------------------------------------------------------------
    # writes
    # ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def register(self, name: str, artifacts: Path, card: ModelCard) -> ModelVersion:
        artifacts = Path(artifacts)
        if not (artifacts / MODEL_FILE).is_file():
            raise DataError(f"{artifacts} has no {MODEL_FILE}: nothing to register")
        model_dir = self.root / name
        with self._lock():
            model_dir.mkdir(parents=True, exist_ok=True)
            for stale in model_dir.glob(f"{_STAGING}*"):
                shutil.rmtree(stale, ignore_errors=True)
            version = max(self._version_numbers(name), default=0) + 1
            staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=model_dir))
            try:
                shutil.copytree(artifacts, staging, dirs_exist_ok=True)
                # hashed as copied: the card is the record that load_version checks
                full_card = card.registered(name, version, datetime.now(UTC).isoformat(timespec="seconds"))
                full_card = full_card.model_copy(
                    update={"artifacts": artifact_hashes(staging, exclude=[CARD_FILE])})
                (staging / CARD_FILE).write_text(json.dumps(full_card.to_json(), indent=2, sort_keys=True))
                sync_tree(staging)
                os.rename(staging, model_dir / str(version))
                sync_dir(model_dir)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return self.get(name, version)

    def promote(self, name: str, version: int, reason: str) -> None:
        self.get(name, version)  # must exist
        pointer = {"version": version, "reason": reason,
                   "promoted_at": datetime.now(UTC).isoformat(timespec="seconds")}
        with self._lock():
            atomic_replace(self.root / name / "production.json", json.dumps(pointer, indent=2))

    # ----------------------------------------------------------------------------------
    # reads
    # ----------------------------------------------------------------------------------

    def _version_numbers(self, name: str) -> list[int]:
        model_dir = self.root / name
        if not model_dir.is_dir():
            return []
        return sorted(int(p.name) for p in model_dir.iterdir() if p.name.isdigit() and p.is_dir())

    def get(self, name: str, version: int) -> ModelVersion:
        path = self.root / name / str(version)
        card_path = path / CARD_FILE
        if not card_path.is_file():
            raise KeyError(f"model {name} version {version} is not in the registry at {self.root}")
        try:
            raw = json.loads(card_path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"model card {card_path} is corrupt: {exc}") from None
        card = ModelCard.from_json(raw, where=f"model card {card_path}")
        return ModelVersion(name=name, version=version, card=card, path=path)

    def versions(self, name: str) -> list[ModelVersion]:
        return [self.get(name, v) for v in self._version_numbers(name)]

    def best(self, name: str, metric: str, *, higher_is_better: bool = False) -> ModelVersion | None:
        scored = [v for v in self.versions(name) if metric in v.card.metrics.scores()]
        if not scored:
            return None
        sign = -1.0 if higher_is_better else 1.0
        return min(scored, key=lambda v: (sign * v.metric(metric), -v.version))

    def production(self, name: str) -> ModelVersion | None:
        pointer = self.root / name / "production.json"
        if not pointer.is_file():
            return None
        try:
            version = int(json.loads(pointer.read_text())["version"])
        except (json.JSONDecodeError, KeyError, ValueError) as exc:
            raise DataError(f"production pointer {pointer} is corrupt: {exc}") from None
        return self.get(name, version)

    def production_pointer(self, name: str) -> dict[str, Any] | None:
        """The production pointer as stored (version, reason, promoted_at)."""
        pointer = self.root / name / "production.json"
        return json.loads(pointer.read_text()) if pointer.is_file() else None
