"""Rendering of the site: :class:`SiteData` in, HTML pages out, through Jinja2 templates.

The pages are the templates under ``templates/``, rendered with autoescaping on: every value
from the dataset or the model card is escaped unless a template marks it otherwise, and only
one value is marked: the JSON block the home page's script reads, made safe by
:func:`~movie_ratings.site.filters.json_for_script`. This module and its helpers only
prepare what the templates show (selection and order here, formatting in
:mod:`~movie_ratings.site.filters`, chart coordinates in :mod:`~movie_ratings.site.charts`);
they build no markup. URLs are built only by
:mod:`movie_ratings.site.data` from values that pass its strict checks. The pages load
nothing but their own ``assets/`` files and TMDB poster images, and say so in a
Content-Security-Policy, so even a missed escape could not run a script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from movie_ratings.monitoring.drift import ALERT, WATCH, DriftReport, FeatureDrift
from movie_ratings.site.charts import coverage_chart, drift_chart, mae_trend_chart, scatter_chart
from movie_ratings.site.data import (
    CoveragePoint,
    FilmCard,
    MonitoredFilm,
    PastPrediction,
    SiteData,
    film_page,
    film_url,
    poster_url,
)
from movie_ratings.site.filters import (
    finite,
    fmt_date,
    fmt_datetime,
    fmt_number,
    fmt_rating,
    fmt_share,
    fmt_signed,
    humanize,
    interval_text,
    json_for_script,
    link_label,
    star_class,
    top_contributions,
)

HOME_CARDS = 20
MONITORING_TABLE_ROWS = 500
PLACEHOLDER = "assets/placeholder.svg"
CSP = (
    "default-src 'none'; img-src 'self' https://image.tmdb.org; style-src 'self'; "
    "script-src 'self'; base-uri 'none'; form-action 'none'"
)
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
