"""Decide which snapshot dates the main job ingests (backfill first, then daily catch-up)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from movie_ratings.settings import get_settings
from movie_ratings.store import get_feature_store
from tasks.policies import IO_RETRIES


@dataclass(frozen=True)
class IngestPlan:
    """Dates to ingest: an optional backfill, then daily updates in order.

    ``None`` as a date means "the source's latest" (Kaggle picks its own date).
    """

    backfill: date | None
    needs_backfill: bool
    daily: tuple[date | None, ...]


def plan_ingest(
    *, source: str, latest: date | None, as_of: date | None, days: int, today: date
) -> IngestPlan:
    """Plan the main job.

    The demo feed can be asked for any date, so an empty store is backfilled ``days - 1``
    days before ``as_of`` and brought forward one daily snapshot at a time; a store that
    is behind catches up on the missing days (at most ``days``). Other sources only have
    their latest snapshot: a backfill when the store is empty, else one daily update.

    Args:
        source: source name.
        latest: snapshot date of the store's latest commit, None when empty.
        as_of: target date (today when None).
        days: how many daily snapshots the demo simulates.
        today: today's date (UTC), passed in so the function stays pure.

    Returns:
        The plan.
    """
    if source != "demo":
        if latest is None:
            return IngestPlan(backfill=as_of, needs_backfill=True, daily=())
        return IngestPlan(backfill=None, needs_backfill=False, daily=(as_of,))
    target = as_of or today
    first_day = target - timedelta(days=max(days, 1) - 1)
    if latest is None:
        span = (target - first_day).days
        return IngestPlan(
            backfill=first_day,
            needs_backfill=True,
            daily=tuple(first_day + timedelta(days=i) for i in range(1, span + 1)),
        )
    start = max(latest, first_day - timedelta(days=1)) + timedelta(days=1)
    if start > target:  # up to date: re-running today's snapshot is a no-op, keep it visible
        return IngestPlan(backfill=None, needs_backfill=False, daily=(target,) if latest == target else ())
    return IngestPlan(
        backfill=None,
        needs_backfill=False,
        daily=tuple(start + timedelta(days=i) for i in range((target - start).days + 1)),
    )


@task(name="plan-ingest", cache_policy=NO_CACHE, timeout_seconds=120, **IO_RETRIES)
def plan_ingest_task(source: str, as_of: date | None, days: int) -> IngestPlan:
    """Plan against the store's latest commit (a store read: retried on transient errors)."""
    latest = get_feature_store(get_settings()).latest_commit()
    return plan_ingest(
        source=source,
        latest=latest.snapshot_date if latest else None,
        as_of=as_of,
        days=days,
        today=datetime.now(UTC).date(),
    )
