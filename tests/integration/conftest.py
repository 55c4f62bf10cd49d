"""Every integration test runs under the session's Prefect test server (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_server(prefect_test_server: str) -> Iterator[str]:
    yield prefect_test_server
