"""The training flow's task runner follows MOVIE_RATINGS_DASK_ADDRESS, read when a run starts."""

from __future__ import annotations

import sys

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from flows.task_runner import ConfiguredTaskRunner, task_runner_for
from flows.training import training
from movie_ratings.errors import ConfigurationError


def test_threads_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOVIE_RATINGS_DASK_ADDRESS", raising=False)
    assert isinstance(training.task_runner, ConfiguredTaskRunner)
    assert type(training.task_runner.duplicate()) is ThreadPoolTaskRunner


def test_dask_address_and_local_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    prefect_dask = pytest.importorskip("prefect_dask")
    monkeypatch.setenv("MOVIE_RATINGS_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    remote = training.task_runner.duplicate()
    assert isinstance(remote, prefect_dask.DaskTaskRunner) and remote.address == "tcp://127.0.0.1:8786"
    monkeypatch.setenv("MOVIE_RATINGS_DASK_ADDRESS", "local")
    monkeypatch.setenv("MOVIE_RATINGS_DASK_LOCAL_WORKERS", "3")
    local = training.task_runner.duplicate()
    assert isinstance(local, prefect_dask.DaskTaskRunner) and local.address is None
    assert local.cluster_kwargs["n_workers"] == 3 and local.cluster_kwargs["processes"] is True


def test_a_dask_address_without_the_extra_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prefect_dask", None)  # import fails as if not installed
    with pytest.raises(ConfigurationError, match=r"movie-ratings\[dask\]"):
        task_runner_for("local")
