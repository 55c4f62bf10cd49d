"""Exception types that decide what is retried and what is not.

A :class:`TransientError` (network, HTTP 429/5xx, timeouts, commit conflicts) may succeed
on a retry; a :class:`DataError` (bad or broken input) never will, so tasks never retry it.
"""

from __future__ import annotations


class MovieRatingsError(Exception):
    """Base class of the errors this project raises on purpose."""


class DataError(MovieRatingsError):
    """The input is wrong: a missing column, an empty or garbled file, a broken archive."""


class SchemaError(DataError):
    """A snapshot lacks required columns or cannot be parsed as the Kaggle schema."""


class BrokenSourceError(DataError):
    """Too large a share of a snapshot was quarantined: the source itself is broken."""


class TransientError(MovieRatingsError):
    """A failure that may go away on a retry (network, throttling, lock contention)."""


class ConfigurationError(MovieRatingsError):
    """Settings are missing or inconsistent (for example credentials)."""


def is_transient(exc: BaseException) -> bool:
    """Whether a failed task should be retried.

    Args:
        exc: the exception the task raised.

    Returns:
        True for :class:`TransientError` and the standard network/timeout errors;
        False for data errors and everything else.
    """
    if isinstance(exc, DataError | ConfigurationError):
        return False
    return isinstance(exc, TransientError | ConnectionError | TimeoutError)
