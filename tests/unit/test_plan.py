"""Which snapshot dates a main run ingests, given the store's latest snapshot date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

import tasks.plan as plan_module
from movie_ratings.store.base import StoreCommit
from tasks.plan import IngestPlan, plan_ingest

TODAY = date(2026, 3, 10)


def day(offset: int) -> date:
    """TODAY shifted by ``offset`` days."""
    return TODAY + timedelta(days=offset)


def days_between(first: int, last: int) -> tuple[date, ...]:
    """Every day from TODAY+first to TODAY+last, inclusive."""
    return tuple(day(i) for i in range(first, last + 1))


def demo(latest: date | None, as_of: date | None = None, days: int = 7) -> IngestPlan:
    return plan_ingest(source="demo", latest=latest, as_of=as_of, days=days, today=TODAY)


# --------------------------------------------------------------------------------------
# demo source
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "backfill", "daily"),
    [
        (7, day(-6), days_between(-5, 0)),
        (3, day(-2), days_between(-1, 0)),
        (2, day(-1), (day(0),)),
        (1, day(0), ()),
        (0, day(0), ()),  # fewer than one day counts as one
        (-5, day(0), ()),
    ],
)
def test_empty_store_is_backfilled_then_brought_forward(days: int, backfill: date, daily) -> None:
    plan = demo(None, days=days)
    assert plan == IngestPlan(backfill=backfill, needs_backfill=True, daily=daily)
    assert len(plan.daily) + 1 == max(days, 1)  # `days` snapshots in all


def test_empty_store_backfill_ends_at_as_of_not_today() -> None:
    as_of = date(2025, 1, 31)
    plan = demo(None, as_of=as_of, days=3)
    assert plan == IngestPlan(
        backfill=date(2025, 1, 29),
        needs_backfill=True,
        daily=(date(2025, 1, 30), date(2025, 1, 31)),
    )


@pytest.mark.parametrize("days", [1, 7, 30])
def test_up_to_date_store_reruns_only_the_target_day(days: int) -> None:
    """Re-running today's snapshot is a no-op in the store, kept visible in the plan."""
    assert demo(day(0), days=days) == IngestPlan(None, False, (day(0),))


@pytest.mark.parametrize(
    ("latest", "daily"),
    [
        (day(-1), (day(0),)),
        (day(-3), days_between(-2, 0)),
        (day(-6), days_between(-5, 0)),
        (day(-7), days_between(-6, 0)),  # exactly `days` missing days
        (day(-8), days_between(-6, 0)),  # more missing than `days`: only the last `days`
        (day(-400), days_between(-6, 0)),
    ],
)
def test_store_behind_catches_up_on_at_most_days_missing_days(latest: date, daily) -> None:
    plan = demo(latest, days=7)
    assert plan == IngestPlan(backfill=None, needs_backfill=False, daily=daily)
    assert list(plan.daily) == sorted(plan.daily)
    assert all(d > latest for d in plan.daily)


@pytest.mark.parametrize(
    ("days", "daily"),
    [
        (1, (day(0),)),
        (2, days_between(-1, 0)),
        (5, days_between(-4, 0)),
        (10, days_between(-9, 0)),
        (0, (day(0),)),
    ],
)
def test_days_caps_the_catch_up(days: int, daily) -> None:
    assert demo(day(-10), days=days).daily == daily


@pytest.mark.parametrize("latest", [day(1), day(5), day(365)])
def test_as_of_earlier_than_the_store_plans_nothing(latest: date) -> None:
    """A store ahead of the target is never rewritten back in time."""
    assert demo(latest, as_of=day(0)) == IngestPlan(None, False, ())


def test_as_of_replaces_today() -> None:
    as_of = date(2024, 6, 15)
    assert demo(date(2024, 6, 13), as_of=as_of).daily == (date(2024, 6, 14), as_of)
    assert demo(as_of, as_of=as_of).daily == (as_of,)


def test_catch_up_crosses_month_and_year_ends() -> None:
    plan = demo(date(2025, 12, 30), as_of=date(2026, 1, 2))
    assert plan.daily == (date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2))


def test_today_is_only_used_without_as_of() -> None:
    as_of = date(2020, 3, 1)
    one = plan_ingest(source="demo", latest=None, as_of=as_of, days=3, today=date(2030, 1, 1))
    two = plan_ingest(source="demo", latest=None, as_of=as_of, days=3, today=date(1990, 1, 1))
    assert one == two
    assert one.backfill == date(2020, 2, 28)
    assert one.daily == (date(2020, 2, 29), date(2020, 3, 1))  # leap day


# --------------------------------------------------------------------------------------
# sources with only their latest snapshot
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["csv", "kaggle"])
@pytest.mark.parametrize("as_of", [None, date(2026, 3, 1)])
def test_other_sources_backfill_an_empty_store_once(source: str, as_of: date | None) -> None:
    plan = plan_ingest(source=source, latest=None, as_of=as_of, days=7, today=TODAY)
    assert plan == IngestPlan(backfill=as_of, needs_backfill=True, daily=())


@pytest.mark.parametrize("source", ["csv", "kaggle"])
@pytest.mark.parametrize(
    ("latest", "as_of"),
    [
        (day(-3), None),
        (day(-3), day(0)),
        (day(0), day(0)),
        (day(-100), day(0)),
        # a target older than the store is still planned: the store refuses it on write
        (day(5), day(0)),
    ],
)
@pytest.mark.parametrize("days", [1, 7])
def test_other_sources_do_one_daily_update(source, latest, as_of, days) -> None:
    plan = plan_ingest(source=source, latest=latest, as_of=as_of, days=days, today=TODAY)
    assert plan == IngestPlan(backfill=None, needs_backfill=False, daily=(as_of,))


def test_plan_is_pure() -> None:
    kwargs = {"source": "demo", "latest": day(-3), "as_of": None, "days": 7, "today": TODAY}
    assert plan_ingest(**kwargs) == plan_ingest(**kwargs)
    with pytest.raises(TypeError):
        plan_ingest("demo", None, None, 7, TODAY)  # keyword-only


# --------------------------------------------------------------------------------------
# the task reads the store's latest commit
# --------------------------------------------------------------------------------------


class _Store:
    def __init__(self, latest: StoreCommit | None) -> None:
        self._latest = latest

    def latest_commit(self) -> StoreCommit | None:
        return self._latest


def _commit(snapshot_date: date) -> StoreCommit:
    return StoreCommit(
        number=3,
        created_at="2026-03-10T00:00:00+00:00",
        snapshot_date=snapshot_date,
        source="demo",
        source_version=None,
        is_demo=True,
        groups={},
    )


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (None, IngestPlan(date(2026, 3, 8), True, (date(2026, 3, 9), date(2026, 3, 10)))),
        (_commit(date(2026, 3, 8)), IngestPlan(None, False, (date(2026, 3, 9), date(2026, 3, 10)))),
    ],
)
def test_task_plans_against_the_latest_commit(monkeypatch, latest, expected) -> None:
    monkeypatch.setattr(plan_module, "get_feature_store", lambda settings: _Store(latest))
    plan = plan_module.plan_ingest_task.fn("demo", date(2026, 3, 10), 3)
    assert plan == expected
