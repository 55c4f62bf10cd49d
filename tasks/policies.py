"""Retry policy shared by the tasks that do I/O (downloads, feature store, registry)."""

from __future__ import annotations

from typing import Any

from prefect.tasks import exponential_backoff

from movie_ratings.errors import is_transient


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: retry network, throttling and lock failures only.

    Bad data (:class:`movie_ratings.errors.DataError`) is never retried: it would fail the
    same way again and only delay the alert.
    """
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            exc = state.result(raise_on_failure=False)
        except Exception as err:  # the result itself could not be loaded
            exc = err
    return isinstance(exc, BaseException) and is_transient(exc)


#: Keyword arguments of ``@task`` for I/O: 3 retries, exponential backoff with jitter.
IO_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_if_transient,
}
