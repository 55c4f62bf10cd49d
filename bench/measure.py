"""Pure helpers over measured runs: medians, store size, goals. No processes, no timing."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.proc import ChildRun

#: The issues' goals.
BACKFILL_MAX_RATIO = 5.0
DAILY_MAX_RATIO = 4.0
PEAK_RSS_MAX_BYTES = 4_000_000_000  # 4 GB (decimal: the stricter reading)
DAILY_MAX_CHANGED_SHARE = 0.01
#: "does not grow by a full copy per daily": a daily may add at most this share of the
#: backfill's size (a full copy would be 1.0; the changed rows are about 0.01).
GROWTH_MAX_FRACTION = 0.10
TRAINING_MAX_S = 600.0
TRAINING_PEAK_MAX_BYTES = 6_000_000_000
INFERENCE_MAX_S = 30.0
BATCH_MAX_S = 30.0
#: Rows of the batch-predict goal and days of the store-size goal.
BATCH_GOAL_ROWS = 100_000
STORE_GOAL_DAYS = 30
STORE_MAX_GROWTH = 2.0


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
        load: 1-minute load average of the machine when the run started.
    """

    work_s: float
    work_cpu_s: float
    work_sys_s: float
    process_s: float
    cpu_s: float
    maxrss_bytes: int
    minflt: int
    info: dict[str, Any] = field(default_factory=dict)
    load: float | None = None

    @classmethod
    def from_child(cls, child: ChildRun, load: float | None = None) -> Run:
        r = child.result
        return cls(r["work_s"], r["work_cpu_s"], r["work_sys_s"], child.wall_s, child.cpu_s,
                   child.maxrss_bytes, child.minflt, r, load)

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
        if not self.runs:
            return float("nan")
        return statistics.median(getattr(r, attribute) for r in self.runs)

    def all(self, attribute: str) -> list[float]:
        return [getattr(r, attribute) for r in self.runs]

    @property
    def peak_rss(self) -> int:
        return max((r.maxrss_bytes for r in self.runs), default=0)

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


def store_bytes(root: Path) -> dict[str, int]:
    """Bytes of each part of a local store: every feature group, the rejects, the
    predictions history and the rest (commit records, view definitions)."""
    parts: dict[str, int] = {}
    for child in sorted(root.iterdir()) if root.exists() else []:
        if child.name in ("groups", "history") and child.is_dir():
            for group in sorted(child.iterdir()):
                parts[f"{child.name}/{group.name}"] = tree_bytes(group)[0]
        elif child.is_dir():
            parts[child.name] = tree_bytes(child)[0]
        else:
            parts["other"] = parts.get("other", 0) + child.stat().st_size
    return parts


@dataclass(frozen=True)
class Goal:
    """One acceptance criterion and whether the measurement meets it.

    ``passed`` is None when the run was too small to check the goal as stated (fewer than
    30 dailies, a batch under 100k rows): the number is reported, the verdict is not.
    """

    name: str
    target: str
    measured: str
    passed: bool | None

    @property
    def failed(self) -> bool:
        return self.passed is False


def growth_fractions(sizes: list[int]) -> list[float]:
    """Growth of each daily as a fraction of the backfill size (``sizes[0]``)."""
    return [(b - a) / sizes[0] for a, b in itertools.pairwise(sizes)]


def _later_dailies(runs: list[Run], base: float) -> str:
    """The dailies of the growth series (each followed by an inference)."""
    if not runs:
        return ""
    median = statistics.median(r.work_s for r in runs)
    return f"; the {len(runs)} dailies of the growth series: median {median / base:.2f}x ({median:.2f} s)"


def _seconds(m: Measurement) -> str:
    runs = ", ".join(f"{v:.1f}" for v in m.all("work_s"))
    return f"median {m.median('work_s'):.1f} s of {len(m.runs)} run(s) ({runs})"


