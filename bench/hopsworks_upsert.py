"""What a daily upsert on the Hopsworks backend reads, and what it costs, on the SDK fake.

    .venv/bin/python -m bench.hopsworks_upsert [--size 1200000] [--days 1] [--write]

Backfills a demo snapshot of ``--size`` films into the Hopsworks adapter over the in-memory
SDK fake (tests/hopsworks_fake.py), then writes ``--days`` daily snapshots, timing each
upsert and sampling the process's resident memory while it runs. The fake does what the
client side of the SDK does (the pandas frames of an insert, the Query Service frames of a
read with the SDK's own type cast), not the network or the cluster, so the times are the
client's share. ``--write`` puts the table into bench/RESULTS.md, in its own section.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.sections import HOPSWORKS_UPSERT, REPO, run_section, section_parser

SECTION = HOPSWORKS_UPSERT


def _rss() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@contextmanager
def peak_rss() -> Iterator[dict[str, int]]:
    """Sample the resident set size every 20 ms while the block runs."""
    out = {"start": _rss(), "peak": _rss()}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            out["peak"] = max(out["peak"], _rss())
            stop.wait(0.02)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        stop.set()
        thread.join()
        out["peak"] = max(out["peak"], _rss())


def _features(as_of: Any, size: int, tmp: Path) -> tuple[dict[str, Any], Any]:
    from movie_ratings.cleaning.parse import read_snapshot_csv
    from movie_ratings.cleaning.snapshot import clean_snapshot
    from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
    from tasks.features import build_features

    path = write_snapshot_csv(demo_snapshot(as_of, size=size, churn=0.0), tmp / f"{as_of}.csv")
    clean = clean_snapshot(read_snapshot_csv(path), as_of=as_of, source="demo",
                           max_reject_fraction=0.1)
    path.unlink()
    return build_features(clean.table, as_of).tables, clean.rejects


def run(size: int, days: int, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    sys.path.insert(0, str(REPO / "tests"))
    from hopsworks_fake import FakeHopsworks

    from movie_ratings.sources.demo import DEMO_EPOCH
    from movie_ratings.store.base import SnapshotInfo
    from movie_ratings.store.hopsworks import HopsworksFeatureStore

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-hopsworks-") as tmp:
        fake = FakeHopsworks(Path(tmp))
        store = HopsworksFeatureStore(fake.feature_store, feature_cls=fake.Feature, address="fake")
        versions = {"movies": 1, "movie_genres": 1}
        for day in range(days + 1):
            as_of = DEMO_EPOCH + timedelta(days=day)
            groups, rejects = _features(as_of, size, Path(tmp))
            logs = {n: fake.feature_store.groups.get((n, 1)) for n in versions}
            read_before = {n: g.rows_read if g else 0 for n, g in logs.items()}
            currents = [fake.feature_store.groups.get((f"{n}_current", 1)) for n in versions]
            current_before = sum(g.rows_read for g in currents if g)
            start, cpu = time.perf_counter(), time.process_time()
            with peak_rss() as memory:
                result = store.upsert_snapshot(groups, versions, SnapshotInfo(as_of, "demo"), rejects,
                                               max_delete_fraction=0.1,
                                               max_descriptive_change_fraction=0.2)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            logs = {n: fake.feature_store.groups[(n, 1)] for n in versions}
            currents = [fake.feature_store.groups[(f"{n}_current", 1)] for n in versions]
            row = {
                "run": "backfill" if day == 0 else f"daily {day}",
                "films": groups["movies"].num_rows,
                "written": result.new + result.changed + result.deleted,
                "log_rows": logs["movies"].table.num_rows,
                "log_rows_read": sum(g.rows_read - read_before[n] for n, g in logs.items()),
                "current_rows_read": sum(g.rows_read for g in currents) - current_before,
                "seconds": seconds,
                "cpu": cpu,
                "peak_gb": memory["peak"] / 1e9,
                "added_gb": (memory["peak"] - memory["start"]) / 1e9,
            }
            rows.append(row)
            log(f"{row['run']}: {row['seconds']:.1f} s ({row['cpu']:.1f} CPU s), peak RSS {row['peak_gb']:.2f} GB "
                f"(+{row['added_gb']:.2f} GB during the upsert), {row['written']:,} films written, "
                f"log rows read {row['log_rows_read']:,}, current rows read {row['current_rows_read']:,}")
        fake.close()
    return rows


def report(rows: list[dict[str, Any]], size: int, note: str, load: str) -> str:
    lines = [
        SECTION,
        "",
        f"`python -m bench.hopsworks_upsert --size {size} --days {len(rows) - 1} --write`, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. The Hopsworks adapter over the in-memory SDK "
        "fake (tests/hopsworks_fake.py): the client-side work of the SDK (insert frames, the "
        "Query Service frames with the SDK's type cast) is done, the network and the cluster "
        "are not. Peak RSS is the whole process (the fake holds every stored row in memory "
        "too); \"during\" is what the upsert added. Each daily upsert reads the current row "
        "of every film from `movies_current`/`movie_genres_current` and only uncommitted "
        "rows of the logs (a filter on `store_commit`), never their history. CPU s (all "
        "threads of the process during the upsert) depends less on the machine's load than "
        "seconds.",
        "",
        f"Load average (1 min) at start / end: {load} (2 cores). {note}",
        "",
        "| run | films | films written | movies log rows | log rows read | current rows read "
        "| seconds | CPU s | peak RSS GB | added during upsert GB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['films']:,} | {r['written']:,} | {r['log_rows']:,} | "
            f"{r['log_rows_read']:,} | {r['current_rows_read']:,} | {r['seconds']:.1f} | "
            f"{r['cpu']:.1f} | "
            f"{r['peak_gb']:.2f} | {r['added_gb']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = section_parser(__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_200_000)
    parser.add_argument("--days", type=int, default=1)
    args = parser.parse_args(argv)
    return run_section(SECTION, args.write, lambda: run(args.size, args.days),
                       lambda rows, load: report(rows, args.size, args.note, load))

if __name__ == "__main__":
    sys.exit(main())
