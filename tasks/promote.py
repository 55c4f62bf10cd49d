"""Promotion: a new model replaces production only if its recipe is at least as good.

Both models are refitted on every labelled film before they are registered, so re-scoring
production's artifact on a new hold-out would score films it has seen. The gate compares
**recipes** instead: production's recipe (from its card) and the new one, both fitted on
the same training part and scored on the same hold-out (:func:`tasks.register.score_production`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

#: Metrics where lower is better; promotion compares this one.
PROMOTION_METRIC = "rmse"


@dataclass(frozen=True)
class PromotionDecision:
    """Whether the new model becomes production, and why (shown in the run and the card)."""

    promote: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def decide_promotion(
    candidate: dict[str, float],
    production: dict[str, float] | None,
    *,
    production_version: int | None = None,
    not_comparable: str | None = None,
    metric: str = PROMOTION_METRIC,
    force: bool = False,
) -> PromotionDecision:
    """Compare the new recipe with production's, fitted and scored on the same split.

    A tie promotes: the same recipe scores the same, and the new model is refitted on
    newer films.

    Args:
        candidate: the new recipe's hold-out metrics.
        production: production's recipe's metrics on the same training part and hold-out,
            or None when there is no production model or it is not comparable.
        production_version: production's registry version, for the message.
        not_comparable: why production could not be compared (e.g. its card has no recipe);
            the new model is then promoted as when there is no production model.
        metric: the lower-is-better metric compared.
        force: promote whatever the comparison says.

    Returns:
        The decision with a one-line reason.
    """
    new = candidate[metric]
    if not math.isfinite(new):
        return PromotionDecision(False, f"the new model's {metric} is {new}: not promoted")
    if force:
        return PromotionDecision(True, f"promotion forced (new {metric} {new:.4f})")
    label = f"production v{production_version}" if production_version is not None else "production"
    if production is None:
        if not_comparable:
            return PromotionDecision(True, f"{label} is not comparable ({not_comparable}): "
                                           f"promoted with {metric} {new:.4f}")
        return PromotionDecision(True, f"no production model: promoted with {metric} {new:.4f}")
    old = production[metric]
    if not math.isfinite(old) or new <= old:
        return PromotionDecision(True, f"{metric} {new:.4f} is at least as good as {label}'s recipe's "
                                       f"{old:.4f} on the same training part and hold-out")
    return PromotionDecision(
        False, f"{metric} {new:.4f} does not beat {label}'s recipe's {old:.4f} on the same training "
               f"part and hold-out: kept {label}"
    )
