"""The child side of the benchmark: one job per process, ``python -m bench.worker JOB OUT``.

Every measured run happens in a fresh interpreter so that one run's caches, allocator
state and peak memory never leak into the next. ``JOB`` is a JSON file naming the job
and its arguments; the job writes its result as JSON to ``OUT``. Wall times reported here
cover the work only (imports and interpreter start are excluded and reported apart);
the parent measures the whole process (wall, CPU, page faults) with ``os.wait4``; the
peak RSS is this process's ``VmHWM`` when it finishes.

Jobs:
    generate: write a demo snapshot CSV (or a seeded sample of its rows).
    parse: the baseline, ``pyarrow.csv.read_csv`` of a snapshot.
    notebook: the old notebook's ``1_historical_data`` steps with pandas on a snapshot.
    chain: the flows' ingest chain (:func:`flows.ingest.ingest_chain`) into a store, its
        steps the pure functions under the tasks (:mod:`bench.steps`), timed.
    train: the training flow's chain on a store, registering into a registry, the same way.
    infer: the inference flow's chain (production model, view, predictions, monitoring,
        drift, site), the same way.
    batch: ``batch_predict`` of a CSV with the production model.
    verify: read every group at every store commit and compare row counts; read the view
        at every registered model's store commit.
    prefect: the real ``backfill``, ``training`` and ``inference`` flows against their chains
        run with plain steps on the same small file.
    real: the real-data benchmark (:mod:`bench.real`).
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

from movie_ratings.runtime import configure_process
from movie_ratings.timing import recording

_T0 = time.perf_counter()


def _cpu() -> float:
    """CPU time (user + system) of this process and the children it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _sys() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_stime + children.ru_stime


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
    """Wall time, CPU time and peak RSS after each named stage (times add up per name).

    The recorder of :func:`movie_ratings.timing.recording`: the chains' steps and the store
    name their stages through :func:`movie_ratings.timing.stage`.
    """

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


# --------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------


def job_generate(args: dict[str, Any]) -> dict[str, Any]:
    """A demo snapshot; with ``sample``, a seeded random sample of that many of its rows."""
    import numpy as np

    from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv

    as_of = date.fromisoformat(args["as_of"])
    # The quiet feed (0.2% of films change a day) unless asked: the goals of `python -m
    # bench` are stated for it; bench/churn.py measures the daily path under churn.
    table = demo_snapshot(as_of, seed=args["seed"], size=args["size"], churn=args.get("churn", 0.0))
    sample = args.get("sample")
    if sample is not None and sample < table.num_rows:
        rows = np.random.default_rng([args["seed"], 3]).choice(table.num_rows, sample, replace=False)
        table = table.take(np.sort(rows))
    write_snapshot_csv(table, Path(args["path"]))
    return {"rows": table.num_rows}


