"""Chart coordinates of the monitoring page; the markup is in templates/charts.html."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from movie_ratings.monitoring.drift import MAJOR, MODERATE, DriftReport
from movie_ratings.site.data import CoveragePoint, MaePoint, MonitoredFilm
from movie_ratings.site.filters import finite

PALETTE = ("#2f5bd3", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#1098ad", "#f08c00", "#495057")


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    color: str
    tip: str


@dataclass(frozen=True)
class Line:
    version: object
    color: str
    points: str
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class LegendItem:
    x: float
    y: float
    color: str
    text: str


def version_colors(versions: Iterable[Any]) -> dict[Any, str]:
    ordered = sorted(set(versions))
    return {version: PALETTE[i % len(PALETTE)] for i, version in enumerate(ordered)}


def legend(colors: Mapping[object, str], x: float, y: float) -> list[LegendItem]:
    return [LegendItem(x, y + i * 16, color, f"model v{version}")
            for i, (version, color) in enumerate(colors.items())]


def scatter_chart(films: Sequence[MonitoredFilm]) -> dict[str, Any]:
    """Predicted (y) against actual (x) rating, one dot per film, dashed line where equal."""
    width, height, left, right, top, bottom = 520, 420, 52, 110, 16, 46
    lo, hi = 1.0, 10.0

    def sx(v: float) -> float:
        return round(left + (min(max(v, lo), hi) - lo) / (hi - lo) * (width - left - right), 1)

    def sy(v: float) -> float:
        return round(height - bottom - (min(max(v, lo), hi) - lo) / (hi - lo) * (height - top - bottom), 1)

    colors = version_colors(film.model_version for film in films)
    dots = []
    for film in films:
        predicted, actual = finite(film.predicted_rating), finite(film.actual_rating)
        if predicted is None or actual is None:
            continue
        tip = (f"{film.title}: predicted {predicted:.1f}, actual {actual:.1f} "
               f"(model v{film.model_version}, {film.prediction_date.isoformat()})")
        dots.append(Dot(sx(actual), sy(predicted), colors[film.model_version], tip))
    return {
        "width": width, "height": height, "x0": sx(lo), "x1": sx(hi), "y0": sy(lo), "y1": sy(hi),
        "ticks": [Tick(sx(t), sy(t), str(t)) for t in range(1, 11)],
        "x_label": ((sx(lo) + sx(hi)) / 2, height - 8), "y_label_y": (sy(lo) + sy(hi)) / 2,
        "dots": dots, "legend": legend(colors, width - right + 14, top + 12),
    }


def nice_ceiling(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def trend_chart(points: Sequence[tuple[date, object, float, str]], *, y_max: float | None = None,
                y_format: str = "{:.2f}") -> dict[str, Any]:
    """A line per model version of (date, version, value, tooltip) points over dates."""
    width, height, left, right, top, bottom = 640, 320, 52, 110, 16, 46
    days = sorted({p[0] for p in points})
    first, last = days[0].toordinal(), days[-1].toordinal()
    top_value = y_max if y_max is not None else nice_ceiling(max(p[2] for p in points) * 1.1)

    def sx(day: date) -> float:
        if first == last:
            return round((left + width - right) / 2, 1)
        return round(left + (day.toordinal() - first) / (last - first) * (width - left - right), 1)

    def sy(v: float) -> float:
        return round(height - bottom - v / top_value * (height - top - bottom), 1)

    ticks: list[date] = []
    for day in days:  # labels at least 80 px apart, the last date always labelled
        if not ticks or sx(day) - sx(ticks[-1]) >= 80:
            ticks.append(day)
    if ticks[-1] != days[-1]:
        if len(ticks) > 1 and sx(days[-1]) - sx(ticks[-1]) < 80:
            ticks[-1] = days[-1]
        else:
            ticks.append(days[-1])
    colors = version_colors(p[1] for p in points)
    lines = []
    for version, color in colors.items():
        line = sorted((p for p in points if p[1] == version), key=lambda p: p[0])
        lines.append(Line(version, color, " ".join(f"{sx(p[0])},{sy(p[2])}" for p in line),
                          tuple(Dot(sx(p[0]), sy(p[2]), color, p[3]) for p in line)))
    return {
        "width": width, "height": height, "left": left, "right": width - right,
        "y0": sy(0), "y1": sy(top_value), "bottom_label": height - bottom + 16,
        "grid": [Tick(left, sy(top_value * i / 5), y_format.format(top_value * i / 5)) for i in range(6)],
        "x_ticks": [Tick(sx(d), 0, d.isoformat()) for d in ticks],
        "x_label": ((left + width - right) / 2, height - 8), "y_label_y": (top + height - bottom) / 2,
        "lines": lines, "legend": legend(colors, width - right + 14, top + 12),
    }


def mae_trend_chart(points: Sequence[MaePoint]) -> dict[str, Any]:
    """Live MAE by prediction date, one line per model version."""
    usable = [(p.prediction_date, p.model_version, float(p.mae),
               f"model v{p.model_version}, {p.prediction_date.isoformat()}: MAE {p.mae:.3f} over {p.films} films")
              for p in points if finite(p.mae) is not None]
    return trend_chart(usable)


def coverage_chart(points: Sequence[CoveragePoint]) -> dict[str, Any]:
    """Share of intervals that held the real rating by prediction date, a line per version."""
    usable = [(p.prediction_date, p.model_version, p.covered / p.films,
               f"model v{p.model_version}, {p.prediction_date.isoformat()}: {p.covered} of {p.films} "
               "intervals held the real rating")
              for p in points if p.films > 0]
    chart = trend_chart(usable, y_max=1.0, y_format="{:.0%}")
    target = chart["y0"] - 0.8 * (chart["y0"] - chart["y1"])
    return {**chart, "target_y": round(target, 1)}


@dataclass(frozen=True)
class DriftBar:
    feature: str
    y: float
    width: float
    level: str
    psi: float


def drift_chart(report: DriftReport) -> dict[str, Any]:
    """One horizontal bar per comparison the alert reads (each feature against the films
    predicted at training time, the label row against the training ratings), or, without a
    baseline, per feature against the training films; thresholds 0.1 and 0.25 marked."""
    left, right, row, top = 150, 70, 20, 10
    width = 640
    shown = report.judged if report.baseline else report.features
    x_max = max(0.5, nice_ceiling(max((f.psi for f in shown), default=0.0) * 1.05))
    plot = width - left - right

    def sx(v: float) -> float:
        return round(left + min(max(v, 0.0), x_max) / x_max * plot, 1)

    bars = [DriftBar(f.feature, top + i * row, round(sx(f.psi) - left, 1),
                     f.level.replace(" ", "-"), f.psi)
            for i, f in enumerate(shown)]
    height = top + len(bars) * row + 36
    return {
        "width": width, "height": height, "left": left, "bar_height": row - 6, "bars": bars,
        "moderate_x": sx(MODERATE), "major_x": sx(MAJOR), "axis_y": top + len(bars) * row,
        "ticks": [Tick(sx(x_max * i / 4), top + len(bars) * row + 14, f"{x_max * i / 4:.2f}") for i in range(5)],
        "against": ("the films predicted at training time (features) and the training ratings (imdb_rating)"
                    if report.baseline else "the training films (no baseline: information only)"),
    }
