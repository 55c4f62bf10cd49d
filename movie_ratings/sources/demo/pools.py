"""The pools of people and companies films draw from, with their latent qualities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from movie_ratings.sources.demo.streams import zipf_cdf
from movie_ratings.sources.demo.vocabulary import (
    COMPANY_ADJECTIVES,
    COMPANY_KINDS,
    COMPANY_NOUNS,
    FIRST_NAMES,
    LAST_NAMES,
    LAST_PREFIXES,
    LAST_SUFFIXES,
)

IMDB_MODULUS = 40_000_000  # coprime with the multiplier below, so imdb ids are unique
IMDB_MULTIPLIER = 7_919_317
#: Standard deviation of a person's change of quality per decade (around 2000).
QUALITY_DRIFT = 0.35
#: (films per person at which the pool stops growing, min, max pool size, Zipf exponent).
ROLES: dict[str, tuple[int, int, int, float]] = {
    "director": (6, 300, 30_000, 0.9),
    "writer": (5, 400, 40_000, 0.9),
    "producer": (5, 400, 40_000, 1.0),
    "cast": (2, 1_000, 150_000, 0.9),
    "composer": (20, 100, 8_000, 1.0),
    "dop": (15, 150, 10_000, 1.0),
}


@dataclass(frozen=True)
class Pools:
    """Names and latent qualities of the people and companies films draw from."""

    people: pa.Array
    quality: np.ndarray
    drift: np.ndarray  # change of quality per decade: careers rise and fade
    role_start: dict[str, int]
    role_cdf: dict[str, np.ndarray]
    companies: pa.Array
    company_quality: np.ndarray
    company_cdf: np.ndarray
    imdb_offset: int


def draw_pools(seed: int, size: int) -> Pools:
    """People and companies for a feed of ``size`` films (larger feeds get larger pools)."""
    rng = np.random.default_rng([seed, 2])
    role_sizes = {
        role: int(np.clip(size // per, low, high)) for role, (per, low, high, _) in ROLES.items()
    }
    total = sum(role_sizes.values())
    last_names = [p + s for p in LAST_PREFIXES for s in LAST_SUFFIXES] + list(LAST_NAMES)
    n_first, n_last = len(FIRST_NAMES), len(last_names)
    # Plain "First Last" names first; only very large feeds need middle initials.
    n_plain = n_first * n_last
    picks = rng.choice(n_plain, size=min(total, n_plain), replace=False)
    if total > n_plain:
        with_initial = n_plain + rng.choice(26 * n_plain, size=total - n_plain, replace=False)
        picks = np.concatenate([picks, with_initial])
    first = pa.array(FIRST_NAMES).take(pa.array(picks % n_plain // n_last))
    last = pa.array(last_names).take(pa.array(picks % n_last))
    initials = pa.array(["", *(f"{chr(65 + i)}. " for i in range(26))])
    middle = initials.take(pa.array(picks // n_plain))
    people = pc.binary_join_element_wise(first, pc.binary_join_element_wise(middle, last, ""), " ")
    quality = rng.standard_normal(total)

    starts = np.cumsum([0, *role_sizes.values()])[:-1]
    role_start = {role: int(s) for role, s in zip(role_sizes, starts, strict=True)}
    role_cdf = {
        role: zipf_cdf(role_sizes[role], ROLES[role][3], offset=10.0) for role in role_sizes
    }

    n_companies = int(np.clip(size // 6, 200, 20_000))
    n_kinds, n_nouns = len(COMPANY_KINDS), len(COMPANY_NOUNS)
    combos = rng.choice(len(COMPANY_ADJECTIVES) * n_nouns * n_kinds, n_companies, replace=False)
    companies = pc.binary_join_element_wise(
        pa.array(COMPANY_ADJECTIVES).take(pa.array(combos // (n_nouns * n_kinds))),
        pa.array(COMPANY_NOUNS).take(pa.array(combos // n_kinds % n_nouns)),
        pa.array(COMPANY_KINDS).take(pa.array(combos % n_kinds)),
        " ",
    )
    company_quality = rng.standard_normal(n_companies)
    imdb_offset = int(rng.integers(0, IMDB_MODULUS))
    return Pools(
        people=people,
        quality=quality,
        drift=QUALITY_DRIFT * rng.standard_normal(total),
        role_start=role_start,
        role_cdf=role_cdf,
        companies=companies,
        company_quality=company_quality,
        company_cdf=zipf_cdf(n_companies, 1.0, offset=5.0),
        imdb_offset=imdb_offset,
    )
