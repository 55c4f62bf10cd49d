"""Soak: the main job run once per simulated day on the demo feed, checked after every day.

:func:`run_soak` calls the real ``main`` flow (backfill on the first day, a daily update
on each later one; training on the first day, an inference every day) under the current
Prefect API, then runs every check of ``day_checks`` on a :class:`SoakDay`: the store
equals the day's feed, and the predictions history grows by exactly that day's inference. ``tests/reliability/test_soak.py`` runs
it for 8 days in ``make test`` and for 60 with ``make soak``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable
from store_checks import log_duplicates

from movie_ratings.schema import FEATURE_GROUPS, MOVIES
from movie_ratings.settings import get_settings
from movie_ratings.sources.demo import DemoSource
from movie_ratings.store.local import LocalFeatureStore
from tasks.clean import read_and_clean
from tasks.features import build_features


@dataclass(frozen=True)
class SoakDay:
    """One simulated day, after the main job ran.

    Attributes:
        number: 0 for the first day (the backfill), then 1, 2, ...
        day: the snapshot date.
        result: what the ``main`` flow returned.
        home: ``MOVIE_RATINGS_HOME`` of the soak.
        store: the feature store.
        snapshot: the demo snapshot CSV of the day, as the flow read it.
        seconds: wall time of the main job.
        store_bytes: size of the store on disk after the day.
    """

    number: int
    day: date
    result: dict[str, Any]
    home: Path
    store: LocalFeatureStore
    snapshot: Path
    seconds: float
    store_bytes: int


DayCheck = Callable[[SoakDay], None]


def check_feature_store(day: SoakDay) -> None:
    """The store holds exactly the day's feed: one row per film, no duplicates, nothing lost.

    The expected rows are built from the day's snapshot on its own (clean, then
    features): whatever happened on earlier days, the store's current rows must equal
    them, apart from event times; films whose new record was quarantined keep their
    last good row.
    """
    run = ingest_run(day)
    store = day.store
    latest = store.latest_commit()
    assert latest is not None and latest.snapshot_date == day.day
    assert run["snapshot_date"] == day.day.isoformat()

    # cleaned in full, with each record's source hash, as a backfill cleans
    clean = read_and_clean(day.snapshot, day.day, "demo",
                           max_reject_fraction=get_settings().max_reject_fraction)
    assert run["rows_read"] == clean.rows_read and run["rejected"] == clean.rejected_rows
    expected = build_features(clean.table, day.day).tables
    previous = latest.number - 1 if latest.number > 1 else None
    quarantined = set(pc.drop_null(clean.rejects["id"]).to_pylist())

    for name, version in ((n, 1) for n in FEATURE_GROUPS):
        stored = store.read_group(name, version)
        ids = stored["id"].to_pylist()
        assert len(ids) == len(set(ids)), f"{day.day}: duplicate ids in {name}"
        assert latest.group(name, version).rows == len(ids)
        held = set()
        if previous is not None:
            before = set(store.read_group(name, version, commit=previous, columns=["id"])["id"].to_pylist())
            held = quarantined & before
        assert set(ids) == set(expected[name]["id"].to_pylist()) | held, f"{day.day}: {name} ids"
        live = stored.filter(pc.invert(pc.is_in(stored["id"], pa.array(sorted(held), pa.int64()))))
        assert _without_event_time(live).equals(_without_event_time(expected[name])), (
            f"{day.day}: {name} rows differ from the day's snapshot"
        )
    assert run["rows"][MOVIES.name] == latest.group(MOVIES.name, 1).rows
    assert set(log_duplicates(store.root).values()) == {0}
    if previous is not None:  # yesterday is still readable as it was
        assert store.read_group(MOVIES.name, 1, commit=previous).num_rows == (
            store.commit(previous).group(MOVIES.name, 1).rows
        )
    assert len(list(day.snapshot.parent.glob("*.csv"))) <= 1 + DemoSource.keep_files


def check_files_bounded(day: SoakDay) -> None:
    """No table of the latest commit has more data files than compaction allows.

    Reads (and the daily diff) cost time per file; without compaction each day adds one.
    """
    from movie_ratings.store.local import delta as local_delta

    latest = day.store.latest_commit()
    tables = {day.store.root / "groups" / key: g.table_version for key, g in latest.groups.items()}
    tables[day.store.root / "rejects"] = latest.rejects_table_version
    for path, version in tables.items():
        files = len(DeltaTable(path, version=version).file_uris())
        assert files <= local_delta.COMPACT_AFTER_FILES, f"{day.day}: {path.name} has {files} files"


def _without_event_time(table: pa.Table) -> pa.Table:
    return table.drop_columns(["snapshot_date"]).sort_by("id")


#: Checks run after every simulated day, in order. Later stages append theirs.
def ingest_run(day: SoakDay) -> dict[str, Any]:
    """The day's backfill or daily-features summary among the main job's runs."""
    (run,) = [r for r in day.result["runs"] if r["flow"] in ("backfill", "daily-features")]
    return run


def check_predictions_history(day: SoakDay) -> None:
    """Every day adds one inference's predictions to the history, and nothing else changes.

    The history holds, for each day so far, exactly the films that day's inference
    predicted, one row per (film, model version, day); earlier days are never rewritten.
    """
    from movie_ratings.schema import MOVIE_PREDICTIONS

    (inference,) = [r for r in day.result["runs"] if r["flow"] == "inference"]
    assert inference["snapshot_date"] == day.day.isoformat()
    history = day.store.read_all_rows(MOVIE_PREDICTIONS.name, 1)
    keys = history.select(["id", "model_version", "prediction_date"])
    assert keys.group_by(keys.column_names).aggregate([]).num_rows == history.num_rows
    dates = history["prediction_date"].to_pylist()
    assert max(dates) == day.day
    today = sum(1 for d in dates if d == day.day)
    assert today == inference["predicted"] > 0
    counts = _HISTORY_COUNTS.setdefault(day.home, {})
    for earlier, count in counts.items():
        assert sum(1 for d in dates if d == earlier) == count, f"predictions of {earlier} changed"
    counts[day.day] = today
    assert history.num_rows == sum(counts.values())


_HISTORY_COUNTS: dict[Path, dict[date, int]] = {}

DAY_CHECKS: list[DayCheck] = [check_feature_store, check_predictions_history, check_files_bounded]


@dataclass
class SoakReport:
    """Sizes and times of a soak, one entry per day."""

    days: list[SoakDay] = field(default_factory=list)

    @property
    def backfill_bytes(self) -> int:
        return self.days[0].store_bytes

    @property
    def growth_per_day(self) -> float:
        """Average bytes the store grew per daily update."""
        if len(self.days) < 2:
            return 0.0
        return (self.days[-1].store_bytes - self.backfill_bytes) / (len(self.days) - 1)

    def lines(self) -> list[str]:
        out = ["day         run       s   store MB  new  changed  deleted  rejected  predicted"]
        for d in self.days:
            run = ingest_run(d)
            predicted = sum(r["predicted"] for r in d.result["runs"] if r["flow"] == "inference")
            out.append(
                f"{d.day}  {run['flow'][:8]:8} {d.seconds:5.1f} {d.store_bytes / 1e6:9.2f} "
                f"{run['new']:5} {run['changed']:8} {run['deleted']:8} {run['rejected']:9} {predicted:10}"
            )
        first, last = self.days[0], self.days[-1]
        out.append(
            f"store: {first.store_bytes / 1e6:.2f} MB after the backfill, {last.store_bytes / 1e6:.2f} MB "
            f"after {len(self.days) - 1} dailies (+{self.growth_per_day / 1e3:.1f} kB per day, "
            f"{self.growth_per_day / first.store_bytes:.1%} of the backfilled store)"
        )
        dailies = [d.seconds for d in self.days[1:]] or [0.0]
        out.append(
            f"time: backfill {first.seconds:.1f} s; dailies {min(dailies):.1f}-{max(dailies):.1f} s, "
            f"{sum(dailies):.1f} s in all"
        )
        return out


def directory_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run_soak(
    days: int,
    *,
    start: date,
    day_checks: Sequence[DayCheck] = DAY_CHECKS,
    report: Callable[[str], None] = print,
) -> SoakReport:
    """Run the main job for ``days`` consecutive days from ``start`` and check each day.

    Settings (home, demo size) come from the environment, as for any run.

    Args:
        days: simulated days (the first is the backfill).
        start: the first snapshot date.
        day_checks: called with each :class:`SoakDay`, in order; an assertion fails the soak.
        report: where each day's line goes.

    Returns:
        Every day's sizes and times.
    """
    from flows.main import main as main_flow

    settings = get_settings()
    store = LocalFeatureStore(settings.store_dir)
    demo = DemoSource(settings.downloads_dir / "demo", seed=settings.demo_seed, size=settings.demo_size,
                      churn=settings.demo_churn)
    soak = SoakReport()
    for number in range(days):
        day = start + timedelta(days=number)
        began = time.perf_counter()
        result = main_flow(source="demo", as_of=day, days=1)
        seconds = time.perf_counter() - began
        soak_day = SoakDay(number, day, result, settings.home, store, demo.path_for(day), seconds,
                           directory_bytes(settings.store_dir))
        for check in day_checks:
            check(soak_day)
        soak.days.append(soak_day)
        lines = soak.lines()
        if number == 0:
            report(lines[0])
        report(lines[number + 1])
    for line in soak.lines()[-2:]:
        report(line)
    return soak
