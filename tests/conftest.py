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
from collections.abc import Callable
from pathlib import Path

import pytest

_ROOT = Path(tempfile.mkdtemp(prefix="movie-ratings-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
(_ROOT / "prefect").mkdir()
os.environ["PREFECT_HOME"] = str(_ROOT / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ["MOVIE_RATINGS_HOME"] = str(_ROOT / "home")
# The demo feed is kept small in tests unless a test asks otherwise.
os.environ["MOVIE_RATINGS_DEMO_SIZE"] = "2000"


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
