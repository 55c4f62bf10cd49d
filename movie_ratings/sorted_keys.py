"""Looking keys up in a sorted array of keys: how the store's diff, the upsert's checks and
the daily prefilter find films, one binary search per key."""

from __future__ import annotations

import numpy as np


def find_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``keys`` is in ``sorted_keys``.

    Args:
        sorted_keys: keys in ascending order.
        keys: keys to look up, in any order.

    Returns:
        ``(found, positions)``: whether each key is in ``sorted_keys``, and its position there
        where it is (a valid index elsewhere, meaning nothing; empty ``sorted_keys`` give
        positions 0, which index nothing).
    """
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.intp)
    positions = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[positions] == keys, positions
