"""``python -m bench``: every stage of the system against a plain CSV parse; checks the goals."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from bench.measure import Measurement, Run, evaluate, store_bytes, tree_bytes
from bench.proc import REPO, ChildFailed, child_env, run_child, use_fork_server, warm_memory
from bench.report import (
    code_version,
    cpu_times,
    machine,
    now,
    render,
    source_stamp,
    steal_share,
)
from bench.sections import REAL, keep_sections, write_marked
from bench.snapshots import (
    CACHE_DIR,
    ensure_sample,
    ensure_snapshots,
    snapshot_dates,
    snapshot_path,
)

#: ``--quick``: a smoke run of every stage (the CI test runs it).
QUICK = {"rows": 4_000, "repeats": 1, "train_repeats": 1, "days": 2, "warm_gb": 0.0,
         "batch_rows": 1_000, "prefect_rows": 2_000, "fork": True,
         "prefect_candidates": "linear_regression", "skip_real": True}
#: Films in the batch-predict file (the goal: 100k rows in under 30 s).
BATCH_ROWS = 100_000
PREFECT_ROWS = 20_000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark of every stage on demo snapshots: parse limit, old notebook, "
                    "backfill, daily, training, inference, batch predict, store growth and "
                    "Prefect overhead; writes RESULTS.md.",
    )
    parser.add_argument("--rows", type=int, default=1_200_000,
                        help="films in the backfill snapshot (default 1,200,000)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of parse, old notebook, backfill, daily and batch predict; "
                             "the median is reported (default 3)")
    parser.add_argument("--train-repeats", type=int, default=3,
                        help="training runs, spread over the store-growth series (default 3)")
    parser.add_argument("--days", type=int, default=30,
                        help="consecutive dailies (each followed by an inference) for the "
                             "store-growth check (default 30)")
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS,
                        help=f"rows of the batch-predict file (default {BATCH_ROWS:,})")
    parser.add_argument("--prefect-rows", type=int, default=PREFECT_ROWS,
                        help=f"snapshot size of the Prefect overhead runs (default {PREFECT_ROWS:,})")
    parser.add_argument("--candidates", default=None,
                        help="comma-separated training candidates (default: all)")
    parser.add_argument("--prefect-candidates", default=None,
                        help="candidates of the training flow in the Prefect overhead runs "
                             "(default: all; the overhead does not depend on them)")
    parser.add_argument("--seed", type=int, default=42, help="demo seed (default 42)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK['rows']:,} rows, {QUICK['repeats']} repeat, "
                             f"{QUICK['days']} days, no warming (explicit options win)")
    parser.add_argument("--profile", action="store_true",
                        help="also run one backfill and one daily under cProfile and report the top")
    parser.add_argument("--skip-prefect", action="store_true",
                        help="skip the Prefect overhead measurement")
    parser.add_argument("--skip-real", action="store_true",
                        help="skip the real-data stage (python -m bench.real; --quick skips it, "
                             "the test suite runs its short version apart)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md",
                        help="report file (default bench/RESULTS.md)")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR,
                        help="snapshot cache (default bench/.cache)")
    parser.add_argument("--cache-growth", action="store_true",
                        help="keep the store-growth snapshots (days 2..N) in the cache too "
                             "(~0.6 GB each at 1.2M rows; by default they are generated, used "
                             "and deleted)")
    parser.add_argument("--no-fail", action="store_true",
                        help="exit 0 even when a goal fails (report only)")
    parser.add_argument("--warm-gb", type=float, default=4.0,
                        help="touch and free this many GB right before each measured process, "
                             "so lazily host-backed VM memory does not add page-fault time "
                             "(default 4; 0 to measure cold; --quick uses 0)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--fork", action=argparse.BooleanOptionalAction, default=False,
                        help="run jobs in forks of a process that imported everything once "
                             "instead of fresh interpreters (saves seconds per job; --quick "
                             "uses it; peak RSS then includes the preloaded modules)")
    parser.add_argument("--prefect-api-url", default=None,
                        help="measure the flows against this running Prefect API instead of "
                             "starting an ephemeral server (its start is then not measured)")
    return parser


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        given = set(argv if argv is not None else sys.argv[1:])
        for name, value in QUICK.items():
            flag = "--" + name.replace("_", "-")
            if not any(a in (flag, f"--no-{flag[2:]}") or a.startswith(f"{flag}=") for a in given):
                setattr(args, name, value)
    if (args.rows < 10 or args.repeats < 1 or args.train_repeats < 1 or args.days < 1
            or args.batch_rows < 1 or args.prefect_rows < 10):
        parser.error("--rows and --prefect-rows must be >= 10; --repeats, --train-repeats, "
                     "--days and --batch-rows >= 1")
    args.candidate_list = [c for c in (args.candidates or "").split(",") if c] or None
    return args


def training_days(days: int, repeats: int) -> list[int]:
    """The growth-series days after which a training run happens (day 0 = the backfill).

    Spread evenly, so the registry ends up with models trained at different store commits.
    """
    return sorted({round(k * days / repeats) for k in range(repeats)})


class Bench:
    """One benchmark session: a scratch folder, the child environment, progress output."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="movie-ratings-bench-"))
        self.env = child_env(self.tmp / "home", args.cache_dir / "pycache",
                             prefect_api_url=args.prefect_api_url)
        self._stores = 0
        if args.fork:
            use_fork_server(self.env)

    def log(self, text: str) -> None:
        print(text, flush=True)

    def new_store(self, label: str) -> Path:
        self._stores += 1
        return self.tmp / "stores" / f"{self._stores:03d}-{label}"

    def measured(self, job: str, args: dict[str, Any]) -> Run:
        warm_memory(self.args.warm_gb)
        load = os.getloadavg()[0]
        return Run.from_child(run_child(job, args, self.env), load=load)

    def chain(self, path: Path, as_of: date, store: Path, *, daily: bool,
              profile: Path | None = None) -> Run:
        args: dict[str, Any] = {
            "path": str(path), "as_of": as_of.isoformat(), "store": str(store),
            "require_existing": daily, "version": f"seed={self.args.seed},size={self.args.rows}",
        }
        if profile is not None:
            args["profile"] = str(profile)
        return self.measured("chain", args)

    def show(self, name: str, run: Run, k: int | None = None, of: int | None = None) -> None:
        count = f" {k + 1}/{of}" if k is not None and of is not None else ""
        self.log(f"  {name}{count}: work {run.work_s:.2f} s "
                 f"(cpu {run.work_cpu_s:.2f} s, sys {run.work_sys_s:.2f} s), "
                 f"process {run.process_s:.2f} s, peak RSS {run.maxrss_bytes / 1e9:.2f} GB")

    # ----------------------------------------------------------------------------------

    def run(self) -> int:
        a = self.args
        started, load_start, code = now(), os.getloadavg()[0], code_version(REPO)
        sources, cpu_start = source_stamp(REPO), cpu_times()
        dates = snapshot_dates(a.days)
        self.log(f"snapshots: {a.rows:,} rows, {len(dates)} dates, cache {a.cache_dir}")
        cached = dates if a.cache_growth else dates[:2]
        paths = ensure_snapshots(cached, seed=a.seed, size=a.rows, env=self.env,
                                 cache_dir=a.cache_dir, log=self.log)
        batch_file = ensure_sample(dates[1], seed=a.seed, size=a.rows, sample=a.batch_rows,
                                   env=self.env, cache_dir=a.cache_dir, log=self.log)

        # Rounds of (parse, old notebook, backfill, daily), so that a slow spell on the
        # machine hits the baseline and the chains alike instead of one measurement's repeats.
        self.log("rounds of: parse = pyarrow.csv.read_csv; old notebook = pandas replica; "
                 "backfill = read -> clean -> features -> upsert into an empty store; "
                 f"daily = {dates[1]} onto a copy of the backfilled store")
        base_store = self.new_store("backfill")
        parses, notebooks, backfills, dailies = [], [], [], []
        for k in range(a.repeats):
            parses.append(self.measured("parse", {"path": str(paths[0])}))
            self.show("parse", parses[-1], k, a.repeats)
            notebooks.append(self.measured("notebook", {"path": str(paths[0])}))
            self.show("old notebook", notebooks[-1], k, a.repeats)
            store = base_store if k == 0 else self.new_store("backfill")
            backfills.append(self.chain(paths[0], dates[0], store, daily=False))
            self.show("backfill", backfills[-1], k, a.repeats)
            if k:
                shutil.rmtree(store, ignore_errors=True)
            store = self.new_store("daily")
            shutil.copytree(base_store, store)
            dailies.append(self.chain(paths[1], dates[1], store, daily=True))
            self.show("daily", dailies[-1], k, a.repeats)
            shutil.rmtree(store, ignore_errors=True)
        parse = Measurement("parse", tuple(parses))
        notebook = Measurement("old notebook", tuple(notebooks))
        backfill = Measurement("backfill", tuple(backfills))
        daily = Measurement("daily", tuple(dailies))
        self.log(f"  daily changed share: {max(r.changed_share for r in daily.runs):.3%}")

        series = self.series(base_store, paths, dates, batch_file)
        prefect = None if a.skip_prefect else self.prefect()
        profiles = self.profile(paths, dates, base_store) if a.profile else {}

        measurements = {
            "parse": parse, "notebook": notebook, "backfill": backfill, "daily": daily,
            "training": Measurement("training", tuple(series["training"])),
            "inference": Measurement("inference", tuple(series["inference"])),
            "batch": Measurement("batch predict", tuple(series["batch"])),
        }
        goals = evaluate(measurements, series, days=a.days, batch_rows=a.batch_rows)
        after = source_stamp(REPO)
        edited = sorted(p for p in sources.keys() | after.keys() if sources.get(p) != after.get(p))
        meta = {
            "command": "python -m bench " + shlex.join(sys.argv[1:]) if sys.argv[1:]
            else "python -m bench",
            "started": started, "load_start": load_start, "load_end": os.getloadavg()[0],
            "machine": machine(), "code": code, "edited": edited,
            "steal": steal_share(cpu_start, cpu_times()), "seed": a.seed, "rows": a.rows,
            "repeats": a.repeats, "train_repeats": a.train_repeats, "days": a.days,
            "file_bytes": paths[0].stat().st_size, "warm_gb": a.warm_gb,
            "backfill_date": dates[0].isoformat(), "daily_date": dates[1].isoformat(),
            "daily_rows": daily.runs[0].info["rows_read"], "batch_rows": a.batch_rows,
            "finished": now(), "fork": a.fork,
        }
        text = render(meta, measurements, series, prefect, goals, profiles)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        # the sections the standalone scripts wrote are kept (the real-data one until rewritten)
        a.out.write_text(keep_sections(a.out.read_text() if a.out.exists() else "", text + "\n"))
        if not a.skip_real:  # after the rest is written: a failure here loses nothing else
            section = self.real()
            write_marked(REAL, section, a.out)
            text += "\n\n" + section
        self.log("")
        self.log(text)
        self.log(f"report written to {a.out}")
        failed = [g.name for g in goals if g.failed]
        if failed:
            self.log(f"FAILED: {', '.join(failed)}" + (" (--no-fail: exit 0)" if a.no_fail else ""))
        return 1 if failed and not a.no_fail else 0

    def growth_snapshot(self, k: int, as_of: date) -> tuple[Path, bool]:
        """The snapshot of growth day ``k``: cached, or generated now (and deleted after use)."""
        a = self.args
        cached = snapshot_path(a.seed, a.rows, as_of, a.cache_dir)
        if cached.exists():
            return cached, False
        (path,) = ensure_snapshots([as_of], seed=a.seed, size=a.rows, env=self.env,
                                   cache_dir=self.tmp / "snapshots", log=self.log)
        return path, True

    def series(self, base_store: Path, paths: list[Path], dates: list[date],
               batch_file: Path) -> dict[str, Any]:
        """The system as deployed, day after day, on a copy of the backfilled store.

        Training runs after the backfill and at evenly spread later days; the first one's
        model serves the batch-predict runs; every daily is followed by an inference of
        that day's batch. Store size is taken after each day; at the end every store commit
        and every registered model's training data are read again.
        """
        a = self.args
        home = self.tmp / "series"
        store, registry, site = home / "store", home / "registry", home / "site"
        shutil.copytree(base_store, store)
        size, files = tree_bytes(store)
        sizes, counts, parts = [size], [files], [store_bytes(store)]
        train_at = training_days(a.days, a.train_repeats)
        self.log(f"series: backfilled store ({size / 1e6:.1f} MB, {files} files), training after "
                 f"day(s) {', '.join(map(str, train_at))}, then {a.days} days of daily + inference")
        trainings, inferences, batches, daily_runs = [], [], [], []
        first_inference = None

        def train() -> None:
            args = {"store": str(store), "registry": str(registry), "seed": a.seed}
            if a.candidate_list:
                args["candidates"] = a.candidate_list
            trainings.append(self.measured("train", args))
            info = trainings[-1].info
            self.show(f"training (store commit {info['store_commit']})", trainings[-1])
            self.log(f"    model v{info['model_version']} {info['estimator']}: rmse "
                     f"{info['metrics']['rmse']:.4f}; promoted {info['promoted']}")

        def infer() -> Run:
            run = self.measured("infer", {"store": str(store), "registry": str(registry),
                                          "site": str(site)})
            self.show(f"inference (store commit {run.info['store_commit']}, "
                      f"{run.info['predicted']:,} films)", run)
            return run

        if 0 in train_at:
            train()
        for k in range(a.repeats):
            out = self.tmp / f"batch-{k}.csv"
            batches.append(self.measured("batch", {
                "input": str(batch_file), "output": str(out), "registry": str(registry),
                "as_of": dates[1].isoformat()}))
            self.show("batch predict", batches[-1], k, a.repeats)
        first_inference = infer()
        for k, as_of in enumerate(dates[1:], start=1):
            path, transient = (paths[k], False) if k < len(paths) else self.growth_snapshot(k, as_of)
            run = self.chain(path, as_of, store, daily=True)
            if transient:
                path.unlink(missing_ok=True)
            daily_runs.append(run)
            self.show(f"daily {k} ({as_of}, changed {run.changed_share:.3%})", run)
            inferences.append(infer())
            if k in train_at:
                train()
            size, files = tree_bytes(store)
            self.log(f"    store {size / 1e6:.1f} MB (+{(size - sizes[-1]) / 1e6:.2f} MB), "
                     f"{files} files")
            sizes.append(size)
            counts.append(files)
            parts.append(store_bytes(store))
        verify = run_child("verify", {"store": str(store), "registry": str(registry)}, self.env)
        checks, models = verify.result["checks"], verify.result["models"]
        self.log(f"  time travel: {sum(c['ok'] for c in checks)}/{len(checks)} reads ok; "
                 f"registered models' training data: {sum(m['ok'] for m in models)}/{len(models)} "
                 f"ok ({verify.wall_s:.1f} s)")
        return {"sizes": sizes, "files": counts, "parts": parts, "daily_runs": daily_runs,
                "checks": checks, "models": models, "dates": [d.isoformat() for d in dates],
                "training": trainings, "training_days": train_at, "inference": inferences,
                "first_inference": first_inference, "batch": batches,
                "registry_bytes": tree_bytes(registry)[0] if registry.exists() else 0}

    def prefect(self) -> dict[str, Any]:
        a = self.args
        rows = min(a.prefect_rows, a.rows)
        self.log(f"prefect overhead: backfill, training and inference flows vs their pure "
                 f"chains on {rows:,} rows")
        (path,) = ensure_snapshots(snapshot_dates(0), seed=a.seed, size=rows,
                                   env=self.env, cache_dir=a.cache_dir, log=self.log)
        args: dict[str, Any] = {"path": str(path), "as_of": snapshot_dates(0)[0].isoformat(),
                                "chain_root": str(self.new_store("prefect-chains"))}
        candidates = [c for c in (a.prefect_candidates or "").split(",") if c] or a.candidate_list
        if candidates:
            args["candidates"] = candidates
        run = run_child("prefect", args, self.env)
        r = run.result
        started = r["server_start_s"]
        self.log(("  server already running; " if started is None else
                  f"  server start {started:.2f} s; ") + "; ".join(
            f"{name}: chain {f['chain_s']:.2f} s, flow {f['flow_s']:.2f} s"
            for name, f in r["flows"].items()))
        return {**r, "rows": rows, "maxrss_bytes": run.maxrss_bytes}

    def real(self) -> str:
        """The real-data stage (:mod:`bench.real`) in a fresh process: its report section."""
        from bench.real import meta_now, render_section

        self.log("real data: bokeh-sampledata films, trained before 2010, 2010-2014 predicted as upcoming")
        meta = meta_now("python -m bench (its real-data stage, = python -m bench.real)")
        workdir = self.tmp / "real"
        workdir.mkdir(parents=True, exist_ok=True)
        run = run_child("real", {"workdir": str(workdir), "seed": self.args.seed}, self.env)
        meta["load_end"] = os.getloadavg()[0]
        result = run.result
        self.log(f"  ours rmse {result['metrics']['ours']['rmse']:.4f}, old recipe "
                 f"{result['metrics']['old_recipe']['rmse']:.4f} ({result['ratio_to_old']:.3f}x)")
        return render_section(result, meta)

    def profile(self, paths: list[Path], dates: list[date], base_store: Path) -> dict[str, str]:
        import io
        import pstats

        out: dict[str, str] = {}
        for label, path, as_of, daily in (("backfill", paths[0], dates[0], False),
                                          ("daily", paths[1], dates[1], True)):
            store = self.new_store(f"profile-{label}")
            if daily:
                shutil.copytree(base_store, store)
            file = self.args.cache_dir / f"profile-{label}-n{self.args.rows}.pstats"
            self.chain(path, as_of, store, daily=daily, profile=file)
            text = io.StringIO()
            stats = pstats.Stats(str(file), stream=text)
            stats.sort_stats("cumulative").print_stats(20)
            stats.sort_stats("tottime").print_stats(12)
            out[label] = text.getvalue()
            self.log(f"\ncProfile of one {label} ({file}):\n{out[label]}")
        return out

    def close(self) -> None:
        if self.args.keep:
            self.log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``."""
    bench = Bench(_options(argv))
    try:
        return bench.run()
    except ChildFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        bench.close()
