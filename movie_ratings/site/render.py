"""Pure rendering of the site: :class:`SiteData` in, HTML and SVG strings out.

Every string that comes from the dataset or the model card goes through :func:`esc` (text
and attribute values) or :func:`json_for_script` (the JSON block the page's script reads);
URLs are built only by :mod:`movie_ratings.site.data` from values that pass its strict
checks. The pages load nothing but their own ``assets/`` files and TMDB poster images, and
say so in a Content-Security-Policy, so even a missed escape could not run a script.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from movie_ratings.site.data import (
    FilmCard,
    MaePoint,
    MonitoredFilm,
    SiteData,
    film_url,
    poster_url,
    valid_imdb_id,
)

HOME_CARDS = 20
MONITORING_TABLE_ROWS = 500
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


@dataclass(frozen=True)
class PlotFile:
    """A training plot as the monitoring page shows it.

    Attributes:
        name: the plot's name in ``SiteData.plots`` (untrusted text, escaped when shown).
        src: path of the copied image relative to the site root, None when it was missing.
    """

    name: str
    src: str | None


# --- small formatting helpers -------------------------------------------------------------


def esc(value: object) -> str:
    """HTML-escape any value for text or a quoted attribute (None becomes empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


def json_for_script(value: object) -> str:
    """JSON that is safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` are written as ``\\u`` escapes so no ``</script>`` or ``<!--``
    can end the block; U+2028/U+2029 too, for older JavaScript parsers. These characters can
    only occur inside JSON strings, where the escapes mean the same thing.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
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
    """A metric or model-card value as short text (escaped by the caller)."""
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


def link(url: str | None, text: str, *, external: bool = True) -> str:
    """An anchor for a URL from :mod:`movie_ratings.site.data`, or the bare text without one."""
    if url is None:
        return text
    extra = ' rel="noopener noreferrer" target="_blank"' if external else ""
    return f'<a href="{esc(url)}"{extra}>{text}</a>'


def link_label(film_id: object, imdb_id: object) -> str:
    if valid_imdb_id(imdb_id) is not None:
        return "IMDb page"
    return "TMDB page" if film_url(film_id, None) is not None else ""


# --- page frame ---------------------------------------------------------------------------


def page(title: str, current: str, body: str, data: SiteData, *, scripts: bool = False) -> str:
    """A whole HTML page: banner, header with navigation, body, footer."""
    nav = []
    for href, label in (("index.html", "Upcoming films"), ("monitoring.html", "Monitoring")):
        here = ' aria-current="page"' if href == current else ""
        nav.append(f'<a href="{href}"{here}>{label}</a>')
    banner = (
        '<div class="demo-banner" id="demo-banner" role="note"><strong>DEMO DATA</strong>'
        "These films and ratings come from the built-in simulator, not from TMDB or IMDb.</div>\n"
        if data.is_demo
        else ""
    )
    demo = " (DEMO DATA)" if data.is_demo else ""
    footer = (
        f"Built {esc(fmt_datetime(data.generated_at))} from the {esc(data.source)} snapshot of "
        f"{esc(data.snapshot_date.isoformat())}{demo}, feature store commit {esc(data.store_commit)}. "
        "Posters and links: TMDB and IMDb."
    )
    script = '<script src="assets/site.js"></script>\n' if scripts else ""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{esc(title)} · movie-ratings</title>\n"
        '<link rel="stylesheet" href="assets/site.css">\n</head>\n<body>\n'
        f"{banner}"
        f'<header class="site"><h1>movie-ratings</h1><nav>{"".join(nav)}</nav></header>\n'
        f"<main>\n{body}\n</main>\n"
        f'<footer class="site"><p>{footer}</p></footer>\n'
        f"{script}</body>\n</html>\n"
    )


def model_version(data: SiteData) -> object:
    """The production model's version: the model card's, else the newest on the cards."""
    version = data.model_card.get("version") if isinstance(data.model_card, Mapping) else None
    if version is None and data.cards:
        version = max(card.model_version for card in data.cards)
    return version


# --- home page ----------------------------------------------------------------------------


def select_cards(cards: Iterable[FilmCard], limit: int = HOME_CARDS) -> list[FilmCard]:
    """The ``limit`` most recently updated films: ``updated`` descending, then ``id``."""
    return sorted(cards, key=lambda card: (-card.updated.toordinal(), card.id))[:limit]


def render_card(card: FilmCard, index: int) -> str:
    """One film card; ``index`` is its position on the page (what the script sorts by)."""
    url = film_url(card.id, card.imdb_id)
    title = esc(card.title)
    poster = poster_url(card.poster_path)
    if poster is None:
        image = (f'<img class="poster is-placeholder" src="{PLACEHOLDER}" alt="No poster" '
                 'width="342" height="513">')
    else:
        image = (f'<img class="poster" src="{esc(poster)}" data-placeholder="{PLACEHOLDER}" '
                 f'alt="Poster of {title}" width="342" height="513">')
    release = (
        f'<time datetime="{card.release_date.isoformat()}">{fmt_date(card.release_date)}</time>'
        if card.release_date is not None
        else "release date unknown"
    )
    genres = "".join(f'<span class="genre">{esc(genre)}</span>' for genre in card.genres)
    rating = fmt_rating(card.predicted_rating)
    overview = f'<p class="overview">{esc(card.overview)}</p>' if card.overview else ""
    label = link_label(card.id, card.imdb_id)
    film_link = link(url, f"{label} ↗") if url is not None else "no valid link"
    return (
        f'<li class="card" data-index="{index}">'
        f"{link(url, image)}"
        '<div class="card-body">'
        f'<h2 class="title">{link(url, title)}</h2>'
        f'<p class="meta">{release} · <span class="status">{esc(card.status)}</span></p>'
        f'<p class="genres">{genres or "no genre listed"}</p>'
        f'<p class="rating"><span class="stars {star_class(card.predicted_rating)}" role="img" '
        f'aria-label="predicted {rating} out of 10"></span><strong class="predicted">{rating}</strong>'
        '<span class="of">/10</span></p>'
        f'<p class="meta">predicted by model v{esc(card.model_version)} · updated {fmt_date(card.updated)}</p>'
        f"{overview}"
        f'<p class="film-link">{film_link}</p>'
        "</div></li>"
    )


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
    version = model_version(data)
    model = f"model v{esc(version)}" if version is not None else "the production model"
    lead = (
        f'<p class="lead">The {len(shown)} most recently updated upcoming or newly released films '
        f"of {len(data.cards):,} predicted, with the IMDb rating {model} expects for each. "
        f"Snapshot of {esc(data.snapshot_date.isoformat())}.</p>"
    )
    if not shown:
        body = f'<h2>Upcoming films</h2>\n{lead}\n<p class="empty" id="no-cards">{NO_CARDS}</p>'
        return page("Upcoming films", "index.html", body, data)
    cards = "\n".join(render_card(card, index) for index, card in enumerate(shown))
    controls = (
        '<div class="controls">'
        '<label>Search <input type="search" id="search" placeholder="title or genre" '
        'autocomplete="off"></label>'
        '<label>Sort by <select id="sort">'
        '<option value="updated">recently updated</option>'
        '<option value="rating">predicted rating</option>'
        '<option value="release">release date (latest first)</option>'
        '<option value="title">title</option>'
        "</select></label>"
        f'<span id="count" aria-live="polite">{len(shown)} films</span>'
        "</div>"
        "<noscript><p class=\"note\">Search and sort need JavaScript; the films are listed by "
        "most recent update.</p></noscript>"
    )
    body = (
        f"<h2>Upcoming films</h2>\n{lead}\n{controls}\n"
        f'<ol class="cards" id="cards">\n{cards}\n</ol>\n'
        '<p class="empty" id="no-match" hidden>No film matches the search.</p>\n'
        f'<script type="application/json" id="film-index">{json_for_script(card_index(shown))}</script>'
    )
    return page("Upcoming films", "index.html", body, data, scripts=True)


# --- charts -------------------------------------------------------------------------------


def version_colors(versions: Iterable[Any]) -> dict[Any, str]:
    ordered = sorted(set(versions))
    return {version: PALETTE[i % len(PALETTE)] for i, version in enumerate(ordered)}


def legend(colors: Mapping[object, str], x: float, y: float) -> str:
    items = []
    for i, (version, color) in enumerate(colors.items()):
        ty = y + i * 16
        items.append(
            f'<rect x="{x}" y="{ty - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{ty}">model v{esc(version)}</text>'
        )
    return "".join(items)


def scatter_svg(films: Sequence[MonitoredFilm]) -> str:
    """Predicted (y) against actual (x) rating, one dot per film, dashed line where equal."""
    width, height, left, right, top, bottom = 520, 420, 52, 110, 16, 46
    lo, hi = 1.0, 10.0

    def sx(v: float) -> float:
        return round(left + (min(max(v, lo), hi) - lo) / (hi - lo) * (width - left - right), 1)

    def sy(v: float) -> float:
        return round(height - bottom - (min(max(v, lo), hi) - lo) / (hi - lo) * (height - top - bottom), 1)

    parts = [f'<svg class="chart" id="scatter" viewBox="0 0 {width} {height}" role="img" '
             'aria-labelledby="scatter-title"><title id="scatter-title">Predicted against actual '
             'IMDb rating</title>']
    for tick in range(1, 11):
        parts.append(f'<line class="grid" x1="{sx(tick)}" y1="{sy(lo)}" x2="{sx(tick)}" y2="{sy(hi)}"/>'
                     f'<line class="grid" x1="{sx(lo)}" y1="{sy(tick)}" x2="{sx(hi)}" y2="{sy(tick)}"/>'
                     f'<text x="{sx(tick)}" y="{sy(lo) + 16}" text-anchor="middle">{tick}</text>'
                     f'<text x="{sx(lo) - 8}" y="{sy(tick) + 4}" text-anchor="end">{tick}</text>')
    parts.append(f'<line class="axis" x1="{sx(lo)}" y1="{sy(lo)}" x2="{sx(hi)}" y2="{sy(lo)}"/>'
                 f'<line class="axis" x1="{sx(lo)}" y1="{sy(lo)}" x2="{sx(lo)}" y2="{sy(hi)}"/>'
                 f'<line class="diagonal" x1="{sx(lo)}" y1="{sy(lo)}" x2="{sx(hi)}" y2="{sy(hi)}"/>'
                 f'<text class="label" x="{(sx(lo) + sx(hi)) / 2}" y="{height - 8}" '
                 'text-anchor="middle">actual IMDb rating</text>'
                 f'<text class="label" x="14" y="{(sy(lo) + sy(hi)) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(sy(lo) + sy(hi)) / 2})">predicted rating</text>')
    colors = version_colors(film.model_version for film in films)
    for film in films:
        predicted, actual = finite(film.predicted_rating), finite(film.actual_rating)
        if predicted is None or actual is None:
            continue
        tip = (f"{film.title}: predicted {predicted:.1f}, actual {actual:.1f} "
               f"(model v{film.model_version}, {film.prediction_date.isoformat()})")
        parts.append(f'<circle class="point" cx="{sx(actual)}" cy="{sy(predicted)}" r="3.5" '
                     f'fill="{colors[film.model_version]}" fill-opacity="0.75">'
                     f"<title>{esc(tip)}</title></circle>")
    parts.append(legend(colors, width - right + 14, top + 12))
    parts.append("</svg>")
    return "".join(parts)


def nice_ceiling(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def mae_trend_svg(points: Sequence[MaePoint]) -> str:
    """Live MAE by prediction date, one line per model version."""
    width, height, left, right, top, bottom = 640, 320, 52, 110, 16, 46
    usable = [p for p in points if finite(p.mae) is not None]
    days = sorted({p.prediction_date for p in usable})
    first, last = days[0].toordinal(), days[-1].toordinal()
    y_max = nice_ceiling(max(p.mae for p in usable) * 1.1)

    def sx(day: date) -> float:
        if first == last:
            return round((left + width - right) / 2, 1)
        return round(left + (day.toordinal() - first) / (last - first) * (width - left - right), 1)

    def sy(v: float) -> float:
        return round(height - bottom - v / y_max * (height - top - bottom), 1)

    parts = [f'<svg class="chart" id="mae-trend" viewBox="0 0 {width} {height}" role="img" '
             'aria-labelledby="mae-title"><title id="mae-title">Live mean absolute error by '
             'prediction date and model version</title>']
    for i in range(6):
        v = y_max * i / 5
        parts.append(f'<line class="grid" x1="{left}" y1="{sy(v)}" x2="{width - right}" y2="{sy(v)}"/>'
                     f'<text x="{left - 8}" y="{sy(v) + 4}" text-anchor="end">{v:.2f}</text>')
    ticks: list[date] = []
    for day in days:  # labels at least 80 px apart, the last date always labelled
        if not ticks or sx(day) - sx(ticks[-1]) >= 80:
            ticks.append(day)
    if ticks[-1] != days[-1]:
        if len(ticks) > 1 and sx(days[-1]) - sx(ticks[-1]) < 80:
            ticks[-1] = days[-1]
        else:
            ticks.append(days[-1])
    for day in ticks:
        parts.append(f'<text x="{sx(day)}" y="{height - bottom + 16}" text-anchor="middle">'
                     f"{day.isoformat()}</text>")
    parts.append(f'<line class="axis" x1="{left}" y1="{sy(0)}" x2="{width - right}" y2="{sy(0)}"/>'
                 f'<line class="axis" x1="{left}" y1="{sy(0)}" x2="{left}" y2="{sy(y_max)}"/>'
                 f'<text class="label" x="{(left + width - right) / 2}" y="{height - 8}" '
                 'text-anchor="middle">prediction date</text>'
                 f'<text class="label" x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {(top + height - bottom) / 2})">MAE</text>')
    colors = version_colors(p.model_version for p in usable)
    for version, color in colors.items():
        line = sorted((p for p in usable if p.model_version == version), key=lambda p: p.prediction_date)
        coords = " ".join(f"{sx(p.prediction_date)},{sy(p.mae)}" for p in line)
        parts.append(f'<polyline class="trend" data-version="{esc(version)}" points="{coords}" '
                     f'fill="none" stroke="{color}" stroke-width="2"/>')
        for p in line:
            tip = f"model v{p.model_version}, {p.prediction_date.isoformat()}: MAE {p.mae:.3f} over {p.films} films"
            parts.append(f'<circle cx="{sx(p.prediction_date)}" cy="{sy(p.mae)}" r="3.5" fill="{color}">'
                         f"<title>{esc(tip)}</title></circle>")
    parts.append(legend(colors, width - right + 14, top + 12))
    parts.append("</svg>")
    return "".join(parts)


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


def render_monitoring_table(films: Sequence[MonitoredFilm]) -> str:
    rows = monitoring_rows(films)
    shown = rows[:MONITORING_TABLE_ROWS]
    body = []
    for film in shown:
        predicted, actual = finite(film.predicted_rating), finite(film.actual_rating)
        error = "n/a" if predicted is None or actual is None else f"{predicted - actual:+.1f}"
        error = "0.0" if error in ("+0.0", "-0.0") else error
        votes = finite(film.imdb_votes)
        body.append(
            "<tr>"
            f"<td>{link(film_url(film.id, film.imdb_id), esc(film.title))}</td>"
            f"<td>{film.prediction_date.isoformat()}</td>"
            f'<td class="num">v{esc(film.model_version)}</td>'
            f'<td class="num">{fmt_rating(predicted)}</td>'
            f'<td class="num">{fmt_rating(actual)}</td>'
            f'<td class="num">{error}</td>'
            f'<td class="num">{"—" if votes is None else f"{votes:,.0f}"}</td>'
            "</tr>"
        )
    note = (f'<p class="note">Showing {len(shown):,} of {len(rows):,} films: the latest predictions '
            "first.</p>" if len(rows) > len(shown) else "")
    return (
        f'{note}<div class="table-scroll"><table id="predicted-vs-actual"><thead><tr>'
        '<th>film</th><th>predicted on</th><th class="num">model</th><th class="num">predicted</th>'
        '<th class="num">actual</th><th class="num">error</th><th class="num">IMDb votes</th>'
        f'</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    )


def render_mae_table(points: Sequence[MaePoint]) -> str:
    rows = sorted(points, key=lambda p: (p.prediction_date, p.model_version))
    body = "".join(
        f"<tr><td>{p.prediction_date.isoformat()}</td><td class=\"num\">v{esc(p.model_version)}</td>"
        f'<td class="num">{esc(p.films)}</td><td class="num">{fmt_number(finite(p.mae))}</td></tr>'
        for p in rows
    )
    return ('<div class="table-scroll"><table id="mae-table"><thead><tr><th>predicted on</th>'
            '<th class="num">model</th><th class="num">films with a real rating</th>'
            f'<th class="num">MAE</th></tr></thead><tbody>{body}</tbody></table></div>')


def metrics_table(table_id: str, columns: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Rows are metrics (RMSE, MAE, R², MSE first), columns the given metric dicts."""
    names: list[str] = [m for m in METRIC_ORDER if any(m in metrics for _, metrics in columns)]
    for _, metrics in columns:
        names.extend(str(k) for k in metrics if str(k) not in names)
    head = "".join(f'<th class="num">{esc(label)}</th>' for label, _ in columns)
    rows = []
    for name in names:
        cells = "".join(
            f'<td class="num">{esc(fmt_number(metrics.get(name)))}</td>' for _, metrics in columns
        )
        rows.append(f"<tr><th>{esc(METRIC_LABELS.get(name, name))}</th>{cells}</tr>")
    return (f'<table class="metrics" id="{table_id}"><thead><tr><th>metric</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def key_value_table(table_id: str, values: Mapping[Any, Any]) -> str:
    rows = "".join(
        f"<tr><th>{esc(humanize(key))}</th><td>{esc(fmt_number(value))}</td></tr>"
        for key, value in values.items()
    )
    return f'<table id="{table_id}"><tbody>{rows}</tbody></table>'


KNOWN_CARD_KEYS = {"name", "version", "created_at", "metrics", "baseline", "parity", "candidates",
                   "split", "feature_view", "store_commit", "source", "is_demo", "code_commit"}


def render_model_card(card: object) -> str:
    """The production model card: facts, our metrics beside the baseline's and the
    seed-parity models', the candidates, the split, and any other keys as a table."""
    if not isinstance(card, Mapping) or not card:
        return f'<p class="empty" id="no-model-card">{NO_MODEL_CARD}</p>'
    facts = []
    view = card.get("feature_view")
    view_text: str | None
    if isinstance(view, Mapping):
        view_text = f"{view.get('name', '?')} v{view.get('version', '?')}"
    else:
        view_text = view
    for label, value in (("name", card.get("name")), ("version", card.get("version")),
                         ("trained", card.get("created_at")), ("code commit", card.get("code_commit")),
                         ("feature view", view_text), ("feature store commit", card.get("store_commit")),
                         ("training data", card.get("source")),
                         ("demo data", card.get("is_demo"))):
        if value is not None:
            facts.append(f"<dt>{label}</dt><dd>{esc(fmt_number(value))}</dd>")
    parts = [f'<dl class="card-facts">{"".join(facts)}</dl>'] if facts else []

    columns: list[tuple[str, Mapping[str, Any]]] = []
    version = card.get("version")
    if isinstance(card.get("metrics"), Mapping):
        columns.append((f"this model (v{version})" if version is not None else "this model",
                        card["metrics"]))
    if isinstance(card.get("baseline"), Mapping):
        columns.append(("baseline: mean rating", card["baseline"]))
    parity = card.get("parity")
    if isinstance(parity, Mapping):
        columns.extend((f"seed parity: {str(k).replace('_', ' ')}", v) for k, v in parity.items()
                       if isinstance(v, Mapping))
    if columns:
        parts.append("<h3>Test metrics</h3>" + metrics_table("model-metrics", columns))
    else:
        parts.append('<p class="note">The model card has no metrics.</p>')
    candidates = card.get("candidates")
    if isinstance(candidates, Mapping):
        cand_columns = [(str(k), v) for k, v in candidates.items() if isinstance(v, Mapping)]
        if cand_columns:
            parts.append("<h3>Candidates</h3>" + metrics_table("candidate-metrics", cand_columns))
    if isinstance(card.get("split"), Mapping) and card["split"]:
        parts.append("<h3>Split</h3>" + key_value_table("model-split", card["split"]))
    others = {k: v for k, v in card.items() if k not in KNOWN_CARD_KEYS}
    if others:
        parts.append("<h3>Other details</h3>" + key_value_table("model-other", others))
    return "\n".join(parts)


def render_plots(plots: Sequence[PlotFile]) -> str:
    if not plots:
        return '<p class="note">No training plots were given to this build.</p>'
    figures = []
    for plot in plots:
        caption = esc(humanize(plot.name))
        if plot.src is None:
            figures.append(f'<figure><p class="empty">plot not available</p>'
                           f"<figcaption>{caption}</figcaption></figure>")
        else:
            figures.append(f'<figure><img src="{esc(plot.src)}" alt="{caption}">'
                           f"<figcaption>{caption}</figcaption></figure>")
    return f'<div class="charts plots">{"".join(figures)}</div>'


def render_monitoring(data: SiteData, plots: Sequence[PlotFile]) -> str:
    """The monitoring page: live score, predicted vs actual, MAE trend, model card, plots."""
    films = data.monitoring
    mae = live_mae(films)
    versions = sorted({f.model_version for f in films})
    latest = max((f.prediction_date for f in films), default=None)
    summary = (
        '<div class="summary">'
        f'<div><b id="live-films">{len(films):,}</b><span>predicted films with a real rating</span></div>'
        f'<div><b id="live-mae">{"—" if mae is None else f"{mae:.2f}"}</b><span>live MAE</span></div>'
        f'<div><b>{esc(", ".join(f"v{v}" for v in versions) or "—")}</b><span>model versions</span></div>'
        f'<div><b>{latest.isoformat() if latest else "—"}</b><span>latest prediction date</span></div>'
        "</div>"
    )
    if films:
        versus = (f'<div class="charts"><figure>{scatter_svg(films)}<figcaption>Each dot is a film; '
                  "dots on the dashed line were predicted exactly.</figcaption></figure></div>"
                  f"{render_monitoring_table(films)}")
    else:
        versus = f'<p class="empty" id="no-monitoring">{NO_MONITORING}</p>'
    if any(finite(p.mae) is not None for p in data.mae_trend):
        trend = f"<figure>{mae_trend_svg(data.mae_trend)}</figure>{render_mae_table(data.mae_trend)}"
    else:
        trend = f'<p class="empty" id="no-trend">{NO_TREND}</p>'
    body = (
        "<h2>Monitoring</h2>\n"
        '<p class="lead">How the predictions hold up: films we predicted before their release '
        "that now have a real IMDb rating.</p>\n"
        f'<section class="block" id="live"><h2>Live score</h2>{summary}</section>\n'
        f'<section class="block" id="versus"><h2>Predicted vs actual</h2>{versus}</section>\n'
        f'<section class="block" id="trend"><h2>Error over time</h2>{trend}</section>\n'
        f'<section class="block" id="model"><h2>Production model</h2>'
        f"{render_model_card(data.model_card)}"
        f"<h3>Training plots</h3>{render_plots(plots)}</section>"
    )
    return page("Monitoring", "monitoring.html", body, data)
