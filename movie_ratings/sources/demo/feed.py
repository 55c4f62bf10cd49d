"""The daily feed: every film created up to a day, and its rows on that day with the
day's churn of popularity and votes."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings import schema
from movie_ratings.sources.demo.films import (
    DEMO_EPOCH,
    IN_PRODUCTION_FROM,
    NEVER,
    POST_PRODUCTION_FROM,
    RAMP_DAYS,
    UPDATE_EVERY,
    Films,
    concat_films,
    make_films,
    status_code,
)
from movie_ratings.sources.demo.pools import draw_pools
from movie_ratings.sources.demo.streams import Streams, unit_hash

#: One film in this many has an absurd runtime (see :func:`with_absurd_runtimes`).
ABSURD_RUNTIME_EVERY = 4_000


def daily_rate(size: int) -> float:
    """Expected number of films announced per day."""
    return max(3.0, size * 0.0005)


def films_until(seed: int, size: int, day: int) -> Films:
    """All films created up to ``day`` (days since the epoch), deleted ones included."""
    pools = draw_pools(seed, size)
    base_rng = np.random.default_rng([seed, 0])
    mean_gap = max(1.25, 1_500_000 / size)
    base_ids = np.cumsum(base_rng.geometric(1.0 / mean_gap, size=size)).astype(np.int64)
    parts = [
        make_films(
            Streams([base_rng], np.array([size])),
            base_ids,
            np.zeros(size, dtype=np.int64),
            added=False,
            pools=pools,
        )
    ]
    if day > 0:
        rate = daily_rate(size)
        block = int(np.ceil(3 * rate)) + 10  # id range reserved for each day
        generators, counts, id_parts = [], [], []
        for d in range(1, day + 1):
            rng = np.random.default_rng([seed, 1, d])
            k = int(np.clip(rng.poisson(rate), 1, block))
            offsets = np.sort(rng.choice(block, size=k, replace=False))
            id_parts.append(base_ids[-1] + 1 + (d - 1) * block + offsets)
            generators.append(rng)
            counts.append(k)
        sizes = np.array(counts)
        created = np.repeat(np.arange(1, day + 1, dtype=np.int64), sizes)
        parts.append(
            make_films(
                Streams(generators, sizes),
                np.concatenate(id_parts).astype(np.int64),
                created,
                added=True,
                pools=pools,
            )
        )
    return concat_films(parts)


#: Share of films whose popularity and votes move on a given day, by default: TMDB
#: recomputes popularity daily and votes move for every film people are rating.
DEFAULT_CHURN = 0.30


def churn_moves(ids: np.ndarray, day: int, seed: int, churn: float) -> np.ndarray:
    """How many times each film's signals have moved by ``day``.

    A film moves whenever ``day * churn + phase`` crosses an integer, its phase fixed per
    film: each film moves on a ``churn`` share of days, and on any day a ``churn`` share of
    the films moves (all of them at 1.0), computed from the day alone (no history).
    """
    if churn <= 0:
        return np.zeros(len(ids), np.int64)
    return np.floor(day * min(churn, 1.0) + unit_hash(ids, 0, seed)).astype(np.int64)


def churned(
    ids: np.ndarray, moves: np.ndarray, seed: int, popularity: np.ndarray,
    vote_count: np.ndarray, vote_average: np.ndarray, imdb_votes: np.ndarray, rated: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The signals after ``moves`` moves: popularity up or down by up to 20%, TMDB votes
    (of films with votes) and IMDb votes (of rated films) up, the vote average nudged."""
    wobble = unit_hash(ids, moves + 1, seed) - 0.5
    moved = moves > 0
    popularity = np.where(moved, np.round(popularity * (1.0 + 0.4 * wobble), 3), popularity)
    has_votes = moved & (vote_count > 0)
    step = 1 + ids % 7
    vote_count = np.where(has_votes, vote_count + moves * step, vote_count)
    vote_average = np.where(
        has_votes, np.round(np.clip(vote_average + 0.02 * wobble, 0.5, 10.0), 3), vote_average)
    imdb_votes = np.where(moved & rated, imdb_votes + moves * 3 * step, imdb_votes)
    return popularity, vote_count, vote_average, imdb_votes


