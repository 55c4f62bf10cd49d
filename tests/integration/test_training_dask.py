"""Training on a two-worker Dask cluster on loopback registers the same model as in-process training.

Skipped only when the ``dask`` extra (prefect-dask) is missing; the dev extra installs it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("prefect_dask")

from distributed import Client, LocalCluster

from flows.backfill import backfill
from flows.training import training
from movie_ratings.modeling.artifacts import load_version, predict_ratings
from movie_ratings.registry import MODEL_NAME, get_model_registry
from movie_ratings.settings import get_settings
from movie_ratings.store import get_feature_store
from tasks.training_data import load_training_data

DAY0 = date(2026, 5, 1)
# The tuned model and a forest: a search and a seeded ensemble, where a difference in where
# and how they ran would show; small enough for a shared 2-core machine.
CANDIDATES = ["xgboost_tuned", "random_forest"]


def _executed_on(client: Client) -> dict[str, int]:
    """Tasks each worker of the cluster has run (by worker address)."""
    return client.run(lambda dask_worker: len(dask_worker.state.log))  # type: ignore[no-any-return]


def test_training_on_a_local_two_worker_dask_cluster_registers_the_same_model(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOVIE_RATINGS_DEMO_SIZE", "2000")
    backfill(source="demo", as_of=DAY0)
    default = training(candidates=CANDIDATES, seed=7)
    # Worker processes inherit this environment (store home, settings) when they start.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        before = _executed_on(client)
        monkeypatch.setenv("MOVIE_RATINGS_DASK_ADDRESS", cluster.scheduler_address)
        on_dask = training(candidates=CANDIDATES, seed=7)
        after = _executed_on(client)
    assert len(after) == 2
    assert sum(after.values()) > sum(before.values()), "no task ran on the Dask cluster"

    registry = get_model_registry(get_settings())
    first = registry.get(MODEL_NAME, default["model_version"])
    second = registry.get(MODEL_NAME, on_dask["model_version"])
    assert (first.version, second.version) == (1, 2)
    assert second.card.estimator == first.card.estimator
    assert second.card.metrics == first.card.metrics
    assert second.card.recipe == first.card.recipe
    assert second.card.parity == first.card.parity
    rows = load_training_data(get_feature_store(get_settings()), 1, None).rows
    # Equal up to the order of a floating-point sum (a forest averages its trees on threads).
    np.testing.assert_allclose(predict_ratings(load_version(second), rows),
                               predict_ratings(load_version(first), rows), rtol=0, atol=1e-9)
