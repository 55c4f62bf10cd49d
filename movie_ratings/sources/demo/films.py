"""Latent properties of simulated films, drawn once per film from the random streams."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings import schema
from movie_ratings.sources.demo.lists import (
    film_index,
    first_occurrences,
    joined_lists,
    mean_by_film,
    null_where,
    positions,
)
from movie_ratings.sources.demo.pools import IMDB_MODULUS, IMDB_MULTIPLIER, Pools
from movie_ratings.sources.demo.rating import hidden_rating
from movie_ratings.sources.demo.streams import Streams, cdf_of, hash_normal, sigmoid, steps
from movie_ratings.sources.demo.text import overviews, poster_paths, taglines, titles
from movie_ratings.sources.demo.vocabulary import GENRE_WEIGHTS, LANGUAGES

#: First day of the demo feed: the snapshot of this day holds exactly ``size`` films.
DEMO_EPOCH: date = date(2026, 1, 1)

# Film lifecycle, in days relative to the release date.
IN_PRODUCTION_FROM = -365
POST_PRODUCTION_FROM = -120
RAMP_DAYS = 30  # IMDb numbers drift for this many days after release, then stay put
UPDATE_EVERY = 7  # within the ramp a film's numbers move only every 7th day
NEVER = 10**9  # a day that never comes (for deletions and undated releases)
#: Standard deviation of the part of a film's rating that no input shows (its execution),
#: on top of the noise of the rating itself.
UNSEEN_QUALITY = 0.35
#: Standard deviation of a director's knack for a genre (director x first genre).
GENRE_KNACK = 0.3
#: Before release, the share of films whose field is not known yet (TMDB fills upcoming
#: films in as they come closer: runtime, budget and crew are often missing).
HIDDEN_BEFORE_RELEASE: dict[str, float] = {
    "runtime": 0.55, "budget": 0.6, "overview": 0.25, "tagline": 0.5, "cast": 0.3,
    "director": 0.08, "writers": 0.35, "producers": 0.4, "music_composer": 0.6,
    "director_of_photography": 0.55,
}


def status_code(name: str) -> int:
    """Index of the status ``name`` in :data:`schema.STATUSES` (how films store it)."""
    return schema.STATUSES.index(name)


@dataclass(frozen=True)
class Films:
    """Latent properties of films; their row on a date is derived by :func:`.feed.rows_on`."""

    id: np.ndarray
    delete_day: np.ndarray
    release_day: np.ndarray
    has_date: np.ndarray
    fixed_status: np.ndarray  # -1: follows the release date
    first_update: np.ndarray  # days after release when IMDb numbers first show
    rated: np.ndarray
    rating: np.ndarray
    rating_drift: np.ndarray
    imdb_votes: np.ndarray
    vote_count: np.ndarray
    vote_average: np.ndarray
    vote_drift: np.ndarray
    popularity: np.ndarray
    popularity_before: np.ndarray
    revenue: np.ndarray
    runtime: np.ndarray
    budget: np.ndarray
    # Before release: the same fields as far as they are known then (sparser).
    runtime_before: np.ndarray
    budget_before: np.ndarray
    before: dict[str, pa.Array]
    # Columns that never change once the film is out, already in raw-file form.
    title: pa.Array
    original_title: pa.Array
    release_date: pa.Array
    imdb_id: pa.Array
    original_language: pa.Array
    overview: pa.Array
    tagline: pa.Array
    genres: pa.Array
    production_companies: pa.Array
    production_countries: pa.Array
    spoken_languages: pa.Array
    cast: pa.Array
    director: pa.Array
    director_of_photography: pa.Array
    writers: pa.Array
    producers: pa.Array
    music_composer: pa.Array
    poster_path: pa.Array


def concat_films(parts: list[Films]) -> Films:
    if len(parts) == 1:
        return parts[0]
    merged: dict[str, Any] = {}
    for f in fields(Films):
        values = [getattr(p, f.name) for p in parts]
        if isinstance(values[0], dict):
            merged[f.name] = {k: pa.concat_arrays([v[k] for v in values]) for k in values[0]}
        elif isinstance(values[0], pa.Array):
            merged[f.name] = pa.concat_arrays(values)
        else:
            merged[f.name] = np.concatenate(values)
    return Films(**merged)


def dates_and_statuses(
    s: Streams, created: np.ndarray, added: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Release day, whether it is known, fixed status (-1 = by date) and deletion day."""
    n = s.n
    u_kind, u_date, u_future, u_sub, u_delete, u_delete_day = (s.uniform() for _ in range(6))
    fixed = np.full(n, -1, dtype=np.int8)
    has_date = np.ones(n, dtype=bool)
    released, planned = status_code("Released"), status_code("Planned")
    in_production, post = status_code("In Production"), status_code("Post Production")
    rumored = np.zeros(n, dtype=bool)
    delete_day = np.full(n, NEVER, dtype=np.int64)
    if added:
        # Newly announced films: at least four months away, or undated, or only rumoured.
        release_day = created + 121 + np.floor(1000 * u_date**1.3).astype(np.int64)
        rumored = u_kind < 0.25
        undated = (u_kind >= 0.25) & (u_kind < 0.40)
        fixed[undated] = np.where(u_sub[undated] < 0.6, planned, in_production)
        has_date[undated] = False
        has_date[rumored] = u_sub[rumored] < 0.5
        # Duplicate or spam entries get deleted a few weeks after creation.
        doomed = rumored & (u_delete < 0.4)
        delete_day[doomed] = (
            created[doomed] + 1 + np.floor(-25 * np.log1p(-u_delete_day[doomed])).astype(np.int64)
        )
    else:
        # Most films are released; dates skew to recent years, 4.5% lie in the next 2 years.
        span = (DEMO_EPOCH - date(1900, 1, 1)).days
        scale = 20 * 365.25
        back = -scale * np.log1p(-u_date * (1 - np.exp(-span / scale)))
        future = 1 + np.floor(730 * u_date**1.6)
        release_day = np.where(u_future < 0.045, future, -np.floor(back)).astype(np.int64)
        undated_released = u_kind < 0.010
        canceled = (u_kind >= 0.010) & (u_kind < 0.014)
        rumored = (u_kind >= 0.014) & (u_kind < 0.026)
        undated = (u_kind >= 0.026) & (u_kind < 0.038)
        fixed[undated_released] = released
        has_date[undated_released | undated] = False
        fixed[canceled] = status_code("Canceled")
        has_date[canceled] = u_sub[canceled] < 0.5
        has_date[rumored] = u_sub[rumored] < 0.4
        sub = u_sub[undated]
        fixed[undated] = np.where(sub < 0.5, planned, np.where(sub < 0.85, in_production, post))
        doomed = rumored & (u_delete < 0.25)
        delete_day[doomed] = 1 + np.floor(1500 * u_delete_day[doomed]).astype(np.int64)
    fixed[rumored] = status_code("Rumored")
    release_day = np.where(has_date, release_day, NEVER)
    return release_day, has_date, fixed, delete_day


