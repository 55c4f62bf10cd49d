"""Training data: the labelled rows of the feature view at a store commit, and the hold-out.

Pure functions first (read the labelled rows, split them); the Prefect tasks at the bottom
only load from the store and log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.errors import DataError
from movie_ratings.modeling.encoders import INPUT_COLUMNS
from movie_ratings.schema import LABEL, MOVIE_RATINGS_VIEW, POST_RELEASE_COLUMNS
from movie_ratings.settings import get_settings
from movie_ratings.store import FeatureStore, get_feature_store
from tasks.policies import IO_RETRIES

SplitKind = Literal["temporal", "random"]


@dataclass(frozen=True)
class TrainingData:
    """Labelled feature-view rows and where they came from.

    Attributes:
        rows: one row per rated film (the view's columns).
        view_name, view_version: the feature view read.
        store_commit: the store commit it was read at.
        snapshot_date, source, is_demo: the snapshot behind that commit.
        unlabelled: films in the view without a rating (not used for training).
        training_dataset_version: the backend's training-dataset version (Hopsworks), if any.
    """

    rows: pa.Table
    view_name: str
    view_version: int
    store_commit: int
    snapshot_date: date
    source: str
    is_demo: bool
    unlabelled: int
    training_dataset_version: int | None = None

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.rows[LABEL].to_numpy())


@dataclass(frozen=True)
class Split:
    """Which labelled rows train and which test, and how that was decided."""

    kind: SplitKind
    train: np.ndarray
    test: np.ndarray
    test_size: float | None = None
    test_start: date | None = None
    seed: int | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "train_rows": len(self.train),
            "test_rows": len(self.test),
            "test_size": self.test_size,
            "test_start": self.test_start.isoformat() if self.test_start else None,
            "seed": self.seed,
        }


def labelled_rows(view: pa.Table) -> pa.Table:
    """Rows of the view whose label is known."""
    return view.filter(pc.is_valid(view[LABEL]))


def temporal_split(rows: pa.Table, *, test_size: float = 0.2, test_start: date | None = None) -> Split:
    """Train on films released before a cut-off, test on the films released from it on.

    Films without a release date cannot be placed in time: they only ever train.

    Args:
        rows: labelled rows.
        test_size: share of dated films in the test set (when ``test_start`` is not given).
        test_start: explicit cut-off date.

    Raises:
        DataError: a side of the split would be empty.
    """
    days = pc.cast(rows["release_date"], pa.int32()).to_numpy(zero_copy_only=False)
    dated = ~np.isnan(days.astype(np.float64))
    if test_start is None:
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
        if not dated.any():
            raise DataError("no rated film has a release date: a temporal split is impossible")
        cutoff_day = int(np.quantile(days[dated].astype(np.int64), 1 - test_size, method="higher"))
        test_start = date(1970, 1, 1) + timedelta(days=cutoff_day)
    cutoff = (test_start - date(1970, 1, 1)).days
    is_test = dated & (np.nan_to_num(days.astype(np.float64), nan=-1e9) >= cutoff)
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    if len(train) == 0 or len(test) == 0:
        raise DataError(
            f"temporal split at {test_start} leaves {len(train)} training and {len(test)} test films"
        )
    return Split("temporal", train, test, test_size=round(len(test) / len(rows), 4), test_start=test_start)


def random_split(rows: pa.Table, *, test_size: float = 0.2, seed: int = 42) -> Split:
    """A seeded random hold-out (for comparison with the old notebook only)."""
    n = rows.num_rows
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(n * test_size))
    if n_test >= n:
        raise DataError(f"a {test_size:.0%} random split of {n} films leaves no training rows")
    return Split("random", np.sort(order[n_test:]), np.sort(order[:n_test]), test_size=test_size, seed=seed)


def make_split(rows: pa.Table, kind: SplitKind, *, test_size: float, test_start: date | None,
               seed: int) -> Split:
    if kind == "temporal":
        return temporal_split(rows, test_size=test_size, test_start=test_start)
    if kind == "random":
        return random_split(rows, test_size=test_size, seed=seed)
    raise ValueError(f"unknown split {kind!r}: temporal or random")


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------


def load_training_data(store: FeatureStore, view_version: int, store_commit: int | None) -> TrainingData:
    """Labelled rows of the ``movie_ratings`` view at a store commit (latest if None)."""
    commit = store.latest_commit() if store_commit is None else store.commit(store_commit)
    if commit is None:
        raise DataError("the feature store is empty: run a backfill before training")
    training_dataset_version = None
    if hasattr(store, "create_training_data"):  # Hopsworks records a training dataset
        view, training_dataset_version = store.create_training_data(
            MOVIE_RATINGS_VIEW.name, view_version, commit=commit.number,
            description=f"movie_ratings v{view_version} at store commit {commit.number}")
    else:
        view = store.read_feature_view(MOVIE_RATINGS_VIEW.name, view_version, commit=commit.number)
    leaked = [c for c in POST_RELEASE_COLUMNS if c in INPUT_COLUMNS]
    assert not leaked, f"post-release columns among model inputs: {leaked}"
    rows = labelled_rows(view)
    if rows.num_rows < 50:
        raise DataError(f"only {rows.num_rows} rated films in {MOVIE_RATINGS_VIEW.name} "
                        f"v{view_version} at store commit {commit.number}: too few to train")
    return TrainingData(rows, MOVIE_RATINGS_VIEW.name, view_version, commit.number,
                        commit.snapshot_date, commit.source, commit.is_demo,
                        view.num_rows - rows.num_rows, training_dataset_version)


@task(name="load-training-data", cache_policy=NO_CACHE, timeout_seconds=1800, **IO_RETRIES)
def load_training_data_task(view_version: int, store_commit: int | None) -> TrainingData:
    data = load_training_data(get_feature_store(get_settings()), view_version, store_commit)
    get_run_logger().info(
        "read %s v%s at store commit %s (%s%s): %s rated films, %s without a rating",
        data.view_name, data.view_version, data.store_commit, data.snapshot_date,
        " DEMO DATA" if data.is_demo else "", f"{data.rows.num_rows:,}", f"{data.unlabelled:,}",
    )
    return data


@task(name="split", cache_policy=NO_CACHE)
def split_task(data: TrainingData, kind: SplitKind, test_size: float, test_start: date | None,
               seed: int) -> Split:
    split = make_split(data.rows, kind, test_size=test_size, test_start=test_start, seed=seed)
    get_run_logger().info("split: %s", split.describe())
    return split
