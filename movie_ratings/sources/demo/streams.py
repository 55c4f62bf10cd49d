"""Randomness of the demo feed: draws from independent streams per group of films, and
fixed pseudo-random values hashed from ids (no generator, no history)."""

from __future__ import annotations

import numpy as np


class Streams:
    """Random draws for films whose randomness comes from several independent streams.

    Films are grouped (the base films in one group, the films of each added day in their
    own) and every draw takes, for each group, a block from that group's generator, so a
    group's films never depend on how many other groups there are.
    """

    def __init__(self, generators: list[np.random.Generator], sizes: np.ndarray) -> None:
        self._generators = generators
        self._sizes = np.asarray(sizes, dtype=np.int64)
        self._group = np.repeat(np.arange(len(generators)), self._sizes)
        self.n = int(self._sizes.sum())

    def draw(self, method: str, per_film: int | np.ndarray = 1, **kwargs: float) -> np.ndarray:
        """Draw ``per_film`` values per film (a count or one count per film), film by film."""
        if isinstance(per_film, np.ndarray):
            totals = np.bincount(self._group, weights=per_film, minlength=len(self._sizes))
        else:
            totals = self._sizes * per_film
        parts = [
            getattr(gen, method)(size=int(total), **kwargs)
            for gen, total in zip(self._generators, totals, strict=True)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def uniform(self, per_film: int | np.ndarray = 1) -> np.ndarray:
        return self.draw("random", per_film)

    def normal(self, per_film: int | np.ndarray = 1) -> np.ndarray:
        return self.draw("standard_normal", per_film)

    def index(self, cdf: np.ndarray, per_film: int | np.ndarray = 1) -> np.ndarray:
        """Indices drawn from the distribution with cumulative weights ``cdf``."""
        picks = np.searchsorted(cdf, self.uniform(per_film) * cdf[-1], side="right")
        return np.minimum(picks, len(cdf) - 1)


def cdf_of(weights: np.ndarray | tuple[float, ...] | list[float]) -> np.ndarray:
    return np.cumsum(np.asarray(weights, dtype=np.float64))


def zipf_cdf(n: int, exponent: float, offset: float) -> np.ndarray:
    """Cumulative weights of ranks 0..n-1 under a Zipf-like law (a few names reused a lot)."""
    return cdf_of((np.arange(n) + offset) ** -exponent)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def steps(u: np.ndarray, thresholds: tuple[float, ...]) -> np.ndarray:
    """Number of thresholds above ``u`` (a small discrete count)."""
    return np.asarray(sum((u < t).astype(np.int64) for t in thresholds))


def unit_hash(ids: np.ndarray, salt: np.ndarray | int, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per (id, salt, seed), from an integer hash (splitmix64)."""
    with np.errstate(over="ignore"):
        x = (ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.asarray(salt).astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)
             + np.uint64(seed + 1) * np.uint64(0x8CB92BA72F3D8DD7))
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def hash_normal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random standard-normal-like value per pair (a, b) (sum of 4 uniforms
    from a multiplicative hash): no table of all pairs is ever built."""
    key = (a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ (
        (b.astype(np.int64) + 1).astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
    total = np.zeros(len(key))
    for shift in (0, 16, 32, 48):
        total += ((key >> np.uint64(shift)) & np.uint64(0xFFFF)).astype(np.float64) / 65535.0
    return (total - 2.0) / np.sqrt(4 / 12)
