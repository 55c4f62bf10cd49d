"""The hidden function behind every simulated film's final IMDb rating."""

from __future__ import annotations

import re

import numpy as np

from movie_ratings import schema
from movie_ratings.sources.demo.vocabulary import LANGUAGES


def hidden_rating(
    *,
    genre_idx: np.ndarray,
    genre_rows: np.ndarray,
    language_idx: np.ndarray,
    director_q: np.ndarray,
    cast_q: np.ndarray,
    writer_q: np.ndarray,
    company_q: np.ndarray,
    runtime: np.ndarray,
    budget: np.ndarray,
    year: np.ndarray,
    overview_parts: list[tuple[tuple[str, ...], np.ndarray, np.ndarray]],
    noise: np.ndarray,
) -> np.ndarray:
    """The hidden function behind every film's final IMDb rating.

    ``clip(base + effects + noise, 1, 10)`` rounded to one decimal. Effects, each zero
    when the input is unknown: genres (summed), the mean latent quality of the
    directors, writers and production companies, the billing-weighted mean quality of
    the cast, the original language, runtime (non-linear), budget (weak), release year
    (older films are rated higher) and a few overview words. A model only sees names
    and texts, so it must learn the latent qualities from a person's other films.

    Args:
        genre_idx: genre of each listed genre, as an index into ``schema.GENRES``.
        genre_rows: film index of each listed genre.
        language_idx: index of each film's original language into ``LANGUAGES``.
        director_q: mean latent quality of each film's directors (0 when none).
        cast_q: billing-weighted mean latent quality of the cast (0 when none).
        writer_q: mean latent quality of the writers (0 when none).
        company_q: mean latent quality of the production companies (0 when none).
        runtime: runtime in minutes, 0 when unknown.
        budget: budget in USD, 0 when unknown.
        year: release year, NaN when unknown.
        overview_parts: ``(phrases, phrase index, film index)`` of every phrase used in
            the overviews.
        noise: per-film noise (standard deviation ~0.6).

    Returns:
        The final IMDb rating of each film.
    """
    n = len(noise)
    genre_effect = {
        "Action": -0.25, "Adventure": 0.0, "Animation": 0.6, "Comedy": -0.1, "Crime": 0.2,
        "Documentary": 1.1, "Drama": 0.4, "Family": -0.1, "Fantasy": -0.05, "History": 0.6,
        "Horror": -1.0, "Music": 0.3, "Mystery": 0.05, "Romance": 0.0,
        "Science Fiction": -0.2, "TV Movie": -0.45, "Thriller": -0.25, "War": 0.45,
        "Western": 0.1,
    }  # fmt: skip
    by_genre = np.array([genre_effect[name] for name in schema.GENRES])
    genres = np.bincount(genre_rows, weights=by_genre[genre_idx], minlength=n)
    language_effect = {
        "en": -0.15, "fr": 0.1, "es": 0.0, "ja": 0.35, "de": 0.05, "it": 0.15, "ko": 0.3,
        "zh": 0.0, "hi": 0.55, "pt": 0.1, "ru": 0.05, "sv": 0.15, "nl": -0.05, "tr": 0.45,
        "da": 0.15, "pl": 0.1, "cs": 0.2, "fi": 0.0, "no": 0.0, "fa": 0.5, "ar": 0.1,
        "ta": 0.5, "te": 0.35, "ml": 0.6, "el": 0.05, "hu": 0.15, "th": -0.1, "tl": -0.1,
        "id": -0.2, "cn": 0.1, "he": 0.2, "ro": 0.2,
    }  # fmt: skip
    language = np.array([language_effect[code] for code, _, _, _ in LANGUAGES])[language_idx]
    runtime_effect = np.where(
        runtime > 0,
        np.interp(
            runtime,
            [1, 40, 60, 80, 100, 130, 160, 240],
            [0.3, 0.2, -0.3, -0.2, 0.0, 0.25, 0.35, 0.2],
        ),
        0.0,
    )
    budget_effect = np.where(
        budget > 0, np.clip(0.1 * (np.log10(np.maximum(budget, 1)) - 6.5), -0.2, 0.2), 0.0
    )
    year_effect = np.where(
        np.isnan(year), 0.0, np.clip(-0.008 * (np.nan_to_num(year) - 1995), -0.3, 0.5)
    )
    word_effect = {
        "haunted": -0.35, "zombie": -0.45, "curse": -0.2, "cursed": -0.25, "killer": -0.15,
        "masked": -0.2, "demon": -0.3, "alien": -0.1, "virus": -0.15, "teenagers": -0.2,
        "cheerleader": -0.25, "sequel": -0.3, "heist": 0.05, "documentary": 0.4,
        "documents": 0.3, "true": 0.2, "real": 0.15, "war": 0.2, "holocaust": 0.45,
        "dictator": 0.25, "courage": 0.15, "musician": 0.15, "music": 0.15, "painter": 0.2,
        "family": 0.05, "memory": 0.1, "grieving": 0.15,
    }  # fmt: skip
    text = np.zeros(n)
    for phrases, index, rows in overview_parts:
        effects = np.array(
            [
                sum(word_effect.get(w, 0.0) for w in re.findall(r"[a-z]+", p.lower()))
                for p in phrases
            ]
        )
        text += np.bincount(rows, weights=effects[index], minlength=n)
    text = np.clip(text, -0.8, 0.8)
    raw = (
        6.1
        + genres
        + language
        + 0.6 * director_q
        + 0.55 * cast_q
        + 0.3 * writer_q
        + 0.25 * company_q
        + runtime_effect
        + budget_effect
        + year_effect
        + text
        + noise
    )
    return np.round(np.clip(raw, 1.0, 10.0), 1)
