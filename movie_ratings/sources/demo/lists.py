"""Vectorised building of per-film lists (film-major items) and of their strings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def take_words(words: tuple[str, ...] | list[str] | pa.Array, index: np.ndarray) -> pa.Array:
    values = words if isinstance(words, pa.Array) else pa.array(words, pa.string())
    return values.take(pa.array(index))


def null_where(values: pa.Array, null: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(null), pa.scalar(None, values.type), values)


def film_index(counts: np.ndarray) -> np.ndarray:
    """Film index of every item of film-major lists with ``counts`` items per film."""
    return np.repeat(np.arange(len(counts)), counts)


def first_occurrences(rows: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Mask keeping the first occurrence of each item within each film's list."""
    if len(items) == 0:
        return np.ones(0, dtype=bool)
    key = rows.astype(np.int64) * (int(items.max()) + 1) + items
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    keep = np.ones(len(items), dtype=bool)
    keep[order[1:][ordered[1:] == ordered[:-1]]] = False
    return keep


def joined_lists(
    names: pa.Array, rows: np.ndarray, items: np.ndarray, n: int, separator: str | pa.Array
) -> pa.Array:
    """Join each film's items into one string (null for an empty list)."""
    counts = np.bincount(rows, minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    lists = pa.ListArray.from_arrays(
        pa.array(offsets), names.take(pa.array(items)), mask=pa.array(counts == 0)
    )
    return pc.binary_join(lists, separator)


def positions(rows: np.ndarray, n: int) -> np.ndarray:
    """Position of every item within its film's list (0 for the first)."""
    counts = np.bincount(rows, minlength=n)
    starts = np.cumsum(counts) - counts
    return np.arange(len(rows)) - starts[rows]


def mean_by_film(
    rows: np.ndarray, values: np.ndarray, n: int, weights: np.ndarray | None = None
) -> np.ndarray:
    w = np.ones(len(rows)) if weights is None else weights
    total = np.bincount(rows, weights=values * w, minlength=n)
    norm = np.bincount(rows, weights=w, minlength=n)
    return np.divide(total, norm, out=np.zeros(n), where=norm > 0)


def assemble(pieces: list[pa.Array], kinds: np.ndarray) -> pa.Array:
    """Interleave ``pieces[k]`` (the values of the rows of kind ``k``, in row order)."""
    order = np.argsort(kinds, kind="stable")
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(pieces).take(pa.array(inverse))
