"""Rendering of the site: :class:`SiteData` in, HTML pages out, through Jinja2 templates.

The pages are the templates under ``templates/``, rendered with autoescaping on: every value
from the dataset or the model card is escaped unless a template marks it otherwise, and only
one value is marked: the JSON block the home page's script reads, made safe by
:func:`json_for_script`. This module only prepares what the templates show (selection,
order, formatting, chart coordinates); it builds no markup. URLs are built only by
:mod:`movie_ratings.site.data` from values that pass its strict checks. The pages load
nothing but their own ``assets/`` files and TMDB poster images, and say so in a
Content-Security-Policy, so even a missed escape could not run a script.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from movie_ratings.monitoring.drift import ALERT, MAJOR, MODERATE, WATCH, DriftReport, FeatureDrift
from movie_ratings.site.data import (
    CoveragePoint,
    FilmCard,
    MaePoint,
    MonitoredFilm,
    PastPrediction,
    SiteData,
    film_page,
    film_url,
    poster_url,
    valid_imdb_id,
)

HOME_CARDS = 20
MONITORING_TABLE_ROWS = 500
#: Contributions shown per film: the largest by size.
EXPLANATION_ITEMS = 5
PLACEHOLDER = "assets/placeholder.svg"
CSP = (
    "default-src 'none'; img-src 'self' https://image.tmdb.org; style-src 'self'; "
    "script-src 'self'; base-uri 'none'; form-action 'none'"
)
PALETTE = ("#2f5bd3", "#d9480f", "#2b8a3e", "#7048e8", "#c2255c", "#1098ad", "#f08c00", "#495057")
METRIC_ORDER = ("rmse", "mae", "r2", "mse")
METRIC_LABELS = {"rmse": "RMSE", "mae": "MAE", "r2": "R²", "mse": "MSE"}
NO_MONITORING = "No predicted film has a known rating yet."
NO_TREND = "No live error yet: it appears once a predicted film gets its real rating."
NO_CARDS = "No upcoming or newly released film has a prediction yet."
NO_MODEL_CARD = "No production model card was given to this build."
NO_COVERAGE = ("No interval has met a real rating yet: coverage appears once a film predicted "
               "with an interval gets its real rating.")
NO_DRIFT = "No drift report for this run."
KNOWN_CARD_KEYS = {"name", "version", "created_at", "metrics", "baseline", "parity", "candidates",
                   "split", "feature_view", "store_commit", "source", "is_demo", "code_commit"}


@dataclass(frozen=True)
class PlotFile:
    """A training plot as the monitoring page shows it.

    Attributes:
        name: the plot's name in ``SiteData.plots`` (untrusted text, escaped when shown).
        src: path of the copied image relative to the site root, None when it was missing.
    """

    name: str
    src: str | None


# --- small formatting helpers (template filters) ------------------------------------------


def esc(value: object) -> str:
    """The value escaped as the templates escape it (None becomes empty)."""
    return "" if value is None else str(escape(str(value)))


def json_for_script(value: object) -> str:
    """JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\\u`` escapes so no ``</script>`` or ``<!--``
    can end the block; U+2028/U+2029 too, for older JavaScript parsers. These characters can
    only occur inside JSON strings, where the escapes mean the same thing.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape_ in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape_)
    return text


def finite(value: object) -> float | None:
    """The value as a float when it is a finite real number, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def fmt_rating(value: object) -> str:
    number = finite(value)
    return "n/a" if number is None else f"{number:.1f}"


def fmt_date(value: date | None) -> str:
    return "unknown" if value is None else f"{value.day} {value:%b %Y}"


def fmt_datetime(value: datetime) -> str:
    text = value.strftime("%Y-%m-%d %H:%M")
    return f"{text} {value.tzname()}" if value.tzinfo is not None else text


def fmt_number(value: object) -> str:
    """A metric or model-card value as short text (escaped by the template)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.3f}" if math.isfinite(value) else "n/a"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


def fmt_signed(value: object) -> str:
    """A contribution or an error with its sign, one decimal: ``+0.4``, ``−0.3``, ``0.0``."""
    number = finite(value)
    if number is None:
        return "n/a"
    text = f"{number:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text.replace("-", "−")


