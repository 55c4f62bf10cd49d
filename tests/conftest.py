"""Test-wide setup: state goes to temporary directories, never into the repository's var/.

The environment is set when this file is imported, on purpose: pytest imports every initial
conftest (the integration one imports Prefect, which reads its settings once) before any
``pytest_configure`` hook runs.

Shared fixtures: ``prefect_test_server`` (one Prefect test server for the whole session,
started by the first test that needs it), ``home`` (a fresh ``MOVIE_RATINGS_HOME``) and
``fake_kaggle`` (a fake Kaggle on loopback, from ``kaggle_fake.py``). Hypothesis runs
with the ``ci`` profile unless ``HYPOTHESIS_PROFILE`` names another.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from kaggle_fake import fake_kaggle  # noqa: F401  (fixture shared by unit and reliability tests)

from movie_ratings.runtime import configure_process

_ROOT = Path(tempfile.mkdtemp(prefix="movie-ratings-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
(_ROOT / "prefect").mkdir()
os.environ["PREFECT_HOME"] = str(_ROOT / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
configure_process()  # as the CLI does at its start, before XGBoost is imported
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ["MOVIE_RATINGS_HOME"] = str(_ROOT / "home")
# Tests use the embedded store even where HOPSWORKS_API_KEY is set (a key alone would select
# Hopsworks); the contract suite reaches a live project on purpose, through its own fixture.
os.environ["MOVIE_RATINGS_BACKEND"] = "local"
# The demo feed is kept small in tests unless a test asks otherwise.
os.environ["MOVIE_RATINGS_DEMO_SIZE"] = "2000"

# Property tests: few examples by default so the suite stays fast; no deadline, as the
# CPU is shared and a slow example is not a failure. HYPOTHESIS_PROFILE=thorough for more.
_PROPERTY_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=40, **_PROPERTY_SETTINGS)
settings.register_profile("thorough", max_examples=1000, **_PROPERTY_SETTINGS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def prefect_test_server() -> Iterator[str]:
    """One Prefect test server for the session; yields its API URL (for subprocesses too)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    # The server's first start on 2 cores can take well over Prefect's 20 s default.
    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MOVIE_RATINGS_HOME for one test (settings are read when a task runs)."""
    path = tmp_path / "movie-ratings-home"
    monkeypatch.setenv("MOVIE_RATINGS_HOME", str(path))
    return path


def file_tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its content hash: "exactly as it was" means equal trees."""
    import hashlib

    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def tree() -> Callable[[Path], dict[str, str]]:
    """:func:`file_tree`, to compare a folder before and after a run."""
    return file_tree
