"""Prediction: which films to predict, scoring with the production pipeline, batch scoring.

Pure functions first; the Prefect tasks at the bottom load the model and talk to the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa

from movie_ratings.schema import MOVIE_GENRES, MOVIE_RATINGS_VIEW, MOVIES
from movie_ratings.store.changes import join_on_key
from tasks.clean import CleanSnapshot, clean_snapshot, read_snapshot_csv
from tasks.features import build_features


def view_rows(groups: dict[str, pa.Table]) -> pa.Table:
    """Feature-group rows joined like the ``movie_ratings`` view (movies ⋈ genres on id)."""
    return join_on_key(groups[MOVIES.name], groups[MOVIE_GENRES.name], MOVIE_RATINGS_VIEW.join_key,
                       drop=MOVIE_RATINGS_VIEW.exclude)


@dataclass(frozen=True)
class ScoredInput:
    """Rows of a CSV in the Kaggle schema, cleaned and turned into view rows."""

    rows: pa.Table
    clean: CleanSnapshot


def snapshot_view_rows(path: Path, as_of: date, *, max_reject_fraction: float = 1.0) -> ScoredInput:
    """Read, clean and featurise a CSV in the Kaggle schema exactly as ingest does.

    Rejected records are kept in ``clean.rejects`` with their reason (nothing is dropped
    silently).
    """
    clean = clean_snapshot(read_snapshot_csv(path), as_of=as_of, source="csv",
                           max_reject_fraction=max_reject_fraction)
    return ScoredInput(view_rows(build_features(clean.table, as_of).tables), clean)