def fmt_share(value: object) -> str:
    number = finite(value)
    return "—" if number is None else f"{number:.0%}"


def interval_text(low: object, high: object) -> str | None:
    """``5.9–7.6`` when both ends are finite numbers, else None (nothing is shown)."""
    lo, hi = finite(low), finite(high)
    if lo is None or hi is None:
        return None
    return f"{lo:.1f}–{hi:.1f}"


def humanize(key: object) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def star_class(rating: object) -> str:
    """CSS class of the golden part of the five stars: ``w0`` … ``w100`` in steps of 5."""
    number = finite(rating)
    if number is None:
        return "w0"
    percent = min(max(number, 0.0), 10.0) * 10
    return f"w{round(percent / 5) * 5}"


def link_label(film_id: object, imdb_id: object) -> str:
    if valid_imdb_id(imdb_id) is not None:
        return "IMDb page"
    return "TMDB page" if film_url(film_id, None) is not None else ""


def top_contributions(card: FilmCard, limit: int = EXPLANATION_ITEMS) -> list[Any]:
    """The ``limit`` largest contributions by size (finite ones only), largest first."""
    usable = [c for c in card.explanation if finite(c.value) is not None]
    return sorted(usable, key=lambda c: -abs(c.value))[:limit]


@cache
def environment() -> Environment:
    """The Jinja2 environment of the site's templates (built once, on first use)."""
    env = Environment(
        loader=PackageLoader("movie_ratings.site", "templates"),
        autoescape=select_autoescape(("html", "svg"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        rating=fmt_rating, date=fmt_date, datetime=fmt_datetime, number=fmt_number,
        signed=fmt_signed, share=fmt_share, humanize=humanize, stars=star_class,
    )
    env.globals.update(
        CSP=CSP, PLACEHOLDER=PLACEHOLDER, NO_CARDS=NO_CARDS, NO_MONITORING=NO_MONITORING,
        NO_TREND=NO_TREND, NO_MODEL_CARD=NO_MODEL_CARD, NO_COVERAGE=NO_COVERAGE, NO_DRIFT=NO_DRIFT,
        film_url=film_url, film_page=film_page,
        poster_url=poster_url, link_label=link_label, interval_text=interval_text,
        finite=finite, top_contributions=top_contributions,
    )
    return env


def render_page(template: str, data: SiteData, **context: Any) -> str:
    """Render one page template with the frame's context (banner, footer) and ``context``."""
    return environment().get_template(template).render(site=data, **context)


# --- home page ----------------------------------------------------------------------------


def model_version(data: SiteData) -> object:
    """The production model's version: the model card's, else the newest on the cards."""
    version = data.model_card.get("version") if isinstance(data.model_card, Mapping) else None
    if version is None and data.cards:
        version = max(card.model_version for card in data.cards)
    return version


def select_cards(cards: Iterable[FilmCard], limit: int = HOME_CARDS) -> list[FilmCard]:
    """The ``limit`` most recently updated films: ``updated`` descending, then ``id``."""
    return sorted(cards, key=lambda card: (-card.updated.toordinal(), card.id))[:limit]


def card_index(cards: Sequence[FilmCard]) -> list[dict[str, Any]]:
    """What the page's script searches and sorts on, one record per card in page order."""
    return [
        {
            "id": card.id,
            "title": card.title,
            "genres": list(card.genres),
            "rating": finite(card.predicted_rating),
            "release": card.release_date.isoformat() if card.release_date else None,
            "updated": card.updated.isoformat(),
        }
        for card in cards
    ]


def render_index(data: SiteData) -> str:
    """The home page: the most recently updated predicted films as cards."""
    shown = select_cards(data.cards)
    return render_page(
        "index.html", data, shown=shown, version=model_version(data),
        film_index=Markup(json_for_script(card_index(shown))),  # made safe by json_for_script
    )


# --- charts: coordinates here, markup in templates/charts.html ------------------------------


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
    power = 10 ** math.floor(math.log10(value))
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


@dataclass(frozen=True)
class DriftRow:
    """A feature's row of the drift table: against the training films (information) and
    against the films predicted at training time; ``judged`` is what the alert reads."""

    feature: str
    kind: str
    training: FeatureDrift
    baseline: FeatureDrift | None
    judged: FeatureDrift | None

    @property
    def level(self) -> str:
        return self.judged.level if self.judged is not None else INFORMATION


INFORMATION = "information"


def drift_rows(report: DriftReport) -> list[DriftRow]:
    label = report.label
    return [DriftRow(f.feature, f.kind, f, report.baseline_of(f.feature),
                     f if f is label else report.baseline_of(f.feature))
            for f in report.features]


def drift_alert_text(report: DriftReport, judged: Sequence[FeatureDrift]) -> list[str]:
    """``runtime vs films predicted at training time (0.31)``, one per comparison."""
    label = report.label
    return [f"{f.feature} vs {'training ratings' if f is label else 'films predicted at training time'} "
            f"({f.psi:.2f})" for f in judged]


# --- monitoring page ----------------------------------------------------------------------


def monitoring_rows(films: Iterable[MonitoredFilm]) -> list[MonitoredFilm]:
    """Table order: latest prediction date first, then largest error, then id."""
    def key(film: MonitoredFilm) -> tuple[int, float, int]:
        predicted, actual = finite(film.predicted_rating), finite(film.actual_rating)
        error = abs(predicted - actual) if predicted is not None and actual is not None else -1.0
        return (-film.prediction_date.toordinal(), -error, film.id)

    return sorted(films, key=key)


def live_mae(films: Iterable[MonitoredFilm]) -> float | None:
    errors = []
    for film in films:
        predicted, actual = finite(film.predicted_rating), finite(film.actual_rating)
        if predicted is not None and actual is not None:
            errors.append(abs(predicted - actual))
    return sum(errors) / len(errors) if errors else None


def error_text(predicted: object, actual: object) -> str:
    p, a = finite(predicted), finite(actual)
    if p is None or a is None:
        return "n/a"
    text = f"{p - a:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


@dataclass(frozen=True)
class MetricsTable:
    """Rows are metrics (RMSE, MAE, R², MSE first), columns the given metric dicts."""

    id: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]


def metrics_table(table_id: str, columns: Sequence[tuple[str, Mapping[str, Any]]]) -> MetricsTable:
    names: list[str] = [m for m in METRIC_ORDER if any(m in metrics for _, metrics in columns)]
    for _, metrics in columns:
        names.extend(str(k) for k in metrics if str(k) not in names)
    rows = [(METRIC_LABELS.get(name, name), [fmt_number(metrics.get(name)) for _, metrics in columns])
            for name in names]
    return MetricsTable(table_id, [label for label, _ in columns], rows)


def model_card_view(card: object) -> dict[str, Any] | None:
    """What the monitoring page shows of the model card (None: no card was given)."""
    if not isinstance(card, Mapping) or not card:
        return None
    view = card.get("feature_view")
    view_text = f"{view.get('name', '?')} v{view.get('version', '?')}" if isinstance(view, Mapping) else view
    facts = [(label, fmt_number(value)) for label, value in (
        ("name", card.get("name")), ("version", card.get("version")),
        ("trained", card.get("created_at")), ("code commit", card.get("code_commit")),
        ("feature view", view_text), ("feature store commit", card.get("store_commit")),
        ("training data", card.get("source")), ("demo data", card.get("is_demo")),
    ) if value is not None]
    columns: list[tuple[str, Mapping[str, Any]]] = []
    version = card.get("version")
    if isinstance(card.get("metrics"), Mapping):
        columns.append((f"this model (v{version})" if version is not None else "this model", card["metrics"]))
    if isinstance(card.get("baseline"), Mapping):
        columns.append(("baseline: mean rating", card["baseline"]))
    parity = card.get("parity")
    if isinstance(parity, Mapping):
        columns.extend((f"seed parity: {str(k).replace('_', ' ')}", v) for k, v in parity.items()
                       if isinstance(v, Mapping))
    candidates = card.get("candidates")
    cand_columns = ([(str(k), v) for k, v in candidates.items() if isinstance(v, Mapping)]
                    if isinstance(candidates, Mapping) else [])
    split = card.get("split")
    return {
        "facts": facts,
        "metrics": metrics_table("model-metrics", columns) if columns else None,
        "candidates": metrics_table("candidate-metrics", cand_columns) if cand_columns else None,
        "split": [(humanize(k), fmt_number(v)) for k, v in split.items()]
        if isinstance(split, Mapping) and split else None,
        "other": [(humanize(k), fmt_number(v)) for k, v in card.items() if k not in KNOWN_CARD_KEYS],
    }


def coverage_rows(points: Sequence[CoveragePoint]) -> list[CoveragePoint]:
    return sorted((p for p in points if p.films > 0), key=lambda p: (p.prediction_date, p.model_version))


def render_monitoring(data: SiteData, plots: Sequence[PlotFile]) -> str:
    """The monitoring page: live score, predicted vs actual, MAE trend, interval coverage,
    drift, model card, plots."""
    films = data.monitoring
    rows = monitoring_rows(films)
    coverage = coverage_rows(data.coverage)
    covered = sum(p.covered for p in coverage)
    total = sum(p.films for p in coverage)
    drift = data.drift if data.drift is not None and data.drift.features else None
    return render_page(
        "monitoring.html", data, films=films, rows=rows[:MONITORING_TABLE_ROWS], all_rows=len(rows),
        mae=live_mae(films), versions=sorted({f.model_version for f in films}),
        latest=max((f.prediction_date for f in films), default=None),
        scatter=scatter_chart(films) if films else None,
        trend=mae_trend_chart(data.mae_trend) if any(finite(p.mae) is not None for p in data.mae_trend) else None,
        mae_points=sorted(data.mae_trend, key=lambda p: (p.prediction_date, p.model_version)),
        coverage=coverage, coverage_share=covered / total if total else None,
        coverage_chart=coverage_chart(coverage) if coverage else None,
        drift=drift, drift_chart=drift_chart(drift) if drift is not None else None,
        drift_rows=drift_rows(drift) if drift is not None else [],
        drift_alerts=drift_alert_text(drift, drift.alerts) if drift is not None else [],
        drift_watches=drift_alert_text(drift, drift.watches) if drift is not None else [],
        ALERT=ALERT, WATCH=WATCH,
        card=model_card_view(data.model_card), plots=plots, error=error_text,
    )


# --- detail page of a film ----------------------------------------------------------------


@dataclass(frozen=True)
class FilmDetail:
    """One film's detail page: the card it has on the home page (when it has one), the
    prediction it has on the monitoring page (when its real rating is known), its history."""

    id: int
    title: str
    imdb_id: str | None
    card: FilmCard | None
    monitored: MonitoredFilm | None
    history: tuple[PastPrediction, ...]

    @property
    def actual_rating(self) -> float | None:
        if self.monitored is not None:
            return finite(self.monitored.actual_rating)
        return finite(self.card.actual_rating) if self.card is not None else None


def film_details(data: SiteData) -> list[FilmDetail]:
    """A detail page for every film on the home page and in the monitoring table (valid ids
    only: the page's file name is built from the id)."""
    cards = {c.id: c for c in select_cards(data.cards)}
    monitored = {f.id: f for f in monitoring_rows(data.monitoring)[:MONITORING_TABLE_ROWS]}
    details = []
    for film_id in sorted(cards.keys() | monitored.keys()):
        if film_page(film_id) is None:
            continue
        card, seen = cards.get(film_id), monitored.get(film_id)
        source = card if card is not None else seen
        if source is None:
            continue
        history = sorted(data.histories.get(film_id, ()),
                         key=lambda p: (p.prediction_date, p.model_version), reverse=True)
        details.append(FilmDetail(film_id, source.title, source.imdb_id, card, seen, tuple(history)))
    return details


def render_film(data: SiteData, film: FilmDetail) -> str:
    """The detail page of one film: its prediction with interval and explanation, the
    history of its predictions and, once known, its real rating."""
    return render_page("film.html", data, film=film, error=error_text)
