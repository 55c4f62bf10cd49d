"""The daily path under the feed's churn (issue 18): a 1.2M-film backfill, then dailies in
which a given share of films' signals move, each a fresh worker process.

Run: ``python -m bench.churn [--size N] [--days N] [--churn F] [--fast] [--out FILE]``;
prints one JSON line per run and keeps them in ``--out``. ``python -m bench.churn --report
FILE... [--note TEXT]`` writes those runs into their own section of RESULTS.md (between
its markers, :data:`bench.sections.CHURN`), leaving the rest of the file as ``python -m bench`` wrote it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.sections import CHURN, write_marked

DAY0 = date(2026, 1, 1)


def _job(job: str, args: dict, work: Path, warm_gb: float = 0.0) -> dict:
    """Run one job in a fresh worker process; a measured one starts on warmed memory
    (:func:`bench.proc.warm_memory`, as ``python -m bench`` does) and records the load."""
    from bench.proc import warm_memory

    if job != "generate":
        warm_memory(warm_gb)
    load = os.getloadavg()[0]
    spec, out = work / "job.json", work / "out.json"
    spec.write_text(json.dumps({"job": job, "args": args}))
    subprocess.run([sys.executable, "-m", "bench.worker", str(spec), str(out)], check=True)
    return {**json.loads(out.read_text()), "load": load}


def churn_snapshot_path(size: int, as_of: date, churn: float) -> Path:
    """Cache file of a demo day with ``churn`` (the main benchmark's file when 0)."""
    from bench.snapshots import CACHE_DIR, demo_code_version, snapshot_path

    if churn == 0:
        return snapshot_path(42, size, as_of)
    return CACHE_DIR / f"demo-{demo_code_version()}-s42-n{size}-{as_of:%Y-%m-%d}-c{churn:g}.csv"


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def churned_clean(clean, day: int, churn: float, seed: int = 42):
    """The cleaned day-0 snapshot with the demo feed's churn of ``day`` applied to its
    signals (:func:`movie_ratings.sources.demo.churned`): what the feed's ``day`` would
    show for these films, without generating, writing and parsing a 1.2M-row CSV."""
    import numpy as np
    import pyarrow as pa

    from movie_ratings.sources import demo

    ids = clean["id"].to_numpy()
    moves = demo.churn_moves(ids, day, seed, churn)

    def values(name: str) -> tuple[np.ndarray, np.ndarray]:
        column = clean[name]
        return column.to_numpy(zero_copy_only=False).astype(float), column.is_null().to_numpy(
            zero_copy_only=False)

    (pop, pop_null), (vc, vc_null), (va, va_null), (iv, iv_null) = (
        values(n) for n in ("popularity", "vote_count", "vote_average", "imdb_votes"))
    moved = demo.churned(ids, moves, seed, np.nan_to_num(pop), np.nan_to_num(vc),
                          np.nan_to_num(va), np.nan_to_num(iv), ~iv_null)
    out = clean
    for name, new, null in zip(("popularity", "vote_count", "vote_average", "imdb_votes"), moved,
                               (pop_null, vc_null, va_null, iv_null), strict=True):
        out = out.set_column(out.schema.get_field_index(name), name,
                             pa.array(new, pa.float64(), mask=null))
    return out


def fast_series(csv0: Path, store_root: Path, days: int, churn: float, record) -> None:
    """``days`` churny dailies in this process, on the store the backfill wrote: the flows'
    ingest chain (:func:`bench.worker.run_ingest`) whose cleaning step gives the cleaned
    day-0 snapshot with the day's churn applied (:func:`churned_clean`)."""
    from dataclasses import replace

    import pyarrow as pa

    from bench.steps import PlainIngestSteps
    from bench.worker import Stages, run_ingest
    from movie_ratings.cleaning.snapshot import CleanSnapshot
    from movie_ratings.settings import get_settings
    from movie_ratings.sources import Snapshot
    from movie_ratings.store.local import LocalFeatureStore
    from tasks.clean import read_and_clean

    settings = get_settings()
    clean0 = read_and_clean(csv0, DAY0, "demo", settings.max_reject_fraction)
    store = LocalFeatureStore(store_root)
    backfill_mb = _size_mb(store_root)

    class ChurnedDay(PlainIngestSteps):
        def clean(self, path: Path, as_of: date, source: str, max_reject_fraction: float | None,
                  movies_version: int | None) -> CleanSnapshot:
            rejects = clean0.rejects.set_column(
                clean0.rejects.schema.get_field_index("snapshot_date"), "snapshot_date",
                pa.array([as_of] * clean0.rejects.num_rows, pa.date32()))
            return replace(clean0, table=churned_clean(clean0.table, (as_of - DAY0).days, churn), rejects=rejects)

    for day in range(1, days + 1):
        snapshot = Snapshot(path=csv0, as_of=DAY0 + timedelta(day), source="demo", version="", is_demo=True)
        stages = Stages()
        result = run_ingest(ChurnedDay(store, snapshot, settings), snapshot, require_existing=True, stages=stages)
        features, upsert = stages.items["build_features"], stages.items["upsert_snapshot"]
        size = _size_mb(store_root)
        record("fast_series", churn=churn, day=day, features_s=features["wall_s"], upsert_s=upsert["wall_s"],
               cpu_s=features["cpu_s"] + upsert["cpu_s"], changed=result["changed"],
               movies_changed=result["per_group"]["movies"]["changed"], store_mb=size,
               ratio_to_backfill=size / backfill_mb)


def report(paths: list[Path], note: str) -> str:
    """The RESULTS.md section of the sessions kept in ``paths`` (JSON lines of :func:`main`);
    each session's ratios are to its own parse limit."""
    lines = [
        CHURN.start,
        "## Daily path under churn (issue 18)",
        "",
        "`python -m bench.churn` at 1,200,000 demo films (seed 42): in each session the parse "
        "limit, a backfill, then dailies, each a fresh worker process (`bench/worker.py`, the "
        "ingest chain of the flows). One-day runs are on copies of the backfilled store. The "
        "30-day series (`--fast`) applies the demo feed's churn of each day to the cleaned "
        "day-0 snapshot in one process (no new or deleted films, no CSV written and parsed; "
        "its seconds are features + upsert only, and its CPU ratio is to the session's parse) "
        "because generating 30 CSVs of 1.2M films did not fit the time on the shared machine; "
        "it measures what the store keeps. x parse = wall seconds / the session's parse-limit "
        "wall seconds; x parse CPU = CPU seconds / its CPU seconds. Each measured process "
        "starts on warmed memory (`--warm-gb`, as in `python -m bench`); load = the 1-minute "
        "load average when it started.",
        "",
        note,
        "",
        "| session: run | films changed | `movies` rows changed | wall s | x parse | CPU s "
        "| x parse CPU | peak GB | store MB | x backfill store | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, path in enumerate(paths, 1):
        runs = [json.loads(line) for line in path.read_text().splitlines() if line]
        parse = next(r for r in runs if r["kind"] == "parse")
        wall0, cpu0 = parse["work_s"], parse["work_cpu_s"]
        base_mb = next(r["store_mb"] for r in runs if r["kind"] == "backfill")
        for r in runs:
            if r["kind"] == "fast_series" and r["day"] not in (1, 5, 10, 15, 20, 25, 30):
                continue  # the store grows linearly: a few days show it
            name = {"parse": "parse limit", "backfill": "backfill",
                    "daily": f"one daily at {r.get('churn', 0):.1%} churn",
                    "series": f"day {r.get('day')} at {r.get('churn', 0):.0%} churn",
                    "fast_series": f"30-day series, day {r.get('day')} at {r.get('churn', 0):.0%} churn",
                    }[r["kind"]]
            wall = r["work_s"] if "work_s" in r else r["features_s"] + r["upsert_s"]
            cpu = r.get("work_cpu_s", r.get("cpu_s"))
            peak = f"{r['hwm_gb']:.2f}" if "hwm_gb" in r else "n/a"
            store = f"{r['store_mb']:.0f}" if "store_mb" in r else ""
            ratio = f"{r['store_mb'] / base_mb:.3f}x" if "store_mb" in r else ""
            changed = f"{r['changed']:,}" if "changed" in r else ""
            load = f"{r['load']:.1f}" if "load" in r else ""
            lines.append(
                f"| {number}: {name} | {changed} | {r.get('movies_changed', '')} | {wall:.2f} | "
                f"{wall / wall0:.2f}x | {cpu:.2f} | {cpu / cpu0:.2f}x | {peak} | {store} | {ratio} "
                f"| {load} |")
    lines.append(CHURN.end)
    return "\n".join(lines) + "\n"


def main() -> None:
    if "--report" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--report", type=Path, nargs="+", required=True)
        parser.add_argument("--note", default="")
        args = parser.parse_args()
        text = report(args.report, args.note)
        write_marked(CHURN, text)
        print(text)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_200_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--churn", type=float, default=0.5)
    parser.add_argument("--fast", action="store_true",
                        help="the series in this process from the day-0 snapshot (churn applied "
                             "to its signals, no CSVs)")
    parser.add_argument("--series-only", action="store_true",
                        help="skip the one-day runs at 0.2%%, 30%% and 100%% churn")
    parser.add_argument("--out", type=Path, default=Path("var/bench-churn.jsonl"))
    parser.add_argument("--warm-gb", type=float, default=4.0,
                        help="memory touched and freed before each measured process (see bench/README.md)")
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="churn-"))
    results = []

    def record(kind: str, **fields: object) -> None:
        line = {"kind": kind, **fields}
        results.append(line)
        print(json.dumps(line), flush=True)

    try:
        def csv(day: int, churn: float) -> Path:
            # Kept in bench/.cache like the main benchmark's snapshots (the quiet feed's
            # are the same files), so a rerun does not generate them again.
            path = churn_snapshot_path(opts.size, DAY0 + timedelta(day), churn)
            if not path.exists():
                _job("generate", {"as_of": str(DAY0 + timedelta(day)), "seed": 42,
                                  "size": opts.size, "churn": churn, "path": str(path)}, work)
            return path

        base = csv(0, 0.0)
        parse = _job("parse", {"path": str(base)}, work, opts.warm_gb)
        record("parse", work_s=parse.get("work_s"), work_cpu_s=parse.get("work_cpu_s"),
               hwm_gb=parse["hwm_bytes"] / 1e9, load=parse["load"])
        store = work / "store"
        back = _job("chain", {"path": str(base), "as_of": str(DAY0), "store": str(store),
                              "require_existing": False}, work, opts.warm_gb)
        backfill_mb = _size_mb(store)
        record("backfill", work_s=back["work_s"], work_cpu_s=back["work_cpu_s"],
               hwm_gb=back["hwm_bytes"] / 1e9, store_mb=backfill_mb, load=back["load"])
        shutil.copytree(store, work / "backfilled")
        for churn in () if opts.series_only else (0.002, 0.3, 1.0):  # one day, copies of the backfill
            copy = work / f"store-{churn:g}"
            shutil.copytree(work / "backfilled", copy)
            path = csv(1, churn)
            run = _job("chain", {"path": str(path), "as_of": str(DAY0 + timedelta(1)),
                                 "store": str(copy), "require_existing": True}, work, opts.warm_gb)
            record("daily", churn=churn, work_s=run["work_s"], work_cpu_s=run["work_cpu_s"], hwm_gb=run["hwm_bytes"] / 1e9,
                   changed=run["changed"], new=run["new"], store_mb=_size_mb(copy),
                   stages=run.get("stages"), load=run["load"])
            shutil.rmtree(copy)
        if opts.fast:
            fast_series(base, store, opts.days, opts.churn, record)
            return
        for day in range(1, opts.days + 1):  # consecutive churny days on the backfilled store
            path = csv(day, opts.churn)
            run = _job("chain", {"path": str(path), "as_of": str(DAY0 + timedelta(day)),
                                 "store": str(store), "require_existing": True}, work, opts.warm_gb)
            record("series", churn=opts.churn, day=day, work_s=run["work_s"],
                   work_cpu_s=run["work_cpu_s"], hwm_gb=run["hwm_bytes"] / 1e9, changed=run["changed"],
                   store_mb=_size_mb(store), ratio_to_backfill=_size_mb(store) / backfill_mb,
                   stages=run.get("stages"), load=run["load"])
    finally:
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        opts.out.write_text("".join(json.dumps(r) + "\n" for r in results))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
