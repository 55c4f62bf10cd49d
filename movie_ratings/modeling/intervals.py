"""Prediction intervals: split-conformal 80% intervals, wider when less is known of a film.

Calibration takes the model's absolute errors on hold-out films (never seen in fitting) and,
per information level (how many of director, cast, runtime and overview are known, 0 to 4),
the conformal quantile of those errors: the ``⌈(n + 1) · 0.8⌉``-th smallest of ``n``. A new
prediction ``ŷ`` then gets ``[ŷ − q, ŷ + q]`` for its level's ``q``, clipped to IMDb's 1–10
scale; for a film like the hold-out films, the real rating falls inside with probability at
least 80%. A level with too few hold-out films uses the quantile of all of them, and a level
never gets a narrower interval than a better-known one (knowing less cannot make us surer).

The calibration is plain numbers (:meth:`IntervalCalibration.to_dict`), stored in the model
card and read back at inference with :meth:`IntervalCalibration.from_dict`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COVERAGE = 0.8
#: Fewer hold-out films than this at a level: it uses the quantile of all levels.
MIN_ROWS_PER_LEVEL = 50
#: What is counted towards a film's information level, with the view column that tells.
INFORMATION: tuple[tuple[str, str], ...] = (
    ("director", "directors"), ("cast", "top_cast"), ("runtime", "runtime"), ("overview", "overview"),
)
LEVELS = len(INFORMATION) + 1
METHOD = "split conformal: quantile of absolute hold-out errors per information level"
LOW, HIGH = 1.0, 10.0


def _known(values: pa.ChunkedArray) -> np.ndarray:
    """Per row, whether the value is known: a non-empty list, a non-blank text, a positive number."""
    kind = values.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        known = pc.greater(pc.fill_null(pc.list_value_length(values), 0), 0)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        known = pc.not_equal(pc.utf8_trim_whitespace(values), "")
    else:
        known = pc.greater(pc.cast(values, pa.float64()), 0.0)
    return pc.fill_null(known, False).to_numpy(zero_copy_only=False).astype(bool)


def information_level(rows: pa.Table) -> np.ndarray:
    """How many of director, cast, runtime and overview each film has (0 to 4).

    Raises:
        KeyError: a column of :data:`INFORMATION` is missing, naming it.
    """
    missing = [column for _, column in INFORMATION if column not in rows.column_names]
    if missing:
        raise KeyError(f"rows lack the columns of the information level: {missing}")
    level = np.zeros(rows.num_rows, dtype=np.int64)
    for _, column in INFORMATION:
        level += _known(rows[column])
    return level


def conformal_quantile(errors: np.ndarray, coverage: float = COVERAGE) -> float:
    """The split-conformal quantile: the ``⌈(n + 1) · coverage⌉``-th smallest error.

    Raises:
        ValueError: too few errors for that rank to exist.
    """
    errors = np.sort(np.asarray(errors, dtype=np.float64))
    rank = math.ceil((errors.size + 1) * coverage)
    if rank > errors.size:
        raise ValueError(f"{errors.size} hold-out errors are too few for a {coverage:.0%} interval "
                         f"(needs at least {math.ceil(coverage / (1 - coverage))})")
    return float(errors[rank - 1])


@dataclass(frozen=True)
class IntervalCalibration:
    """Half-widths of the intervals per information level.

    Attributes:
        coverage: the target share of real ratings inside their interval.
        half_widths: per information level 0..4, the ``q`` of ``[ŷ − q, ŷ + q]``.
        rows: hold-out films per level the calibration saw.
    """

    coverage: float
    half_widths: tuple[float, ...]
    rows: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, for the model card."""
        return {"method": METHOD, "coverage": self.coverage,
                "information": [name for name, _ in INFORMATION],
                "half_widths": [round(h, 4) for h in self.half_widths], "rows": list(self.rows)}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> IntervalCalibration:
        """Read back :meth:`to_dict`.

        Raises:
            ValueError: the values are not a calibration (naming what is wrong).
        """
        try:
            coverage = float(values["coverage"])
            widths = tuple(float(h) for h in values["half_widths"])
            rows = tuple(int(n) for n in values.get("rows", [0] * len(widths)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an interval calibration: {type(exc).__name__}: {exc}") from None
        if len(widths) != LEVELS or not all(math.isfinite(h) and h >= 0 for h in widths):
            raise ValueError(f"an interval calibration needs {LEVELS} finite, non-negative half-widths, "
                             f"got {list(widths)}")
        if not 0 < coverage < 1:
            raise ValueError(f"interval coverage must be between 0 and 1, got {coverage}")
        return cls(coverage, widths, rows)

    def bounds(self, predicted: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Low and high ends for predictions at the given information levels (1–10 scale)."""
        widths = np.asarray(self.half_widths)[np.clip(np.asarray(levels, dtype=np.int64), 0, LEVELS - 1)]
        predicted = np.asarray(predicted, dtype=np.float64)
        return np.clip(predicted - widths, LOW, HIGH), np.clip(predicted + widths, LOW, HIGH)


def calibrate(actual: np.ndarray, predicted: np.ndarray, levels: np.ndarray, *,
              coverage: float = COVERAGE, min_rows: int = MIN_ROWS_PER_LEVEL) -> IntervalCalibration:
    """Fit the intervals on hold-out films: their real and predicted ratings and levels.

    Raises:
        ValueError: the arrays differ in length, or there are too few hold-out films.
    """
    actual, predicted = np.asarray(actual, np.float64), np.asarray(predicted, np.float64)
    levels = np.clip(np.asarray(levels, np.int64), 0, LEVELS - 1)
    if not actual.shape == predicted.shape == levels.shape:
        raise ValueError(f"lengths differ: {actual.size} real, {predicted.size} predicted, {levels.size} levels")
    errors = np.abs(actual - predicted)
    usable = np.isfinite(errors)
    errors, levels = errors[usable], levels[usable]
    pooled = conformal_quantile(errors, coverage)
    rows = tuple(int((levels == level).sum()) for level in range(LEVELS))
    widths = [conformal_quantile(errors[levels == level], coverage) if rows[level] >= min_rows else pooled
              for level in range(LEVELS)]
    for level in range(LEVELS - 2, -1, -1):  # knowing less never narrows the interval
        widths[level] = max(widths[level], widths[level + 1])
    return IntervalCalibration(coverage, tuple(widths), rows)


def calibrate_rows(actual: np.ndarray, predicted: np.ndarray, rows: pa.Table, **options: Any,
                   ) -> IntervalCalibration:
    """:func:`calibrate` on hold-out view rows: their information levels are read from them
    (what training calls with its test rows, to store ``to_dict()`` in the model card)."""
    return calibrate(actual, predicted, information_level(rows), **options)


def calibration_of(card: Any) -> IntervalCalibration | None:
    """The interval calibration in a model card (a mapping or a record with ``intervals``),
    None when the card has none.

    Raises:
        ValueError: the card has one, but it is malformed.
    """
    values = card.get("intervals") if isinstance(card, Mapping) else getattr(card, "intervals", None)
    if values is None:
        return None
    if isinstance(values, IntervalCalibration):
        return values
    if not isinstance(values, Mapping):
        raise ValueError(f"the model card's intervals are not a mapping: {type(values).__name__}")
    return IntervalCalibration.from_dict(values)