def _timed(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` and add its wall time, CPU time and system CPU time."""
    wall, cpu, sys_ = time.perf_counter(), _cpu(), _sys()
    result = work()
    return {**result, "work_s": time.perf_counter() - wall, "work_cpu_s": _cpu() - cpu,
            "work_sys_s": _sys() - sys_}


def old_notebook_steps(path: Path, stages: Stages) -> dict[str, Any]:
    """The old notebook's ``1_historical_data`` preparation, with pandas, as it was written.

    ``read_csv``; ``dropna()`` over every column; released films only; the first producer,
    actor and company of each film by ``str.split``; ``LabelEncoder`` codes for those and
    the original language; the release year; one-hot genres from the exploded genre lists
    (``get_dummies``), joined back. No validation, no rejects, no store: the floor of what
    the old pipeline did before training, on the same file.
    """
    import pandas as pd
    from sklearn.preprocessing import LabelEncoder

    with stages.stage("read_csv"):
        frame = pd.read_csv(path)
    rows_read = len(frame)
    with stages.stage("dropna + released"):
        frame = frame.dropna()
        frame = frame[frame["status"] == "Released"].copy()
    with stages.stage("first producer/actor/company"):
        frame["release_year"] = pd.to_datetime(frame["release_date"], errors="coerce").dt.year
        frame["first_producer"] = frame["producers"].str.split(",").str[0]
        frame["first_actor"] = frame["cast"].str.split(",").str[0]
        frame["first_company"] = frame["production_companies"].str.split(",").str[0]
    with stages.stage("LabelEncoder"):
        for column in ("original_language", "first_producer", "first_actor", "first_company"):
            frame[column] = LabelEncoder().fit_transform(frame[column].astype(str))
    with stages.stage("get_dummies genres"):
        genres = frame["genres"].str.split(", ").explode()
        dummies = pd.get_dummies(genres, dtype=int).groupby(level=0).max()
        frame = frame.join(dummies)
    return {"rows_read": rows_read, "rows_kept": len(frame), "columns": frame.shape[1]}


def job_notebook(args: dict[str, Any]) -> dict[str, Any]:
    import pandas  # noqa: F401  (one-time import, as in job_chain)
    import sklearn.preprocessing  # noqa: F401

    imported = time.perf_counter()
    stages = Stages()
    result = _timed(lambda: old_notebook_steps(Path(args["path"]), stages))
    return {"import_s": imported - _T0, "stages": stages.items, **result}


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


def run_chain(path: Path, as_of: date, store_root: Path, *, require_existing: bool,
              stages: Stages, version: str, source: str = "demo", is_demo: bool = True) -> dict[str, Any]:
    """The ``backfill`` flow's chain (``daily-features``' with ``require_existing``) on a
    snapshot file, with the flows' defaults, its steps timed into ``stages``."""
    from bench.steps import PlainIngestSteps
    from movie_ratings.settings import get_settings
    from movie_ratings.sources import Snapshot
    from movie_ratings.store.local import LocalFeatureStore

    snapshot = Snapshot(path=path, as_of=as_of, source=source, version=version, is_demo=is_demo)
    steps = PlainIngestSteps(LocalFeatureStore(store_root), snapshot, get_settings())
    return run_ingest(steps, snapshot, require_existing=require_existing, stages=stages)


def run_ingest(steps: Any, snapshot: Any, *, require_existing: bool, stages: Stages) -> dict[str, Any]:
    """:func:`flows.ingest.ingest_chain` with ``steps`` (an ``IngestSteps``) on ``snapshot``,
    with the defaults of ``backfill`` (or ``daily-features`` with ``require_existing``),
    its steps timed into ``stages``; returns the counts."""
    from bench.steps import flow_defaults
    from flows.backfill import backfill
    from flows.daily_features import daily_features
    from flows.ingest import ingest_chain

    defaults = flow_defaults(daily_features if require_existing else backfill)
    with recording(stages):
        run = ingest_chain(
            steps, source=snapshot.source, path=str(snapshot.path), as_of=snapshot.as_of,
            movies_version=defaults["movies_version"], genres_version=defaults["genres_version"],
            max_reject_fraction=defaults["max_reject_fraction"], require_existing=require_existing,
            max_descriptive_change_fraction=defaults.get("max_descriptive_change_fraction"),
            view_version=defaults.get("view_version"),
        )
    clean, result = run.clean, run.result
    return {
        "rows_read": clean.rows_read,
        "rows_kept": clean.rows_kept,
        "rejected": clean.rejected_rows,
        "new": result.new,
        "changed": result.changed,
        "unchanged": result.unchanged,
        "deleted": result.deleted,
        "per_group": result.per_group,
        "created_commit": result.created_commit,
        "commit": result.commit.number,
    }


def job_chain(args: dict[str, Any]) -> dict[str, Any]:
    # One-time imports happen before the clock starts (a flow run pays them once per
    # process). pandas is among them: pyarrow imports it on the first pa.array(ndarray).
    import pandas  # noqa: F401
    import polars  # noqa: F401  (the prefilter's hasher, imported on first use)

    import bench.steps  # noqa: F401
    import flows.backfill
    import flows.daily_features  # noqa: F401
    import movie_ratings.store.local  # noqa: F401

    imported = time.perf_counter()
    stages = Stages()
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


def run_training(store_root: Path, registry_root: Path, *, seed: int, stages: Stages,
                 candidates: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The ``training`` flow's chain with its defaults, its steps timed into ``stages``."""
    from bench.steps import PlainTrainingSteps, flow_defaults
    from flows.training import training, training_chain
    from movie_ratings.registry.local import LocalModelRegistry
    from movie_ratings.store.local import LocalFeatureStore

    steps = PlainTrainingSteps(LocalFeatureStore(store_root), LocalModelRegistry(registry_root))
    params = {**flow_defaults(training), "seed": seed, "candidates": list(candidates) if candidates else None}
    with recording(stages):
        run = training_chain(steps, **params)
    card = run.version.card.to_json()
    return {
        "model_version": run.version.version, "store_commit": card["store_commit"],
        "promoted": run.decision.promote, "estimator": card["estimator"],
        "labelled_rows": card["split"]["train_rows"] + card["split"]["test_rows"], "split": card["split"],
        "metrics": card["metrics"], "baseline": card["baseline"], "parity": card["parity"],
        "candidates": card["candidates"], "preprocessing_s": card["preprocessing_seconds"],
        "text_ablation": card["text_ablation"], "tuning": card["tuning"], "refit": card["refit"],
    }


def job_train(args: dict[str, Any]) -> dict[str, Any]:
    import pandas  # noqa: F401  (one-time imports, as in job_chain)
    import sklearn.ensemble  # noqa: F401
    import xgboost  # noqa: F401

    import bench.steps  # noqa: F401
    import flows.training  # noqa: F401

    imported = time.perf_counter()
    stages = Stages()
    candidates = tuple(args["candidates"]) if args.get("candidates") else None
    result = _timed(lambda: run_training(Path(args["store"]), Path(args["registry"]),
                                         seed=args.get("seed", 42), stages=stages,
                                         candidates=candidates))
    return {"import_s": imported - _T0, "stages": stages.items, **result}


def run_inference(store_root: Path, registry_root: Path, site_dir: Path, *,
                  stages: Stages) -> dict[str, Any]:
    """The ``inference`` flow's chain with its defaults, its steps timed into ``stages``."""
    from bench.steps import PlainInferenceSteps, flow_defaults
    from flows.inference import inference, inference_chain
    from movie_ratings.registry.local import LocalModelRegistry
    from movie_ratings.store.local import LocalFeatureStore

    steps = PlainInferenceSteps(LocalFeatureStore(store_root), LocalModelRegistry(registry_root), site_dir)
    with recording(stages):
        run = inference_chain(steps, **flow_defaults(inference))
    return {"predicted": run.predictions.num_rows, "history_rows": run.history.num_rows,
            "monitored": run.monitoring.films.num_rows, "live_mae": run.monitoring.mae,
            "model_version": run.model.version.version, "store_commit": run.view.commit.number,
            "view_rows": run.view.rows.num_rows}


def job_infer(args: dict[str, Any]) -> dict[str, Any]:
    import pandas  # noqa: F401  (one-time imports, as in job_chain)
    import sklearn.ensemble  # noqa: F401
    import xgboost  # noqa: F401

    import bench.steps  # noqa: F401
    import flows.inference  # noqa: F401
    import movie_ratings.site  # noqa: F401

    imported = time.perf_counter()
    stages = Stages()
    result = _timed(lambda: run_inference(Path(args["store"]), Path(args["registry"]),
                                          Path(args["site"]), stages=stages))
    return {"import_s": imported - _T0, "stages": stages.items, **result}


def job_batch(args: dict[str, Any]) -> dict[str, Any]:
    """``movie-ratings predict``'s work: :func:`tasks.predict.batch_predict` of a CSV."""
    import pandas  # noqa: F401  (one-time imports, as in job_chain)
    import sklearn.ensemble  # noqa: F401
    import xgboost  # noqa: F401

    from movie_ratings.registry.local import LocalModelRegistry
    from tasks import predict

    imported = time.perf_counter()
    stages = Stages()
    registry = LocalModelRegistry(Path(args["registry"]))

    def work() -> dict[str, Any]:
        with recording(stages):  # batch_predict names its stages
            result = predict.batch_predict(Path(args["input"]), Path(args["output"]), registry,
                                           date.fromisoformat(args["as_of"]))
        return {"scored": result.scored, "rejected": result.rejected,
                "model_version": result.model_version}

    result = _timed(work)
    return {"import_s": imported - _T0, "stages": stages.items, **result}


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
    return {"checks": checks, "models": _verify_models(store, args.get("registry"))}


def _verify_models(store: Any, registry_root: str | None) -> list[dict[str, Any]]:
    """Every registered model's training data, read again at the store commit on its card.

    The labelled rows of the view at that commit must be as many as the card's split
    (train + test rows), and the hold-out must be rebuilt identically from them.
    """
    if not registry_root:
        return []
    from movie_ratings.registry import MODEL_NAME
    from movie_ratings.registry.local import LocalModelRegistry
    from tasks.training_data import load_training_data, make_split

    out = []
    for version in LocalModelRegistry(Path(registry_root)).versions(MODEL_NAME):
        card = version.card.to_json()
        expected = card["split"]["train_rows"] + card["split"]["test_rows"]
        try:
            data = load_training_data(store, card["feature_view"]["version"], card["store_commit"])
            test_start = card["split"].get("test_start")
            split = make_split(data.rows, card["split"]["kind"], test_size=card["params"]["test_size"],
                               test_start=date.fromisoformat(test_start) if test_start else None,
                               seed=card["params"]["seed"])
            rows, error = data.rows.num_rows, None
            same_split = (len(split.train), len(split.test)) == (card["split"]["train_rows"],
                                                                 card["split"]["test_rows"])
        except Exception as exc:  # report, do not stop
            rows, error, same_split = None, f"{type(exc).__name__}: {exc}", False
        out.append({"model_version": version.version, "store_commit": card["store_commit"],
                    "expected": expected, "read": rows, "same_split": same_split,
                    "ok": error is None and rows == expected and same_split, "error": error})
    return out


def job_prefect(args: dict[str, Any]) -> dict[str, Any]:
    """Server start, then each flow against its pure chain on the same small file.

    ``backfill``, ``training`` and ``inference`` run as real flows against the ephemeral
    API server (state under ``MOVIE_RATINGS_HOME``) and as the benchmark's pure chains on a
    separate store and registry; the difference is Prefect's cost per flow run.
    """
    imports = time.perf_counter()
    import pandas  # noqa: F401  (see job_chain)
    import xgboost  # noqa: F401
    from prefect.server.api.server import SubprocessASGIServer

    from flows.backfill import backfill
    from flows.inference import inference
    from flows.training import training

    import_s = time.perf_counter() - imports
    server, server_s = None, None
    if not os.environ.get("PREFECT_API_URL"):  # else: flows talk to that running API
        server = SubprocessASGIServer()
        start = time.perf_counter()
        server.start(timeout=180)
        server_s = time.perf_counter() - start
    root = Path(args["chain_root"])
    candidates = tuple(args["candidates"]) if args.get("candidates") else None
    flows: dict[str, dict[str, Any]] = {}
    try:
        path, as_of = Path(args["path"]), date.fromisoformat(args["as_of"])

        def chain_backfill(k: int) -> None:
            run_chain(path, as_of, root / f"store-{k}", require_existing=False, stages=Stages(),
                      version="")

        def chain_training(k: int) -> None:
            run_training(root / f"store-{k}", root / f"registry-{k}", seed=42, stages=Stages(),
                         candidates=candidates)

        def chain_inference(k: int) -> None:
            run_inference(root / f"store-{k}", root / f"registry-{k}", root / f"site-{k}",
                          stages=Stages())

        steps = (
            ("backfill", chain_backfill,
             lambda: backfill(source="csv", path=str(path), as_of=as_of)),
            ("training", chain_training,
             lambda: training(candidates=list(candidates) if candidates else None)),
            ("inference", chain_inference, lambda: inference()),
        )
        # chain 0, then the flow, then chain 1: the chain's best of two absorbs one-off warm-up
        for name, chain, flow_call in steps:
            chain_runs = []
            wall = time.perf_counter()
            chain(0)
            chain_runs.append(time.perf_counter() - wall)
            wall = time.perf_counter()
            flow_call()
            flow_s = time.perf_counter() - wall
            wall = time.perf_counter()
            chain(1)
            chain_runs.append(time.perf_counter() - wall)
            flows[name] = {"chain_s": min(chain_runs), "chain_runs_s": chain_runs, "flow_s": flow_s}
    finally:
        if server is not None:
            server.stop()
    return {"import_s": import_s, "server_start_s": server_s, "flows": flows}


def job_real(args: dict[str, Any]) -> dict[str, Any]:
    """The real-data benchmark (:func:`bench.real.run_real`) in this process."""
    from bench.real import run_real

    candidates = tuple(args["candidates"]) if args.get("candidates") else None
    return run_real(Path(args["workdir"]), limit=args.get("limit"), seed=args.get("seed", 42),
                    candidates=candidates)


JOBS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "generate": job_generate,
    "parse": job_parse,
    "notebook": job_notebook,
    "chain": job_chain,
    "train": job_train,
    "infer": job_infer,
    "batch": job_batch,
    "verify": job_verify,
    "prefect": job_prefect,
    "real": job_real,
}


def main(argv: list[str]) -> int:
    job_path, out_path = argv
    configure_process()  # before a job imports XGBoost (bench/proc.py sets it already; bench/churn.py not)
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
