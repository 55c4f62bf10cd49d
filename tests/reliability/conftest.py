"""Fixtures of the reliability tests (faults, bad input, concurrency, soak, secrets).

Tests that run flows ask for ``prefect_test_server`` (the session's one server, shared with
the integration tests); the property tests do not, so they run without starting it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from store_checks import DAY0, DAY1, CleanRuns, store_state

from movie_ratings.cli import main as cli


@pytest.fixture(scope="session")
def clean_runs(prefect_test_server: str, tmp_path_factory: pytest.TempPathFactory) -> CleanRuns:
    """Runs that a fault interrupted must end up exactly where these clean runs did."""
    work = tmp_path_factory.mktemp("clean-runs")
    home = work / "home"
    states = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOVIE_RATINGS_HOME", str(home))
        assert cli(["backfill", "--source", "demo", "--as-of", DAY0.isoformat()]) == 0
        states["backfill"] = store_state(home / "store")
        shutil.copytree(home / "store", work / "backfilled-store")
        assert cli(["daily", "--source", "demo", "--as-of", DAY1.isoformat()]) == 0
        states["daily"] = store_state(home / "store")
    return CleanRuns(states, work / "backfilled-store")


@pytest.fixture
def store_root(home: Path) -> Path:
    return home / "store"


@pytest.fixture
def backfilled(clean_runs: CleanRuns, store_root: Path) -> Path:
    """This test's store, holding the clean backfill of DAY0 (a copy: no run needed)."""
    shutil.copytree(clean_runs.backfilled_store, store_root)
    return store_root