def evaluate(m: dict[str, Measurement], series: dict[str, Any], *, days: int,
             batch_rows: int) -> list[Goal]:
    """PASS/FAIL of every goal from the measurements.

    Args:
        m: measurements by key: ``parse`` (the ``pyarrow.csv.read_csv`` limit), ``backfill``,
            ``daily``, ``training``, ``inference`` (of each daily batch), ``batch``.
        series: the growth series (``sizes``, ``checks``, ``models``, ``daily_runs``).
        days: dailies in the series (the store goal is stated for 30).
        batch_rows: rows of the batch-predict file (the goal is stated for 100k).

    Returns:
        The goals in report order.
    """
    parse, backfill, daily = m["parse"], m["backfill"], m["daily"]
    base = parse.median("work_s")
    b_ratio = backfill.median("work_s") / base
    d_ratio = daily.median("work_s") / base
    ingest_runs = [*backfill.runs, *daily.runs, *series["daily_runs"]]
    peak = max(r.maxrss_bytes for r in ingest_runs)
    shares = [r.changed_share for r in (*daily.runs, *series["daily_runs"])]
    sizes = series["sizes"]
    fractions = growth_fractions(sizes)
    worst = max(fractions) if fractions else 0.0
    failed = [c for c in series["checks"] if not c["ok"]]
    models = series["models"]
    bad_models = [x for x in models if not x["ok"]]
    training, inference, batch = m["training"], m["inference"], m["batch"]
    train_s = training.median("work_s")
    infer_s = inference.median("work_s")
    batch_s = batch.median("work_s")
    growth = sizes[-1] / sizes[0]
    short_days = "" if days >= STORE_GOAL_DAYS else f" (only {days} dailies: not the goal's {STORE_GOAL_DAYS})"
    short_rows = "" if batch_rows >= BATCH_GOAL_ROWS else f" (only {batch_rows:,} rows)"
    return [
        Goal("backfill time", f"<= {BACKFILL_MAX_RATIO:g}x parse",
             f"{b_ratio:.2f}x ({backfill.median('work_s'):.2f} s / {base:.2f} s)",
             b_ratio <= BACKFILL_MAX_RATIO),
        Goal("daily time", f"<= {DAILY_MAX_RATIO:g}x parse",
             f"{d_ratio:.2f}x ({daily.median('work_s'):.2f} s / {base:.2f} s)"
             + _later_dailies(series["daily_runs"], base),
             d_ratio <= DAILY_MAX_RATIO),
        Goal("daily changed share (precondition)", f"<= {DAILY_MAX_CHANGED_SHARE:.0%}",
             f"max {max(shares):.3%}", max(shares) <= DAILY_MAX_CHANGED_SHARE),
        Goal("peak memory (any ingest run)", f"< {PEAK_RSS_MAX_BYTES / 1e9:g} GB",
             f"{peak / 1e9:.2f} GB", peak < PEAK_RSS_MAX_BYTES),
        Goal("training time (all candidates)", f"< {TRAINING_MAX_S / 60:g} min",
             f"{_seconds(training)} = {train_s / 60:.1f} min", train_s < TRAINING_MAX_S),
        Goal("training peak memory", f"< {TRAINING_PEAK_MAX_BYTES / 1e9:g} GB",
             f"{training.peak_rss / 1e9:.2f} GB", training.peak_rss < TRAINING_PEAK_MAX_BYTES),
        Goal("inference of the daily batch", f"< {INFERENCE_MAX_S:g} s",
             f"{_seconds(inference)}; max {max(inference.all('work_s')):.1f} s",
             infer_s < INFERENCE_MAX_S),
        Goal(f"batch predict {batch_rows:,} rows", f"< {BATCH_MAX_S:g} s for {BATCH_GOAL_ROWS:,} rows",
             _seconds(batch) + short_rows, None if short_rows else batch_s < BATCH_MAX_S),
        Goal("store growth per daily", f"<= {GROWTH_MAX_FRACTION:.0%} of backfill size",
             f"max {worst:.2%}, total {sum(fractions):.2%} after {len(fractions)} dailies",
             worst <= GROWTH_MAX_FRACTION),
        Goal(f"store after {STORE_GOAL_DAYS} dailies", f"<= {STORE_MAX_GROWTH:g}x its size after backfill",
             f"{growth:.3f}x ({sizes[0] / 1e6:.1f} MB -> {sizes[-1] / 1e6:.1f} MB after {days} "
             f"dailies and inferences){short_days}",
             None if short_days else growth <= STORE_MAX_GROWTH),
        Goal("every commit readable", "row counts match commit records",
             f"{len(series['checks']) - len(failed)}/{len(series['checks'])} reads ok",
             not failed and bool(series["checks"])),
        Goal("every registered model's training data readable",
             "view at the card's store commit: same labelled rows and split",
             f"{len(models) - len(bad_models)}/{len(models)} models ok (store commits "
             f"{', '.join(str(x['store_commit']) for x in models)})",
             not bad_models and bool(models)),
    ]
