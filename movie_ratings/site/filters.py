"""Formatting of values for the site's templates: the Jinja2 filters and helper globals
(escaped by the templates, except :func:`json_for_script`, which is made safe here)."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from typing import Any

from movie_ratings.site.data import FilmCard, film_url, valid_imdb_id

#: Contributions shown per film: the largest by size.
EXPLANATION_ITEMS = 5


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
