"""The benchmark's hook (movie_ratings.timing): stages cost nothing without a recorder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from movie_ratings.timing import recording, stage, timed


class Names:
    """A recorder that keeps the names of the stages it saw, innermost first."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        try:
            yield
        finally:
            self.seen.append(name)


@timed("double")
def double(x: int) -> int:
    with stage("inner"):
        return 2 * x


def test_stages_are_recorded_only_while_a_recorder_is_installed() -> None:
    assert double(2) == 4  # no recorder: plain call
    names = Names()
    with recording(names):
        assert double(3) == 6
        with stage("outer"):
            double(1)
    assert double(4) == 8  # uninstalled again
    assert names.seen == ["inner", "double", "inner", "double", "outer"]


def test_a_stage_that_raises_is_recorded_and_the_error_goes_on() -> None:
    names = Names()
    with recording(names), pytest.raises(ZeroDivisionError), stage("fails"):
        _ = 1 / 0
    assert names.seen == ["fails"]
    assert double.__name__ == "double"  # the decorator keeps the function's identity
