"""One Prefect test server for the whole integration session; a fresh home per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    # The server's first start on 2 cores can take well over Prefect's 20 s default.
    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MOVIE_RATINGS_HOME for one test (settings are read when a task runs)."""
    path = tmp_path / "home"
    monkeypatch.setenv("MOVIE_RATINGS_HOME", str(path))
    return path
