"""What the site shows: the input contract of :func:`movie_ratings.site.build_site`.

The inference flow fills these dataclasses; the renderer trusts none of their strings (they
come from a user-contributed dataset) and builds URLs only from values that pass the strict
checks below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from movie_ratings.modeling.card import ModelCard
from movie_ratings.monitoring.drift import DriftReport

# fullmatch with explicit ASCII classes: `\d` would also accept other scripts' digits and
# `$` a trailing newline.
IMDB_ID = re.compile(r"tt[0-9]{7,10}")
POSTER_PATH = re.compile(r"/[A-Za-z0-9_-]+\.(?:jpg|jpeg|png|webp)")
POSTER_BASE = "https://image.tmdb.org/t/p/w342"
IMDB_TITLE = "https://www.imdb.com/title/{imdb_id}/"
TMDB_MOVIE = "https://www.themoviedb.org/movie/{id}"
#: A film's detail page, relative to the site root (only for a valid TMDB id).
FILM_PAGE = "film-{id}.html"


@dataclass(frozen=True)
class Contribution:
    """One part of a prediction's explanation, in words a person knows.

    Attributes:
        label: what it is about, e.g. ``genre Horror`` (untrusted text: may hold a name).
        value: what it adds to the predicted rating (negative: takes away).
    """

    label: str
    value: float


@dataclass(frozen=True)
class PastPrediction:
    """One prediction of a film in the predictions history.

    Attributes:
        prediction_date: when it was made.
        model_version: the model version that made it.
        predicted_rating: the predicted rating.
        rating_low: lower end of its 80% interval, None when the model had no calibration.
        rating_high: upper end of its 80% interval, None when the model had no calibration.
    """

    prediction_date: date
    model_version: int
    predicted_rating: float
    rating_low: float | None = None
    rating_high: float | None = None


@dataclass(frozen=True)
class CoveragePoint:
    """How often one model version's 80% intervals of one date held the real rating.

    Attributes:
        prediction_date: date the predictions were made.
        model_version: model version.
        films: films of that date and version with an interval and a known real rating.
        covered: how many of them had the real rating inside the interval.
    """

    prediction_date: date
    model_version: int
    films: int
    covered: int


@dataclass(frozen=True)
class FilmCard:
    """One predicted upcoming or newly released film (a card on the home page).

    Attributes:
        id: TMDB id.
        title: title as in the dataset (untrusted text).
        release_date: release date, None when unknown.
        status: TMDB status, e.g. ``Post Production``.
        genres: genre names.
        predicted_rating: predicted IMDb rating (1–10).
        model_version: version of the model that predicted it.
        imdb_id: IMDb id; only a valid ``tt`` id builds a link.
        poster_path: TMDB poster path; only a strict ``/name.jpg`` path builds an image URL.
        updated: snapshot date of the film's latest change (the home page's sort key).
        overview: plot summary (untrusted text).
        rating_low: lower end of the 80% interval, None without interval calibration.
        rating_high: upper end of the 80% interval, None without interval calibration.
        explanation: the largest contributions to the prediction, largest first (may be empty).
        actual_rating: the real IMDb rating when the film already has one.
    """

    id: int
    title: str
    release_date: date | None
    status: str
    genres: tuple[str, ...]
    predicted_rating: float
    model_version: int
    imdb_id: str | None
    poster_path: str | None
    updated: date
    overview: str | None = None
    rating_low: float | None = None
    rating_high: float | None = None
    explanation: tuple[Contribution, ...] = ()
    actual_rating: float | None = None


@dataclass(frozen=True)
class MonitoredFilm:
    """A film predicted before its release whose real rating is now known.

    Attributes:
        id: TMDB id.
        title: title (untrusted text).
        imdb_id: IMDb id; only a valid one builds a link.
        prediction_date: when the prediction was made.
        model_version: version of the model that made it.
        predicted_rating: what we predicted.
        actual_rating: the real IMDb rating.
        imdb_votes: votes behind the real rating, when known.
        rating_low: lower end of the prediction's 80% interval, when it had one.
        rating_high: upper end of the prediction's 80% interval, when it had one.
    """

    id: int
    title: str
    imdb_id: str | None
    prediction_date: date
    model_version: int
    predicted_rating: float
    actual_rating: float
    imdb_votes: float | None
    rating_low: float | None = None
    rating_high: float | None = None


@dataclass(frozen=True)
class MaePoint:
    """Live error of one model version over the films it predicted on one date.

    Attributes:
        prediction_date: date the predictions were made.
        model_version: model version.
        films: films of that date and version whose real rating is known.
        mae: mean absolute error over them.
    """

    prediction_date: date
    model_version: int
    films: int
    mae: float


@dataclass(frozen=True)
class SiteData:
    """Everything one build of the site shows.

    Attributes:
        generated_at: when the inference run built it.
        snapshot_date: date of the snapshot the predictions come from.
        source: data source name (``demo``, ``csv``, ``kaggle``).
        is_demo: True for the demo feed: every page then carries a DEMO DATA banner.
        store_commit: feature store commit the predictions read.
        model_card: the production model card as display JSON (:func:`site_model_card`;
            any key may be missing).
        cards: predicted films; the home page shows the 20 most recently updated.
        monitoring: predicted films whose real rating is now known.
        mae_trend: live MAE by prediction date and model version.
        plots: training images to copy and show, by name (e.g. ``residuals``).
        histories: per film id, its predictions in the history (for the film's detail page).
        coverage: how often past 80% intervals held the real rating, by date and model version.
        drift: this run's drift report (films predicted against the training rows), if any.
    """

    generated_at: datetime
    snapshot_date: date
    source: str
    is_demo: bool
    store_commit: int
    model_card: dict[str, Any]
    cards: tuple[FilmCard, ...]
    monitoring: tuple[MonitoredFilm, ...]
    mae_trend: tuple[MaePoint, ...]
    plots: dict[str, Path] = field(default_factory=dict)
    histories: dict[int, tuple[PastPrediction, ...]] = field(default_factory=dict)
    coverage: tuple[CoveragePoint, ...] = ()
    drift: DriftReport | None = None


def valid_imdb_id(value: object) -> str | None:
    """The IMDb id when it is exactly ``tt`` and 7–10 ASCII digits, else None."""
    if isinstance(value, str) and IMDB_ID.fullmatch(value):
        return value
    return None


def valid_tmdb_id(value: object) -> int | None:
    """The TMDB id when it is a positive int (not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def poster_url(poster_path: object) -> str | None:
    """TMDB image URL of a poster, only for a strict ``/name.ext`` path."""
    if isinstance(poster_path, str) and POSTER_PATH.fullmatch(poster_path):
        return POSTER_BASE + poster_path
    return None


def film_url(film_id: object, imdb_id: object) -> str | None:
    """The IMDb page for a valid IMDb id, else the TMDB page for a valid id, else None."""
    imdb = valid_imdb_id(imdb_id)
    if imdb is not None:
        return IMDB_TITLE.format(imdb_id=imdb)
    tmdb = valid_tmdb_id(film_id)
    if tmdb is not None:
        return TMDB_MOVIE.format(id=tmdb)
    return None


def film_page(film_id: object) -> str | None:
    """The file name of a film's detail page, only for a valid TMDB id."""
    tmdb = valid_tmdb_id(film_id)
    return None if tmdb is None else FILM_PAGE.format(id=tmdb)


def site_model_card(card: ModelCard | None) -> dict[str, Any]:
    """The production model card as the site shows it (JSON; empty without a model).

    Comparisons that could not be computed and candidates that failed keep their reason in
    place of metrics; empty fields are left out; the refit is one sentence.
    """
    if card is None:
        return {}
    shown = {k: v for k, v in card.to_json().items() if v not in (None, {}, [])}
    shown["parity"] = {
        name: (comparison.model_dump(mode="json", exclude_none=True) if comparison.computable
               else {"note": comparison.rmse_text()})
        for name, comparison in card.parity.items()
    }
    if card.baseline is not None:
        shown["baseline"] = (card.baseline.model_dump(mode="json", exclude_none=True) if card.baseline.computable
                             else {"note": card.baseline.rmse_text()})
    shown["candidates"] = {
        name: (score.model_dump(mode="json", exclude_none=True, exclude={"status", "error"})
               if score.status == "ok" else {"note": f"failed: {score.error}"})
        for name, score in card.candidates.items()
    }
    if card.refit is not None:
        shown["refit"] = (f"production model refitted with the chosen recipe on all "
                          f"{card.refit.films:,} labelled films; the test metrics are the selection fit's")
    if card.recipe is not None:
        rounds = f", {card.recipe.rounds} rounds" if card.recipe.rounds else ""
        shown["recipe"] = f"{card.recipe.estimator} {card.recipe.params or ''}{rounds}".replace("  ", " ")
    if card.tuning is not None:
        shown["tuning"] = card.tuning.describe()
    return {k: v for k, v in shown.items() if v not in ({}, [])}
