"""The model-registry interface shared by the local and Hopsworks backends.

A registered version is a directory of artifacts (the fitted scikit-learn pipeline, plots,
tables) plus a model card: a JSON document with metrics, parameters, feature list, split,
the feature-view and store versions the model was trained on, the code commit and the data
source. A ``production`` pointer names the version inference uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from movie_ratings.modeling.card import ModelCard

#: The one model this project trains (a valid Hopsworks model name).
MODEL_NAME = "movie_ratings_model"
#: File name of the fitted pipeline inside a version's directory (skops format: loading it
#: cannot run code; see movie_ratings.modeling.artifacts).
MODEL_FILE = "model.skops"
CARD_FILE = "card.json"


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version.

    Attributes:
        name: model name.
        version: version number (1, 2, ...), assigned by the registry.
        card: the model card.
        path: local directory holding the artifacts (downloaded for remote registries).
    """

    name: str
    version: int
    card: ModelCard
    path: Path

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    def metric(self, name: str) -> float:
        """A hold-out metric of the card (NaN when the card has none)."""
        value = self.card.metrics.scores().get(name)
        return float("nan") if value is None else float(value)


class ModelRegistry(Protocol):
    """Versioned models with cards, best-by-metric and a production pointer."""

    def register(self, name: str, artifacts: Path, card: ModelCard) -> ModelVersion:
        """Store the files in ``artifacts`` (must contain ``model.skops``) as a new version.

        Atomic: a reader sees the whole version or none of it. The card gets the assigned
        ``name`` and ``version``, and the SHA-256 of every file under ``artifacts``
        (checked before the model is loaded).
        """
        ...

    def get(self, name: str, version: int) -> ModelVersion:
        """A registered version, its artifacts available locally.

        Raises:
            KeyError: no such version.
        """
        ...

    def versions(self, name: str) -> list[ModelVersion]:
        """All registered versions, oldest first."""
        ...

    def best(self, name: str, metric: str, *, higher_is_better: bool = False) -> ModelVersion | None:
        """The version with the best hold-out ``metric`` (None when nothing is registered)."""
        ...

    def production(self, name: str) -> ModelVersion | None:
        """The version inference uses, or None before the first promotion."""
        ...

    def promote(self, name: str, version: int, reason: str) -> None:
        """Point production at ``version`` (atomic), recording why."""
        ...
