"""Column work on a few threads: Arrow's compute kernels release the GIL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def in_parallel(work: Callable[[str], T], names: Iterable[str]) -> list[T]:
    """``work`` of each name, in order, on a few threads."""
    names = list(names)
    with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1, 4) or 1) as pool:
        return list(pool.map(work, names))
