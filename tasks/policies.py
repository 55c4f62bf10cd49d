"""Retry and concurrency policy shared by the tasks that do I/O (downloads, feature store, registry)."""

from __future__ import annotations

import logging
from typing import Any

from prefect.tasks import exponential_backoff

from movie_ratings.errors import is_transient

#: Tag of every task that writes to the feature store. ``make deploy`` (and ``make serve``)
#: create a Prefect concurrency limit of 1 on it, so two flow runs never write the store at
#: the same time, whichever deployments they come from; see ``deployments/server_setup.py``.
STORE_WRITES_TAG = "feature-store-writes"


def _logger() -> logging.Logger | logging.LoggerAdapter:
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry network, throttling and lock failures only.

    Bad data (:class:`movie_ratings.errors.DataError`) is never retried: it would fail the
    same way again and only delay the alert. Prefect itself logs each retry with the
    exception that caused it ("Task run failed with exception: TransientError(...) - Retry
    1/3 will start 2.1 second(s) from now"); a failure that is not retried is logged here,
    with the reason, because Prefect says nothing in that case.
    """
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            exc = state.result(raise_on_failure=False)
        except Exception as err:  # the result itself could not be loaded
            exc = err
    retry = isinstance(exc, BaseException) and is_transient(exc)
    if not retry:
        _logger().warning(
            "%s failed with %s: not retried (only network, throttling, timeout and lock "
            "failures are)", getattr(task, "name", "task"), type(exc).__name__,
        )
    return retry


#: Keyword arguments of ``@task`` for I/O: 3 retries, exponential backoff with jitter.
IO_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_if_transient,
}
