"""Promotion: a new model replaces production only if it is better on the same hold-out."""

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
    metric: str = PROMOTION_METRIC,
    force: bool = False,
) -> PromotionDecision:
    """Compare the new model with production re-scored on the new model's hold-out.

    Args:
        candidate: the new model's hold-out metrics.
        production: production's metrics on the same hold-out, or None when there is no
            production model (or it could not score the hold-out).
        production_version: production's registry version, for the message.
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
    if production is None:
        return PromotionDecision(True, f"no comparable production model: promoted with {metric} {new:.4f}")
    old = production[metric]
    label = f"production v{production_version}" if production_version is not None else "production"
    if not math.isfinite(old) or new < old:
        return PromotionDecision(True, f"{metric} {new:.4f} beats {label}'s {old:.4f} on the same hold-out")
    return PromotionDecision(
        False, f"{metric} {new:.4f} does not beat {label}'s {old:.4f} on the same hold-out: kept {label}"
    )
