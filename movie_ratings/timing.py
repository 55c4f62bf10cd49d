"""Named stages of the pipeline that a caller may time: the benchmark's public hook.

``with stage("upsert.diff"):`` (or ``@timed("upsert.diff")`` on a function) costs nothing
unless a recorder is installed with :func:`recording`; the benchmark installs one that
records wall time, CPU time and peak memory per stage name. Flows never install one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Recorder(Protocol):
    """What measures a stage: a context manager around the stage's work."""

    def stage(self, name: str) -> AbstractContextManager[None]: ...


_RECORDER: ContextVar[Recorder | None] = ContextVar("movie_ratings_stage_recorder", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Measure the block as stage ``name`` when a recorder is installed; else do nothing."""
    recorder = _RECORDER.get()
    if recorder is None:
        yield
        return
    with recorder.stage(name):
        yield


def timed(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: every call of the function is stage ``name`` (see :func:`stage`)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with stage(name):
                return function(*args, **kwargs)

        return wrapper

    return decorate


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Install ``recorder`` for the stages run in this context (this thread or task)."""
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)
