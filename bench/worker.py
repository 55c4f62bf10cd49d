"""The child side of the benchmark: one job per process, ``python -m bench.worker JOB OUT``.

Every measured run happens in a fresh interpreter so that one run's caches, allocator
state and peak memory never leak into the next. ``JOB`` is a JSON file naming the job
and its arguments; the job writes its result as JSON to ``OUT``. Wall times reported here
cover the work only (imports and interpreter start are excluded and reported apart);
the parent measures the whole process (wall, CPU, page faults) with ``os.wait4``; the
peak RSS is this process's ``VmHWM`` when it finishes.

Jobs:
    generate: write a demo snapshot CSV.
    parse: the baseline, ``pyarrow.csv.read_csv`` of a snapshot.
    chain: read -> clean -> features -> upsert into a store (the pure ingest chain).
    verify: read every group at every store commit and compare row counts.
    prefect: the real ``backfill`` flow against the pure chain on the same file.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

_T0 = time.perf_counter()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sys() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def _hwm_bytes() -> int:
    """Peak resident set size of this process so far (VmHWM), in bytes."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Stages:
    """Wall time, CPU time and peak RSS after each named stage (times add up per name)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, float]] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), _cpu()
        try:
            yield
        finally:
            item = self.items.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0, "calls": 0})
            item["wall_s"] += time.perf_counter() - wall
            item["cpu_s"] += _cpu() - cpu
            item["calls"] += 1
            item["hwm_bytes"] = _hwm_bytes()

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        """Time every call of ``owner.attribute`` (a module function or a class method)."""
        original: Callable[..., Any] = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


# --------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------


def job_generate(args: dict[str, Any]) -> dict[str, Any]:
    from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv

    as_of = date.fromisoformat(args["as_of"])
    table = demo_snapshot(as_of, seed=args["seed"], size=args["size"])
    write_snapshot_csv(table, Path(args["path"]))
    return {"rows": table.num_rows}


def job_parse(args: dict[str, Any]) -> dict[str, Any]:
    import pyarrow.csv as pacsv

    imported = time.perf_counter()
    wall, cpu, sys_ = time.perf_counter(), _cpu(), _sys()
    table = pacsv.read_csv(
        args["path"], parse_options=pacsv.ParseOptions(newlines_in_values=True)
    )
    return {
        "import_s": imported - _T0,
        "work_s": time.perf_counter() - wall,
        "work_cpu_s": _cpu() - cpu,
        "work_sys_s": _sys() - sys_,
        "rows": table.num_rows,
        "columns": table.num_columns,
    }


#: Store internals timed as sub-stages of ``upsert_snapshot``: (owner, attribute, label).
#: Names that the current code does not have are skipped, so the benchmark survives
#: refactors of the store (older and newer names are both listed).
_STORE_STEPS = (
    ("LocalFeatureStore", "_current_or_empty", "upsert.read_current"),
    ("LocalFeatureStore", "_log_index", "upsert.read_index"),
    ("module", "diff_group", "upsert.diff"),
    ("module", "diff_against_log", "upsert.diff"),
    ("LocalFeatureStore", "_write_group", "upsert.write_groups"),
    ("LocalFeatureStore", "_write_rejects", "upsert.write_rejects"),
    ("module", "_counts", "upsert.counts"),
    ("LocalFeatureStore", "_write_commit", "upsert.write_commit"),
)


def _instrument(stages: Stages) -> None:
    """Time the store's internal steps too, without changing project code."""
    from movie_ratings.store import local

    for owner_name, attribute, label in _STORE_STEPS:
        owner = local.LocalFeatureStore if owner_name == "LocalFeatureStore" else local
        if callable(getattr(owner, attribute, None)):
            stages.wrap(owner, attribute, label)


def run_chain(path: Path, as_of: date, store_root: Path, *, require_existing: bool,
              stages: Stages, version: str) -> dict[str, Any]:
    """The pure ingest chain of ``flows.ingest.ingest``, stage by stage, same object lifetimes.

    Keep in step with the flow: which objects stay alive decides the peak memory.
    """
    from movie_ratings.schema import DEFAULT_MAX_REJECT_FRACTION, MOVIE_GENRES, MOVIES
    from movie_ratings.sources import Snapshot
    from movie_ratings.store.local import LocalFeatureStore
    from tasks.clean import clean_snapshot, read_snapshot_csv
    from tasks.features import build_features
    from tasks.insert import upsert_snapshot

    snapshot = Snapshot(path=path, as_of=as_of, source="demo", version=version, is_demo=True)
    with stages.stage("read_snapshot_csv"):
        parsed = read_snapshot_csv(path)
    with stages.stage("clean_snapshot"):
        clean = clean_snapshot(parsed, as_of=as_of, source="demo",
                               max_reject_fraction=DEFAULT_MAX_REJECT_FRACTION)
    del parsed  # as ``clean_snapshot_task`` does; clean and features live to the end, as
    # Prefect keeps every task result of a flow run until the run ends.
    with stages.stage("build_features"):
        features = build_features(clean.table, as_of)
    store = LocalFeatureStore(store_root)
    versions = {MOVIES.name: 1, MOVIE_GENRES.name: 1}
    with stages.stage("upsert_snapshot"):
        result = upsert_snapshot(store, features.tables, versions, snapshot, clean.rejects,
                                 require_existing=require_existing)
    return {
        "rows_read": clean.rows_read,
        "rows_kept": clean.table.num_rows,
        "rejected": clean.rejected_rows,
        "new": result.new,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "created_commit": result.created_commit,
        "commit": result.commit.number,
    }


