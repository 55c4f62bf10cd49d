"""The model card: what a registered model is, how its recipe was chosen, how good it is.

One typed record read and written by the registry backends (``card.json``), and read by the
CLI, the site and the run summaries, so a renamed field fails a type checker instead of a
page at run time. The JSON shape is the one cards had before they were typed: older cards
load (fields they lack are None or empty), and keys this code does not know are kept.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from movie_ratings.errors import DataError

METRIC_NAMES: tuple[str, ...] = ("rmse", "mae", "r2", "mse")


class _Part(BaseModel):
    # Cards written by other versions of the code keep the keys this one does not know.
    model_config = ConfigDict(extra="allow")


class Metrics(_Part):
    """Hold-out metrics of the model's recipe (fitted on the training part)."""

    mse: float | None = None
    rmse: float | None = None
    mae: float | None = None
    r2: float | None = None
    films: int | None = None

    def scores(self) -> dict[str, float]:
        """The metrics that are set, by name."""
        return {name: value for name in METRIC_NAMES if (value := getattr(self, name)) is not None}


class Comparison(_Part):
    """A reference model scored on the same hold-out (mean baseline, old notebook), or why not.

    Attributes:
        rows: films the reference kept (its own row filter), when it has one.
        features: how many input columns it uses.
        not_computable: why it has no score (e.g. its row filter keeps too few films).
    """

    mse: float | None = None
    rmse: float | None = None
    mae: float | None = None
    r2: float | None = None
    rows: int | None = None
    features: int | None = None
    not_computable: str | None = None

    @classmethod
    def failed(cls, reason: str, **facts: Any) -> Comparison:
        return cls(not_computable=reason, **facts)

    @property
    def computable(self) -> bool:
        return self.not_computable is None and self.rmse is not None and math.isfinite(self.rmse)

    def rmse_text(self) -> str:
        """``0.8123`` or ``not computable: <reason>``."""
        if self.computable:
            return f"{self.rmse:.4f}"
        return f"not computable: {self.not_computable or 'no score'}"


class CandidateScore(_Part):
    """One candidate's hold-out result, or why it failed (it is then never selected)."""

    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    mse: float | None = None
    rmse: float | None = None
    mae: float | None = None
    r2: float | None = None
    fit_seconds: float | None = None
    trees: int | None = None
    fitted_rows: int | None = None


class Recipe(_Part):
    """How to fit the model again on other rows: the estimator, its settings, the rounds.

    Attributes:
        estimator: candidate name (:data:`movie_ratings.modeling.estimators.CANDIDATES`).
        params: hyperparameters that differ from the candidate's definition in the code
            (the tuned boosting model's chosen configuration).
        rounds: fixed number of boosting rounds (found by early stopping), if boosted.
        use_text: whether the text score feature is used.
        seed: seed of folds and estimator.
    """

    estimator: str
    params: dict[str, Any] = Field(default_factory=dict)
    rounds: int | None = None
    use_text: bool = True
    seed: int = 42


class TuningTrial(_Part):
    """One configuration of the search, scored on the validation slice."""

    params: dict[str, Any]
    rmse: float | None = None
    rounds: int | None = None
    error: str | None = None


class Tuning(_Part):
    """The tuned model's search on a time-ordered validation slice of the training part.

    Attributes:
        grid: the configurations tried.
        trials: each configuration's validation RMSE and rounds.
        chosen: the configuration kept (lowest validation RMSE).
        rounds: its number of rounds.
        fit_rows, validation_rows: rows the search fitted on and scored on.
        validation: which training films validate.
        validation_start: release date where the validation slice starts (None when random).
        seconds: wall time of the whole search.
    """

    grid: list[dict[str, Any]] = Field(default_factory=list)
    trials: list[TuningTrial] = Field(default_factory=list)
    chosen: dict[str, Any] = Field(default_factory=dict)
    rounds: int | None = None
    fit_rows: int | None = None
    validation_rows: int | None = None
    validation: str | None = None
    validation_start: str | None = None
    seconds: float | None = None

    def describe(self) -> str:
        """One sentence: what was tried, on which rows, what each scored, what was chosen."""
        since = f", released from {self.validation_start}" if self.validation_start else ""
        scores = ", ".join(f"{t.rmse:.4f}" if t.rmse is not None
                           else "skipped" if (t.error or "").startswith("skipped") else "failed"
                           for t in self.trials)
        return (f"{len(self.trials)} configurations fitted on {self.fit_rows or 0:,} training films and "
                f"validated on {self.validation_rows or 0:,} ({self.validation or 'a validation slice'}"
                f"{since}): validation RMSE {scores}; chose {self.chosen or 'the defaults'} "
                f"with {self.rounds} rounds")


