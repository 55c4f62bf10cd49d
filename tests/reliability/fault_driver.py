"""Run the ``movie-ratings`` CLI in this process with fault points inside the store write.

Test-only: the reliability tests start it as a subprocess, wait until it reaches a point,
then kill it with SIGKILL or let it go on. Production code has no test branches; the
points are wrappers installed here around :class:`LocalFeatureStore` methods (and
``os.link``, which publishes a store commit record)::

    python fault_driver.py --signals DIR [--hold POINT] [--mark POINT] -- daily --source demo ...

At a point the driver creates ``DIR/at-<point>`` (``-2``, ``-3``... when reached again);
with ``--hold`` it then waits until ``DIR/go-<point>`` exists (forever if the test
kills it instead). Points, in the order a write reaches them:

* ``lock-wait``: about to take the store's writer lock;
* ``locked-out``: gave up waiting for the lock (``StoreLockedError``; the task retries);
* ``after-table:<group>``: the Delta table of ``<group>`` (``movies``, ``movie_genres``)
  has been written, later groups and the rejects table not yet;
* ``after-rejects``: every table is written, the store commit record not yet;
* ``commit-unlinked``: the commit record is written and synced to a temporary file that
  is not yet linked into ``_commits/`` (the last step of a store write).

The exit status is the CLI's.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

POINTS = ("lock-wait", "locked-out", "after-table:movies", "after-table:movie_genres",
          "after-rejects", "commit-unlinked")


class FaultPoints:
    """Marks and holds at named points; see the module docstring."""

    def __init__(self, signals: Path, hold: set[str], mark: set[str]) -> None:
        self.signals = signals
        self.hold = hold
        self.mark = mark
        self.seen: dict[str, int] = {}

    def reach(self, point: str) -> None:
        if point not in self.hold and point not in self.mark:
            return
        self.seen[point] = self.seen.get(point, 0) + 1
        suffix = "" if self.seen[point] == 1 else f"-{self.seen[point]}"
        (self.signals / f"at-{point}{suffix}").touch()
        if point in self.hold:
            go = self.signals / f"go-{point}"
            while not go.exists():
                time.sleep(0.05)


def install(points: FaultPoints) -> None:
    """Wrap the store's write steps so that they reach the fault points."""
    from movie_ratings.store import local
    from movie_ratings.store.local import LocalFeatureStore, StoreLockedError

    store_cls: Any = LocalFeatureStore
    original_lock = store_cls.writer_lock

    @contextlib.contextmanager
    def writer_lock(self: LocalFeatureStore) -> Iterator[None]:
        points.reach("lock-wait")
        try:
            with original_lock(self):
                yield
        except StoreLockedError:
            points.reach("locked-out")
            raise

    original_group = store_cls._write_group

    def write_group(self: LocalFeatureStore, spec: Any, *args: Any, **kwargs: Any) -> int:
        version = original_group(self, spec, *args, **kwargs)
        points.reach(f"after-table:{spec.name}")
        return version

    original_rejects = store_cls._write_rejects

    def write_rejects(self: LocalFeatureStore, *args: Any, **kwargs: Any) -> int:
        version = original_rejects(self, *args, **kwargs)
        points.reach("after-rejects")
        return version

    original_link: Callable[..., None] = os.link

    @functools.wraps(original_link)
    def link(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        target = Path(dst)
        if target.parent.name == "_commits" and target.suffix == ".json":
            points.reach("commit-unlinked")
        original_link(src, dst, *args, **kwargs)

    store_cls.writer_lock = writer_lock
    store_cls._write_group = write_group
    store_cls._write_rejects = write_rejects
    os.link = link
    assert local.os.link is link  # the store publishes commits through os.link


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=Path, required=True, help="folder of at-/go- files")
    parser.add_argument("--hold", action="append", default=[], choices=POINTS)
    parser.add_argument("--mark", action="append", default=[], choices=POINTS)
    parser.add_argument("cli", nargs=argparse.REMAINDER, help="-- then the movie-ratings arguments")
    args = parser.parse_args(argv)
    cli_args = args.cli[1:] if args.cli[:1] == ["--"] else args.cli
    args.signals.mkdir(parents=True, exist_ok=True)
    install(FaultPoints(args.signals, set(args.hold), set(args.mark)))

    from movie_ratings.cli import main as cli_main

    return cli_main(cli_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
