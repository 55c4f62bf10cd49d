"""Where a flow's submitted tasks run: threads in the flow's process, or a Dask cluster."""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from movie_ratings.errors import ConfigurationError
from movie_ratings.settings import get_settings


class ConfiguredTaskRunner(ThreadPoolTaskRunner[Any]):
    """A thread pool, or prefect-dask's ``DaskTaskRunner`` when ``MOVIE_RATINGS_DASK_ADDRESS`` is set.

    Prefect duplicates a flow's task runner when a run starts; the setting is read then,
    never at import, so the same flow object serves every configuration (CLI, deployments).
    """

    def duplicate(self) -> TaskRunner[Any]:  # type: ignore[override]  # another runner, by design
        return task_runner_for(get_settings().dask_address, get_settings().dask_local_workers)


def task_runner_for(address: str | None, local_workers: int = 2) -> TaskRunner[Any]:
    """The task runner of a Dask address (``local``: a new local cluster), or threads when None."""
    if not address:
        return ThreadPoolTaskRunner()
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ConfigurationError(
            f"MOVIE_RATINGS_DASK_ADDRESS is {address!r}, but prefect-dask is not installed: "
            "pip install 'movie-ratings[dask]' (or unset it to train in this process)") from None
    if address == "local":
        # Worker processes on loopback, one thread each: the estimators use the cores themselves.
        return DaskTaskRunner(cluster_kwargs={
            "n_workers": local_workers, "threads_per_worker": 1, "processes": True,
            "host": "127.0.0.1", "dashboard_address": None,
        })
    return DaskTaskRunner(address=address)