class Refit(_Part):
    """The registered model was refitted with the chosen recipe on every labelled film."""

    films: int
    seconds: float | None = None


class Promotion(_Part):
    promote: bool
    reason: str


class ProductionComparison(_Part):
    """Production's recipe on this run's training part and hold-out (the promotion gate).

    Attributes:
        version: production's registry version.
        comparable: False when production's card has no recipe (or it cannot be refitted).
        reason: why it is not comparable.
        recipe: production's recipe, as read from its card.
    """

    version: int | None = None
    comparable: bool = True
    reason: str | None = None
    mse: float | None = None
    rmse: float | None = None
    mae: float | None = None
    r2: float | None = None
    recipe: Recipe | None = None

    def scores(self) -> dict[str, float]:
        return {name: value for name in METRIC_NAMES if (value := getattr(self, name)) is not None}


class SplitInfo(_Part):
    kind: str | None = None
    train_rows: int | None = None
    test_rows: int | None = None
    test_size: float | None = None
    test_start: str | None = None
    seed: int | None = None


class FeatureViewRef(_Part):
    name: str
    version: int


class ModelCard(_Part):
    """Everything needed to know what a registered model is and how good it is.

    ``metrics`` are the hold-out metrics of the selection fit (the recipe fitted on the
    training part); ``refit`` says the registered model was then fitted on every labelled
    film. ``name``, ``version`` and ``registered_at`` are set by the registry.
    """

    name: str | None = None
    version: int | None = None
    registered_at: str | None = None
    description: str | None = None
    estimator: str | None = None
    metrics: Metrics = Field(default_factory=Metrics)
    baseline: Comparison | None = None
    parity: dict[str, Comparison] = Field(default_factory=dict)
    candidates: dict[str, CandidateScore] = Field(default_factory=dict)
    text_ablation: dict[str, Any] = Field(default_factory=dict)
    recipe: Recipe | None = None
    tuning: Tuning | None = None
    refit: Refit | None = None
    production_on_this_holdout: ProductionComparison | None = None
    promotion: Promotion | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    split: SplitInfo = Field(default_factory=SplitInfo)
    input_columns: list[str] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)
    label: str | None = None
    feature_view: FeatureViewRef | None = None
    store_commit: int | None = None
    training_dataset_version: int | None = None
    snapshot_date: str | None = None
    source: str | None = None
    is_demo: bool = False
    code_commit: str | None = None
    created_at: str | None = None
    preprocessing_seconds: float | None = None
    # split-conformal 80% intervals per information level (movie_ratings.modeling.intervals),
    # calibrated on the selection fit's hold-out residuals; None for older models
    intervals: dict[str, Any] | None = None
    # SHA-256 of every registered file but card.json, set by the registry at registration and
    # checked before the model is loaded (movie_ratings.modeling.artifacts.load_version)
    artifacts: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, *, where: str = "model card") -> ModelCard:
        """Parse a card read from JSON.

        Raises:
            DataError: naming ``where`` and the first field that does not fit.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(card)"
            raise DataError(f"{where} is not a model card: {field}: {first['msg']}") from None

    def to_json(self) -> dict[str, Any]:
        """The card as a JSON-ready dict (``card.json``)."""
        return self.model_dump(mode="json")

    def registered(self, name: str, version: int, registered_at: str) -> ModelCard:
        """A copy carrying the registry's name, version and registration time."""
        return self.model_copy(update={"name": name, "version": version, "registered_at": registered_at})
