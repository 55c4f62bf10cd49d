"""A small demo dataset as feature-view rows, and a model trained on it (once per session)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from tasks.predict import snapshot_view_rows
from tasks.train import fit_candidates
from tasks.training_data import labelled_rows, temporal_split

AS_OF = date(2026, 11, 1)


@pytest.fixture(scope="session")
def demo_view(tmp_path_factory: pytest.TempPathFactory):
    """View rows of a 6,000-film demo snapshot (all films, rated or not)."""
    path = write_snapshot_csv(demo_snapshot(AS_OF, size=6000, seed=7),
                              tmp_path_factory.mktemp("demo") / "snapshot.csv")
    return snapshot_view_rows(Path(path), AS_OF).rows


@pytest.fixture(scope="session")
def trained(demo_view):
    """Our model (and the default XGBoost) fitted on a temporal split of the demo rows."""
    rows = labelled_rows(demo_view)
    split = temporal_split(rows, test_size=0.2)
    fitted = fit_candidates(rows, split, ("xgboost_tuned", "linear_regression"), seed=42,
                            measure_text=False)
    return rows, split, fitted