def job_chain(args: dict[str, Any]) -> dict[str, Any]:
    # One-time imports happen before the clock starts (a flow run pays them once per
    # process). pandas is among them: pyarrow imports it on the first pa.array(ndarray).
    import pandas  # noqa: F401

    import movie_ratings.store.local  # noqa: F401
    import tasks.clean
    import tasks.features
    import tasks.insert  # noqa: F401

    imported = time.perf_counter()
    stages = Stages()
    _instrument(stages)
    profile = args.get("profile")
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    wall, cpu, sys_ = time.perf_counter(), _cpu(), _sys()
    counts = run_chain(Path(args["path"]), date.fromisoformat(args["as_of"]),
                       Path(args["store"]), require_existing=args["require_existing"],
                       stages=stages, version=args.get("version", ""))
    work_s, work_cpu_s, work_sys_s = time.perf_counter() - wall, _cpu() - cpu, _sys() - sys_
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    return {"import_s": imported - _T0, "work_s": work_s, "work_cpu_s": work_cpu_s,
            "work_sys_s": work_sys_s, "stages": stages.items, **counts}


def job_verify(args: dict[str, Any]) -> dict[str, Any]:
    from movie_ratings.store.local import LocalFeatureStore

    store = LocalFeatureStore(Path(args["store"]))
    checks = []
    for commit in store.commits():
        for state in commit.groups.values():
            try:
                rows = store.read_group(state.name, state.version, commit=commit.number).num_rows
                error = None
            except Exception as exc:  # report, do not stop: the reader wants every failure
                rows, error = None, f"{type(exc).__name__}: {exc}"
            checks.append({"commit": commit.number, "group": state.name,
                           "version": state.version, "expected": state.rows, "read": rows,
                           "ok": error is None and rows == state.rows, "error": error})
        try:
            rejects = store.read_rejects(commit=commit.number).num_rows
            error = None
        except Exception as exc:
            rejects, error = None, f"{type(exc).__name__}: {exc}"
        checks.append({"commit": commit.number, "group": "rejects", "version": None,
                       "expected": None, "read": rejects, "ok": error is None, "error": error})
    return {"checks": checks}


def job_prefect(args: dict[str, Any]) -> dict[str, Any]:
    """Server start, then the pure chain and the real flow on the same small file."""
    imports = time.perf_counter()
    import pandas  # noqa: F401  (see job_chain)
    from prefect.server.api.server import SubprocessASGIServer

    from flows.backfill import backfill

    import_s = time.perf_counter() - imports
    server = SubprocessASGIServer()
    start = time.perf_counter()
    server.start(timeout=180)
    server_s = time.perf_counter() - start
    try:
        path, as_of = Path(args["path"]), date.fromisoformat(args["as_of"])
        stages = Stages()
        wall = time.perf_counter()
        run_chain(path, as_of, Path(args["chain_store"]), require_existing=False,
                  stages=stages, version="")
        chain_s = time.perf_counter() - wall
        wall = time.perf_counter()
        summary = backfill(source="csv", path=str(path), as_of=as_of)
        flow_s = time.perf_counter() - wall
        wall = time.perf_counter()
        run_chain(path, as_of, Path(args["chain_store"] + "-2"), require_existing=False,
                  stages=stages, version="")
        chain2_s = time.perf_counter() - wall
    finally:
        server.stop()
    return {"import_s": import_s, "server_start_s": server_s, "chain_s": min(chain_s, chain2_s),
            "chain_runs_s": [chain_s, chain2_s], "flow_s": flow_s,
            "flow_rows_kept": summary["rows_kept"]}


JOBS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "generate": job_generate,
    "parse": job_parse,
    "chain": job_chain,
    "verify": job_verify,
    "prefect": job_prefect,
}


def main(argv: list[str]) -> int:
    job_path, out_path = argv
    job = json.loads(Path(job_path).read_text())
    result = JOBS[job["job"]](job["args"])
    result["hwm_bytes"] = _hwm_bytes()
    Path(out_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: deltalake's native threads sometimes abort the process
    # at exit ("terminate called without an active exception", delta-rs#2184) after the
    # work is done and the result written; that must not fail a measurement.
    os._exit(code)
