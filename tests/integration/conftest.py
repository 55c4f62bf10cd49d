"""Every integration test runs under the session's Prefect test server (tests/conftest.py).

``backend`` runs a test once on the embedded store and registry and once on the Hopsworks
adapters over the SDK fake (tests/hopsworks_fake.py): the settings select Hopsworks, and
the adapters' import of the ``hopsworks`` module gets the fake, so the flows and the CLI
reach it through exactly the code a real cluster would be reached through.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hopsworks_fake import FakeHopsworks, forget_logins, select_fake_hopsworks

BACKENDS = ["local", "hopsworks-fake"]


@pytest.fixture(scope="session", autouse=True)
def prefect_server(prefect_test_server: str) -> Iterator[str]:
    yield prefect_test_server


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeHopsworks | None]:
    """The backend of this run: None for the local one, else the Hopsworks fake in use."""
    if request.param == "local":
        yield None
        return

    fake = FakeHopsworks(tmp_path / "hopsworks")
    select_fake_hopsworks(fake, monkeypatch)
    try:
        yield fake
    finally:
        forget_logins()
        fake.close()
