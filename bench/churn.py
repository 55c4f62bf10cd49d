"""The daily path under the feed's churn (issue 18): a 1.2M-film backfill, then dailies in
which a given share of films' signals move, each a fresh worker process.

Run: ``python -m bench.churn [--size N] [--out FILE]``; prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

DAY0 = date(2026, 1, 1)


def _job(job: str, args: dict, work: Path) -> dict:
    spec, out = work / "job.json", work / "out.json"
    spec.write_text(json.dumps({"job": job, "args": args}))
    subprocess.run([sys.executable, "-m", "bench.worker", str(spec), str(out)], check=True)
    return json.loads(out.read_text())


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_200_000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--churn", type=float, default=0.5)
    parser.add_argument("--series-only", action="store_true",
                        help="skip the one-day runs at 0.2%%, 30%% and 100%% churn")
    parser.add_argument("--out", type=Path, default=Path("var/bench-churn.jsonl"))
    opts = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="churn-"))
    results = []

    def record(kind: str, **fields: object) -> None:
        line = {"kind": kind, **fields}
        results.append(line)
        print(json.dumps(line), flush=True)

    try:
        def csv(day: int, churn: float) -> Path:
            path = work / f"d{day}-c{churn:g}.csv"
            _job("generate", {"as_of": str(DAY0 + timedelta(day)), "seed": 42, "size": opts.size,
                              "churn": churn, "path": str(path)}, work)
            return path

        base = csv(0, 0.0)
        parse = _job("parse", {"path": str(base)}, work)
        record("parse", work_s=parse.get("work_s"), hwm_gb=parse["hwm_bytes"] / 1e9)
        store = work / "store"
        back = _job("chain", {"path": str(base), "as_of": str(DAY0), "store": str(store),
                              "require_existing": False}, work)
        backfill_mb = _size_mb(store)
        record("backfill", work_s=back["work_s"], work_cpu_s=back["work_cpu_s"], hwm_gb=back["hwm_bytes"] / 1e9, store_mb=backfill_mb)
        shutil.copytree(store, work / "backfilled")
        for churn in () if opts.series_only else (0.002, 0.3, 1.0):  # one day, copies of the backfill
            copy = work / f"store-{churn:g}"
            shutil.copytree(work / "backfilled", copy)
            path = csv(1, churn)
            run = _job("chain", {"path": str(path), "as_of": str(DAY0 + timedelta(1)),
                                 "store": str(copy), "require_existing": True}, work)
            record("daily", churn=churn, work_s=run["work_s"], work_cpu_s=run["work_cpu_s"], hwm_gb=run["hwm_bytes"] / 1e9,
                   changed=run["changed"], new=run["new"], store_mb=_size_mb(copy),
                   stages=run.get("stages"))
            shutil.rmtree(copy)
            path.unlink()
        for day in range(1, opts.days + 1):  # consecutive churny days on the backfilled store
            path = csv(day, opts.churn)
            run = _job("chain", {"path": str(path), "as_of": str(DAY0 + timedelta(day)),
                                 "store": str(store), "require_existing": True}, work)
            record("series", churn=opts.churn, day=day, work_s=run["work_s"],
                   work_cpu_s=run["work_cpu_s"], hwm_gb=run["hwm_bytes"] / 1e9, changed=run["changed"],
                   store_mb=_size_mb(store), ratio_to_backfill=_size_mb(store) / backfill_mb)
            path.unlink()
    finally:
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        opts.out.write_text("".join(json.dumps(r) + "\n" for r in results))
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
