"""Pure helpers over measured runs: medians, store size, goals. No processes, no timing."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.proc import ChildRun

#: The issue's goals.
BACKFILL_MAX_RATIO = 5.0
DAILY_MAX_RATIO = 4.0
PEAK_RSS_MAX_BYTES = 4_000_000_000  # 4 GB (decimal: the stricter reading)
DAILY_MAX_CHANGED_SHARE = 0.01
#: "does not grow by a full copy per daily": a daily may add at most this share of the
#: backfill's size (a full copy would be 1.0; the changed rows are about 0.01).
GROWTH_MAX_FRACTION = 0.10


@dataclass(frozen=True)
class Run:
    """One measured run of a job, flattened for reporting.

    Attributes:
        work_s: wall time of the work inside the child (no interpreter start, no imports).
        work_cpu_s: CPU time of the work inside the child (user + system, all threads).
        work_sys_s: the system part of ``work_cpu_s`` (mostly page faults).
        process_s: wall time of the whole child process.
        cpu_s: CPU time of the whole child process.
        maxrss_bytes: peak RSS of the child process.
        minflt: minor page faults of the child process.
        info: the job's own result (counts, stages).
    """

    work_s: float
    work_cpu_s: float
    work_sys_s: float
    process_s: float
    cpu_s: float
    maxrss_bytes: int
    minflt: int
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_child(cls, child: ChildRun) -> Run:
        r = child.result
        return cls(r["work_s"], r["work_cpu_s"], r["work_sys_s"], child.wall_s, child.cpu_s,
                   child.maxrss_bytes, child.minflt, r)

    @property
    def changed_share(self) -> float:
        """(new + changed + deleted) films over the records read."""
        i = self.info
        return (i["new"] + i["changed"] + i["deleted"]) / max(i["rows_read"], 1)


@dataclass(frozen=True)
class Measurement:
    """Repeated runs of one job."""

    name: str
    runs: tuple[Run, ...]

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.runs)

    def all(self, attribute: str) -> list[float]:
        return [getattr(r, attribute) for r in self.runs]

    @property
    def peak_rss(self) -> int:
        return max(r.maxrss_bytes for r in self.runs)

    def stage_medians(self) -> dict[str, dict[str, float]]:
        """Median wall/CPU time and the largest peak RSS per stage over the runs."""
        names = list(dict.fromkeys(n for r in self.runs for n in r.info.get("stages", {})))
        out = {}
        for name in names:
            items = [r.info["stages"][name] for r in self.runs if name in r.info.get("stages", {})]
            out[name] = {
                "wall_s": statistics.median(i["wall_s"] for i in items),
                "cpu_s": statistics.median(i["cpu_s"] for i in items),
                "hwm_bytes": max(i["hwm_bytes"] for i in items),
            }
        return out


def tree_bytes(root: Path) -> tuple[int, int]:
    """Total size in bytes and number of files under ``root``."""
    total = files = 0
    for path in root.rglob("*"):
        if path.is_file():
            total += path.stat().st_size
            files += 1
    return total, files


@dataclass(frozen=True)
class Goal:
    """One acceptance criterion and whether the measurement meets it."""

    name: str
    target: str
    measured: str
    passed: bool


def growth_fractions(sizes: list[int]) -> list[float]:
    """Growth of each daily as a fraction of the backfill size (``sizes[0]``)."""
    return [(b - a) / sizes[0] for a, b in itertools.pairwise(sizes)]


def _later_dailies(runs: list[Run], base: float) -> str:
    """The dailies after the first (their log holds several versions of some films)."""
    later = runs[1:]
    if not later:
        return ""
    median = statistics.median(r.work_s for r in later)
    return f"; dailies 2-{len(runs)} of the growth series: median {median / base:.2f}x ({median:.2f} s)"


def evaluate(parse: Measurement, backfill: Measurement, daily: Measurement,
             growth: dict[str, Any]) -> list[Goal]:
    """PASS/FAIL of every goal from the measurements.

    Args:
        parse: the ``pyarrow.csv.read_csv`` baseline.
        backfill: backfill runs.
        daily: daily-update runs.
        growth: the store-growth result (``sizes``, ``checks``, ``daily_runs``).

    Returns:
        The goals in report order.
    """
    base = parse.median("work_s")
    b_ratio = backfill.median("work_s") / base
    d_ratio = daily.median("work_s") / base
    ingest_runs = [*backfill.runs, *daily.runs, *growth["daily_runs"]]
    peak = max(r.maxrss_bytes for r in ingest_runs)
    shares = [r.changed_share for r in (*daily.runs, *growth["daily_runs"])]
    fractions = growth_fractions(growth["sizes"])
    worst = max(fractions) if fractions else 0.0
    failed = [c for c in growth["checks"] if not c["ok"]]
    return [
        Goal("backfill time", f"<= {BACKFILL_MAX_RATIO:g}x parse",
             f"{b_ratio:.2f}x ({backfill.median('work_s'):.2f} s / {base:.2f} s)",
             b_ratio <= BACKFILL_MAX_RATIO),
        Goal("daily time", f"<= {DAILY_MAX_RATIO:g}x parse",
             f"{d_ratio:.2f}x ({daily.median('work_s'):.2f} s / {base:.2f} s)"
             + _later_dailies(growth["daily_runs"], base),
             d_ratio <= DAILY_MAX_RATIO),
        Goal("daily changed share (precondition)", f"<= {DAILY_MAX_CHANGED_SHARE:.0%}",
             f"max {max(shares):.3%}", max(shares) <= DAILY_MAX_CHANGED_SHARE),
        Goal("peak memory (any ingest run)", f"< {PEAK_RSS_MAX_BYTES / 1e9:g} GB",
             f"{peak / 1e9:.2f} GB", peak < PEAK_RSS_MAX_BYTES),
        Goal("store growth per daily", f"<= {GROWTH_MAX_FRACTION:.0%} of backfill size",
             f"max {worst:.2%}, total {sum(fractions):.2%} after {len(fractions)} dailies",
             worst <= GROWTH_MAX_FRACTION),
        Goal("every commit readable", "row counts match commit records",
             f"{len(growth['checks']) - len(failed)}/{len(growth['checks'])} reads ok",
             not failed and bool(growth["checks"])),
    ]
