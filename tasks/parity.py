"""Seed parity: the old notebook's model, rebuilt exactly, on the same data as ours.

Pure functions first; the Prefect task at the bottom only logs. A comparison never ends a
training run: whatever stops it is recorded as "not computable" with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sklearn.preprocessing import LabelEncoder
from xgboost import XGBRegressor

from movie_ratings.modeling.card import Comparison
from movie_ratings.schema import GENRE_FEATURES, LABEL
from tasks.evaluate import regression_metrics
from tasks.train import rounded_metrics
from tasks.training_data import Split, TrainingData, random_split

#: The old notebook's 27 features, in its order; categorical ones were label-encoded.
OLD_NOTEBOOK_FEATURES: tuple[str, ...] = (
    "budget", "runtime", "release_year", "original_language", "first_producer", "first_actor",
    "first_company", "imdb_votes", *GENRE_FEATURES,
)
OLD_NOTEBOOK_CATEGORICAL: tuple[str, ...] = ("original_language", "first_producer", "first_actor", "first_company")


def old_notebook_matrix(rows: pa.Table, features: tuple[str, ...], encoders: dict[str, LabelEncoder]) -> np.ndarray:
    """The old notebook's design matrix: label codes for categories, raw zeros for unknowns."""
    columns = []
    for name in features:
        if name in OLD_NOTEBOOK_CATEGORICAL:
            values = np.asarray(pc.fill_null(rows[name], "").to_pylist(), dtype=object)
            columns.append(encoders[name].transform(values).astype(np.float64))
        else:
            values = pc.cast(rows[name], pa.float64())
            if name in ("budget", "runtime"):  # the raw file's 0 = unknown, as the notebook saw it
                values = pc.fill_null(values, 0.0)
            columns.append(values.to_numpy(zero_copy_only=False))
    return np.column_stack(columns)


def old_notebook_rows(rows: pa.Table, features: tuple[str, ...]) -> np.ndarray:
    """Rows the notebook kept: released films with none of its columns missing (its dropna)."""
    keep = pc.equal(rows["status"], "Released")
    for name in (*features, LABEL):
        if name not in ("budget", "runtime"):
            keep = pc.and_(keep, pc.is_valid(rows[name]))
    return np.flatnonzero(pc.fill_null(keep, False).to_numpy(zero_copy_only=False))


def fit_old_notebook(rows: pa.Table, train: np.ndarray, test: np.ndarray,
                     features: tuple[str, ...], seed: int) -> dict[str, float]:
    """Fit the old recipe (label encoders over all rows, default XGBoost) and score ``test``."""
    encoders = {
        name: LabelEncoder().fit(np.asarray(pc.fill_null(rows[name], "").to_pylist(), dtype=object))
        for name in features if name in OLD_NOTEBOOK_CATEGORICAL
    }
    matrix = old_notebook_matrix(rows, features, encoders)
    y = rows[LABEL].to_numpy()
    model = XGBRegressor(random_state=seed, n_jobs=2).fit(matrix[train], y[train])
    return regression_metrics(y[test], model.predict(matrix[test]))


#: The old recipe is "not computable" when its row filter leaves fewer training films than this.
MIN_PARITY_TRAIN_ROWS = 20


def dropped_by_old_filter(rows: pa.Table, features: tuple[str, ...]) -> str:
    """Why the old notebook's ``dropna`` keeps so few films: its emptiest columns."""
    released = rows.filter(pc.fill_null(pc.equal(rows["status"], "Released"), False))
    if released.num_rows == 0:
        return "no rated film has status Released"
    missing = []
    for name in features:
        if name in ("budget", "runtime"):
            continue
        share = released[name].null_count / released.num_rows
        if share > 0:
            missing.append((share, name))
    empty = [name for share, name in missing if share == 1.0]
    if empty:
        return f"empty among released films: {', '.join(empty)}"
    worst = sorted(missing, reverse=True)[:3]
    return "most often missing: " + ", ".join(f"{name} ({share:.0%})" for share, name in worst)


def _parity_entry(rows: pa.Table, train: np.ndarray, test: np.ndarray, features: tuple[str, ...],
                  seed: int, *, kept: int, all_rows: pa.Table) -> Comparison:
    """One old-recipe score, or "not computable" with the reason (never an exception)."""
    facts: dict[str, Any] = {"rows": kept, "features": len(features)}
    if len(train) < MIN_PARITY_TRAIN_ROWS or len(test) == 0:
        return Comparison.failed(
            f"the old notebook's row filter (released films with none of its {len(features)} columns "
            f"missing) leaves {len(train):,} training and {len(test):,} test films of {all_rows.num_rows:,} "
            f"({dropped_by_old_filter(all_rows, features)})", **facts)
    try:
        metrics = fit_old_notebook(rows, train, test, features, seed)
    except Exception as exc:  # a comparison never ends the run
        return Comparison.failed(f"{type(exc).__name__}: {exc}", **facts)
    return Comparison(**rounded_metrics(metrics), **facts)


def seed_parity(rows: pa.Table, split: Split, *, seed: int = 42) -> dict[str, Comparison]:
    """The old notebook's model on the same data, two ways (each "not computable" when it
    keeps too few films, e.g. a view whose producers are all unknown).

    * ``old_notebook_random_split``: exactly as it was: its 27 features including
      ``imdb_votes``, its row filter, label encoding, default XGBoost, random 80/20 split.
    * ``old_notebook_temporal_no_votes``: the same recipe without ``imdb_votes`` (unknown
      before release), trained on our split's training films it would keep and scored on
      our whole hold-out: the number our model has to beat.
    """
    out: dict[str, Comparison] = {}
    try:
        kept = old_notebook_rows(rows, OLD_NOTEBOOK_FEATURES)
        as_it_was = rows.take(kept)
        n_test = round(len(kept) * 0.2)
        if len(kept) - n_test >= MIN_PARITY_TRAIN_ROWS and n_test >= 1:
            random = random_split(as_it_was, test_size=0.2, seed=seed)
            train, test = random.train, random.test
        else:
            train, test = np.array([], np.int64), np.array([], np.int64)
        out["old_notebook_random_split"] = _parity_entry(
            as_it_was, train, test, OLD_NOTEBOOK_FEATURES, seed, kept=len(kept), all_rows=rows)
    except Exception as exc:  # a comparison never ends the run
        out["old_notebook_random_split"] = Comparison.failed(f"{type(exc).__name__}: {exc}")
    no_votes = tuple(f for f in OLD_NOTEBOOK_FEATURES if f != "imdb_votes")
    try:
        kept_no_votes = old_notebook_rows(rows, no_votes)
        train = split.train[np.isin(split.train, kept_no_votes)]
        out["old_notebook_temporal_no_votes"] = _parity_entry(
            rows, train, split.test, no_votes, seed, kept=int(len(train) + len(split.test)), all_rows=rows)
    except Exception as exc:
        out["old_notebook_temporal_no_votes"] = Comparison.failed(f"{type(exc).__name__}: {exc}")
    return out


@task(name="seed-parity", cache_policy=NO_CACHE, timeout_seconds=1800)
def seed_parity_task(data: TrainingData, split: Split, seed: int) -> dict[str, Comparison]:
    parity = seed_parity(data.rows, split, seed=seed)
    for name, score in parity.items():
        if score.computable:
            get_run_logger().info("%s: rmse %.4f, mse %.4f, r2 %.4f on %s rows", name, score.rmse,
                                  score.mse, score.r2, f"{score.rows:,}")
        else:
            get_run_logger().warning("%s: %s", name, score.rmse_text())
    return parity