def draw_people(
    s: Streams, pools: Pools, role: str, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Film index and global person index of each listed person (duplicates dropped)."""
    people = pools.role_start[role] + s.index(pools.role_cdf[role], counts)
    rows = film_index(counts)
    keep = first_occurrences(rows, people)
    return rows[keep], people[keep]


def list_length(s: Streams, fame: np.ndarray, bias: float, extra: np.ndarray) -> np.ndarray:
    """List length: 0 with probability sigmoid(bias - 2 * fame), else 1 + extra."""
    empty = s.uniform() < sigmoid(bias - 2.0 * fame)
    return np.where(empty, 0, 1 + extra).astype(np.int64)


def make_films(
    s: Streams, ids: np.ndarray, created: np.ndarray, *, added: bool, pools: Pools
) -> Films:
    """Draw the latent properties of films ``ids`` from the streams ``s``."""
    n = s.n
    fame = s.normal() - (0.2 if added else 0.0)
    release_day, has_date, fixed, delete_day = dates_and_statuses(s, created, added)

    # Language, countries and spoken languages.
    lang_idx = s.index(cdf_of([w for _, w, _, _ in LANGUAGES]))
    codes = pa.array([code for code, _, _, _ in LANGUAGES])
    country_names = sorted({c for *_, cs in LANGUAGES for c in cs})
    country_of = {c: i for i, c in enumerate(country_names)}
    width = max(len(cs) for *_, cs in LANGUAGES)
    lang_countries = np.array(
        [[country_of[cs[min(j, len(cs) - 1)]] for j in range(width)] for *_, cs in LANGUAGES]
    )
    n_lang_countries = np.array([len(cs) for *_, cs in LANGUAGES])
    u_home, u_which = s.uniform(), s.uniform()
    home_pick = np.where(
        u_home < 0.7, 0, np.floor(u_which * n_lang_countries[lang_idx]).astype(np.int64)
    )
    home = lang_countries[lang_idx, home_pick]
    n_countries = list_length(s, fame, -1.5, steps(s.uniform(), (0.2, 0.05)))
    extra_country = s.index(
        cdf_of(np.where(np.array(country_names) == "United States of America", 20.0, 1.0)), 2
    )
    country_items = np.column_stack([home, extra_country.reshape(n, 2)])
    n_spoken = list_length(s, fame, -1.4, steps(s.uniform(), (0.25, 0.06)))
    english = 0
    extra_lang = s.index(cdf_of([w for _, w, _, _ in LANGUAGES]), 2).reshape(n, 2)
    extra_lang[:, 0] = np.where(s.uniform() < 0.5, english, extra_lang[:, 0])
    spoken_items = np.column_stack([lang_idx, extra_lang])

    def slots(items: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        take = np.arange(items.shape[1]) < counts[:, None]
        rows, values = np.nonzero(take)[0], items[take]
        keep = first_occurrences(rows, values)
        return rows[keep], values[keep]

    c_rows, c_items = slots(country_items, n_countries)
    production_countries = joined_lists(
        pa.array(country_names), c_rows, c_items, n, schema.LIST_SEPARATOR
    )
    l_rows, l_items = slots(spoken_items, n_spoken)
    language_names = pa.array([name for _, _, name, _ in LANGUAGES])
    spoken_languages = joined_lists(language_names, l_rows, l_items, n, schema.LIST_SEPARATOR)

    # Genres: 1-3 per film, none for some obscure films.
    n_genres = list_length(s, fame, -1.5, steps(s.uniform(), (0.55, 0.2)))
    genre_items = s.index(cdf_of(GENRE_WEIGHTS), 3).reshape(n, 3)
    g_rows, g_items = slots(genre_items, n_genres)
    genres = joined_lists(pa.array(list(schema.GENRES)), g_rows, g_items, n, schema.LIST_SEPARATOR)

    # People: richer credits for better-known films.
    n_directors = list_length(s, fame, -3.0, steps(s.uniform(), (0.08, 0.015)))
    n_cast = list_length(s, fame, -1.5, np.floor(-np.exp(1.7 + 0.5 * fame) * np.log1p(-s.uniform())))
    n_cast = np.minimum(n_cast, 30)
    n_writers = list_length(s, fame, -0.1, steps(s.uniform(), (0.35, 0.1, 0.03)))
    n_producers = np.minimum(list_length(s, fame, 0.5, np.floor(-1.2 * np.log1p(-s.uniform()))), 6)
    n_companies = np.minimum(list_length(s, fame, -0.1, np.floor(-0.8 * np.log1p(-s.uniform()))), 5)
    n_composers = list_length(s, fame, 1.2, steps(s.uniform(), (0.08,)))
    n_dops = list_length(s, fame, 0.9, steps(s.uniform(), (0.05,)))

    d_rows, d_people = draw_people(s, pools, "director", n_directors)
    first_director = np.full(n, -1)
    listed_first = np.r_[True, d_rows[1:] != d_rows[:-1]] if len(d_rows) else np.ones(0, bool)
    first_director[d_rows[listed_first]] = d_people[listed_first]
    w_people = pools.role_start["writer"] + s.index(pools.role_cdf["writer"], n_writers)
    w_rows = film_index(n_writers)
    # About a third of writer lists start with the film's director (writer-directors).
    writer_director = (s.uniform() < 0.3) & (first_director >= 0) & (n_writers > 0)
    first_slot = np.cumsum(n_writers) - n_writers
    w_people[first_slot[writer_director]] = first_director[writer_director]
    keep = first_occurrences(w_rows, w_people)
    w_rows, w_people = w_rows[keep], w_people[keep]
    cast_rows, cast_people = draw_people(s, pools, "cast", n_cast)
    p_rows, p_people = draw_people(s, pools, "producer", n_producers)
    m_rows, m_people = draw_people(s, pools, "composer", n_composers)
    o_rows, o_people = draw_people(s, pools, "dop", n_dops)
    co_items = s.index(pools.company_cdf, n_companies)
    co_rows = film_index(n_companies)
    keep = first_occurrences(co_rows, co_items)
    co_rows, co_items = co_rows[keep], co_items[keep]

    sep = schema.LIST_SEPARATOR
    people = pools.people
    director = joined_lists(people, d_rows, d_people, n, sep)
    writers = joined_lists(people, w_rows, w_people, n, sep)
    cast = joined_lists(people, cast_rows, cast_people, n, sep)
    producers = joined_lists(people, p_rows, p_people, n, sep)
    music_composer = joined_lists(people, m_rows, m_people, n, sep)
    director_of_photography = joined_lists(people, o_rows, o_people, n, sep)
    production_companies = joined_lists(pools.companies, co_rows, co_items, n, sep)

    # Runtime and budget (0 = unknown, as in the raw file).
    runtime_known = s.uniform() < sigmoid(1.6 + 1.5 * fame)
    short = s.uniform() < 0.12
    short_minutes = 3 + np.floor(38 * s.uniform())
    feature_minutes = np.clip(np.round(97 + 18 * s.normal()), 41, 240)
    runtime = np.where(runtime_known, np.where(short, short_minutes, feature_minutes), 0.0)
    budget_known = s.uniform() < sigmoid(-2.9 + 1.8 * fame)
    budget_value = np.clip(np.round(10 ** (6.0 + 0.5 * fame + 0.6 * s.normal()), -3), 1_000, 4e8)
    budget = np.where(budget_known, budget_value, 0.0)

    # Overview: 1-6 sentences from phrase lists; some with commas, quotes or line breaks.
    has_overview = s.uniform() < sigmoid(2.2 + 2.0 * fame)
    n_sentences = np.where(has_overview, 1 + np.minimum(s.draw("poisson", lam=1.6), 5), 0)
    overview, overview_parts = overviews(s, n_sentences)

    # Titles, original titles, taglines, ids and posters.
    title, original_title = titles(s, lang_idx)
    has_tagline = s.uniform() < sigmoid(-2.0 + 1.3 * fame)
    tagline = null_where(taglines(s), ~has_tagline)
    has_imdb = s.uniform() < sigmoid(0.5 + 1.8 * fame)
    imdb_number = (ids * IMDB_MULTIPLIER + pools.imdb_offset) % IMDB_MODULUS + 1
    imdb_id = pc.binary_join_element_wise(
        "tt", pc.utf8_lpad(pc.cast(pa.array(imdb_number), pa.string()), 7, "0"), ""
    )
    imdb_id = null_where(imdb_id, ~has_imdb)
    has_poster = s.uniform() < sigmoid(1.2 + 2.0 * fame)
    poster_path = null_where(poster_paths(s), ~has_poster)

    year = np.where(
        has_date,
        (
            np.datetime64(DEMO_EPOCH, "D")
            + np.where(has_date, release_day, 0).astype("timedelta64[D]")
        )
        .astype("datetime64[Y]")
        .astype(np.int64)
        + 1970,
        np.nan,
    )
    # A person's quality on a film is their quality around 2000 plus their drift per
    # decade since: careers rise and fade, so a person's old films mislead a little.
    decades = np.clip(np.nan_to_num((year - 2000) / 10), -2.5, 2.5)  # a career's span

    def quality(rows: np.ndarray, who: np.ndarray) -> np.ndarray:
        return pools.quality[who] + pools.drift[who] * decades[rows]

    # A director's knack for the film's first genre: seen by no feature directly.
    first_genre = np.full(n, -1)
    listed_first_genre = positions(g_rows, n) == 0
    first_genre[g_rows[listed_first_genre]] = g_items[listed_first_genre]
    knack = GENRE_KNACK * hash_normal(d_people, first_genre[d_rows])
    knack = np.where(first_genre[d_rows] >= 0, knack, 0.0)
    rating = hidden_rating(
        genre_idx=g_items,
        genre_rows=g_rows,
        language_idx=lang_idx,
        director_q=mean_by_film(d_rows, quality(d_rows, d_people), n)
        + mean_by_film(d_rows, knack, n) / 0.6,
        cast_q=mean_by_film(
            cast_rows, quality(cast_rows, cast_people), n,
            weights=1.0 / (1.0 + positions(cast_rows, n)),
        ),
        writer_q=mean_by_film(w_rows, quality(w_rows, w_people), n),
        company_q=mean_by_film(co_rows, pools.company_quality[co_items], n),
        runtime=runtime,
        budget=budget,
        year=year,
        overview_parts=overview_parts,
        noise=0.6 * s.normal() + UNSEEN_QUALITY * s.normal(),
    )

    # Post-release numbers: final values, reached over the first month after release.
    can_release = (fixed == -1) | (fixed == status_code("Released"))
    rated = can_release & has_imdb & (fame > -0.75)
    z_votes, z_average, z_noise, z_imdb, z_pop = (s.normal() for _ in range(5))
    vote_count = np.where(
        rated,
        np.round(np.exp(1.6 + 1.6 * fame + 0.5 * z_votes)),
        np.floor(np.maximum(0.0, np.exp(0.8 * fame + 0.8 * z_votes) - 0.7)),
    )
    vote_average = np.where(
        rated,
        rating + 0.15 + 0.35 * z_average + 1.5 * z_noise / np.sqrt(np.maximum(vote_count, 1)),
        6.0 + 1.6 * z_average,
    )
    vote_average = np.clip(vote_average, 0.5, 10.0)
    imdb_votes = np.round(5 + np.exp(3.3 + 2.1 * fame + 0.6 * z_imdb + 0.35 * (rating - 6)))
    popularity = np.exp(-1.0 + 1.2 * fame + 0.5 * z_pop)
    popularity_before = popularity * (0.5 + s.uniform())
    revenue_known = s.uniform() < sigmoid(-3.4 + 1.8 * fame)
    z_revenue = s.normal()
    revenue_value = np.where(
        budget > 0,
        budget * np.exp(0.2 + 1.0 * z_revenue),
        10 ** (5.3 + 0.9 * fame + 0.8 * z_revenue),
    )
    revenue = np.where(revenue_known, np.round(np.clip(revenue_value, 1_000, 3e9)), 0.0)
    lag = 2 + np.floor(5 * s.uniform()).astype(np.int64)
    first_update = lag + (-(lag + ids)) % UPDATE_EVERY  # first day with (day + id) % 7 == 0
    rating_drift = 0.4 + 0.5 * s.normal()
    vote_drift = 0.3 + 0.5 * s.normal()

    # What is known before release: each field is missing for some films until they come
    # out; the cast is partly listed (the top of the billing first) or not at all.
    hidden = {name: s.uniform() < rate for name, rate in HIDDEN_BEFORE_RELEASE.items()}
    cast_counts = np.bincount(cast_rows, minlength=n)
    listed = np.where(hidden["cast"], 0, np.ceil(cast_counts * (0.3 + 0.7 * s.uniform())))
    early = positions(cast_rows, n) < listed[cast_rows]
    before = {
        "overview": null_where(overview, hidden["overview"]),
        "tagline": null_where(tagline, hidden["tagline"]),
        "cast": joined_lists(people, cast_rows[early], cast_people[early], n, sep),
        "director": null_where(director, hidden["director"]),
        "writers": null_where(writers, hidden["writers"]),
        "producers": null_where(producers, hidden["producers"]),
        "music_composer": null_where(music_composer, hidden["music_composer"]),
        "director_of_photography": null_where(director_of_photography,
                                                hidden["director_of_photography"]),
    }

    epoch_days = (DEMO_EPOCH - date(1970, 1, 1)).days
    release_date = (
        pa.array(np.where(has_date, release_day + epoch_days, 0).astype(np.int32), mask=~has_date)
        .cast(pa.date32())
        .cast(pa.string())
    )
    return Films(
        id=ids,
        delete_day=delete_day,
        release_day=release_day,
        has_date=has_date,
        fixed_status=fixed,
        first_update=first_update,
        rated=rated,
        rating=rating,
        rating_drift=rating_drift,
        imdb_votes=imdb_votes,
        vote_count=vote_count,
        vote_average=vote_average,
        vote_drift=vote_drift,
        popularity=popularity,
        popularity_before=popularity_before,
        revenue=revenue,
        runtime=runtime,
        budget=budget,
        runtime_before=np.where(hidden["runtime"], 0.0, runtime),
        budget_before=np.where(hidden["budget"], 0.0, budget),
        before=before,
        title=title,
        original_title=original_title,
        release_date=release_date,
        imdb_id=imdb_id,
        original_language=codes.take(pa.array(lang_idx)),
        overview=overview,
        tagline=tagline,
        genres=genres,
        production_companies=production_companies,
        production_countries=production_countries,
        spoken_languages=spoken_languages,
        cast=cast,
        director=director,
        director_of_photography=director_of_photography,
        writers=writers,
        producers=producers,
        music_composer=music_composer,
        poster_path=poster_path,
    )