def rows_on(films: Films, day: int, *, seed: int = 0, churn: float = 0.0) -> pa.Table:
    """The raw rows of ``films`` on ``day`` (days since the epoch), the signals of a
    ``churn`` share of them moved that day (see :func:`churn_moves`)."""
    since = np.where(films.has_date, day - films.release_day, 0)
    status = films.fixed_status.astype(np.int64)
    by_date = status < 0
    status = np.where(
        by_date,
        np.select(
            [since >= 0, since >= POST_PRODUCTION_FROM, since >= IN_PRODUCTION_FROM],
            [
                status_code("Released"),
                status_code("Post Production"),
                status_code("In Production"),
            ],
            status_code("Planned"),
        ),
        status,
    )
    released = status == status_code("Released")
    # Released films without a date are old: their numbers are final.
    since = np.where(films.has_date, since, NEVER)
    visible = released & (since >= films.first_update)
    last_update = since - (since + films.id) % UPDATE_EVERY
    progress = np.where(since >= RAMP_DAYS, 1.0, np.clip(last_update / RAMP_DAYS, 0.0, 1.0))
    progress = np.where(visible, progress, 0.0)
    behind = 1.0 - progress

    shown = films.rated & visible
    imdb_rating = np.round(np.clip(films.rating + films.rating_drift * behind, 1.0, 10.0), 1)
    imdb_votes = np.maximum(5.0, np.round(films.imdb_votes * progress**1.5))
    vote_count = np.where(visible, np.round(films.vote_count * progress), 0.0)
    vote_average = np.where(
        vote_count > 0,
        np.round(np.clip(films.vote_average + films.vote_drift * behind, 0.5, 10.0), 3),
        0.0,
    )
    popularity = np.round(
        np.where(visible, films.popularity * (1.0 + 2.0 * behind), films.popularity_before), 3
    )
    revenue = np.where(released & (progress >= 1.0), films.revenue, 0.0)
    moves = churn_moves(films.id, day, seed, churn)
    popularity, vote_count, vote_average, imdb_votes = churned(
        films.id, moves, seed, popularity, vote_count, vote_average, imdb_votes, shown)
    out = pa.array(released)  # a film out shows its full record; before, what is known then

    def known(after: pa.Array, field: str) -> pa.Array:
        return pc.if_else(out, after, films.before[field])

    columns: dict[str, pa.Array] = {
        "id": pa.array(films.id, pa.int64()),
        "title": films.title,
        "vote_average": pa.array(vote_average, pa.float64()),
        "vote_count": pa.array(vote_count, pa.float64()),
        "status": pa.array(schema.STATUSES).take(pa.array(status)),
        "release_date": films.release_date,
        "revenue": pa.array(revenue, pa.float64()),
        "runtime": pa.array(with_absurd_runtimes(
            films.id, np.where(released, films.runtime, films.runtime_before)), pa.float64()),
        "budget": pa.array(np.where(released, films.budget, films.budget_before), pa.float64()),
        "imdb_id": films.imdb_id,
        "original_language": films.original_language,
        "original_title": films.original_title,
        "overview": known(films.overview, "overview"),
        "popularity": pa.array(popularity, pa.float64()),
        "tagline": known(films.tagline, "tagline"),
        "genres": films.genres,
        "production_companies": films.production_companies,
        "production_countries": films.production_countries,
        "spoken_languages": films.spoken_languages,
        "cast": known(films.cast, "cast"),
        "director": known(films.director, "director"),
        "director_of_photography": known(films.director_of_photography, "director_of_photography"),
        "writers": known(films.writers, "writers"),
        "producers": known(films.producers, "producers"),
        "music_composer": known(films.music_composer, "music_composer"),
        "imdb_rating": pa.array(imdb_rating, pa.float64(), mask=~shown),
        "imdb_votes": pa.array(imdb_votes, pa.float64(), mask=~shown),
        "poster_path": films.poster_path,
    }
    table = pa.table({name: columns[name] for name in schema.RAW_COLUMN_NAMES})
    alive = films.delete_day > day
    return table if alive.all() else table.filter(pa.array(alive))


def with_absurd_runtimes(ids: np.ndarray, runtime: np.ndarray) -> np.ndarray:
    """About 1 film in 4,000 gets a runtime of days, as in the real file (art installations,
    data entry slips); cleaning must quarantine them, so the demo shows rejects at work."""
    absurd = ids % ABSURD_RUNTIME_EVERY == 0
    return np.where(absurd, 1_001.0 + (ids % 9_000), runtime)


def demo_snapshot(
    as_of: date, *, seed: int = 42, size: int = 20_000, churn: float = DEFAULT_CHURN
) -> pa.Table:
    """Simulate the ``TMDB_all_movies.csv`` snapshot of ``as_of``.

    The result depends only on ``(as_of, seed, size)``: the same arguments always give
    the same table, and films that exist on an earlier date are the same films (with the
    rows that date implies) whatever later date is asked for.

    Args:
        as_of: the day the snapshot describes; on :data:`DEMO_EPOCH` the feed holds
            exactly ``size`` films and every later day adds a few upcoming ones.
        seed: non-negative seed of the simulated world.
        size: number of films on :data:`DEMO_EPOCH`.
        churn: share of films (0-1) whose popularity and votes move each day, on top of
            the recent releases' ramp-up.

    Returns:
        A table with the 28 raw columns in file order, sorted by id: ``id`` int64, the
        numeric columns float64 (counts too), every other column a string, list columns
        as ``"A, B"`` strings and ``release_date`` as ``YYYY-MM-DD``.

    Raises:
        ValueError: if ``as_of`` is before :data:`DEMO_EPOCH`, ``seed`` is negative or
            ``size`` is not positive.
    """
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    day = (as_of - DEMO_EPOCH).days
    if day < 0:
        raise ValueError(
            f"the demo feed starts on {DEMO_EPOCH.isoformat()}; "
            f"there is no snapshot for {as_of.isoformat()}"
        )
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if not 0.0 <= churn <= 1.0:
        raise ValueError(f"churn must be between 0 and 1, got {churn}")
    return rows_on(films_until(seed, size, day), day, seed=seed, churn=churn)
