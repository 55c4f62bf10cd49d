"""Test-wide setup: state goes to temporary directories, never into the repository's var/.

The environment is set when this file is imported, on purpose: pytest imports every initial
conftest (the integration one imports Prefect, which reads its settings once) before any
``pytest_configure`` hook runs.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="movie-ratings-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
(_ROOT / "prefect").mkdir()
os.environ["PREFECT_HOME"] = str(_ROOT / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ["MOVIE_RATINGS_HOME"] = str(_ROOT / "home")
# Tests use the embedded store even where HOPSWORKS_API_KEY is set (a key alone would select
# Hopsworks); the contract suite reaches a live project on purpose, through its own fixture.
os.environ["MOVIE_RATINGS_BACKEND"] = "local"
# The demo feed is kept small in tests unless a test asks otherwise.
os.environ["MOVIE_RATINGS_DEMO_SIZE"] = "2000"
