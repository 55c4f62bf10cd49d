"""The machine description and the Markdown report (printed and written to RESULTS.md)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.measure import Goal, Measurement, growth_fractions


def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model, OS, Python and library versions, load average."""
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cores": os.cpu_count(),
        "ram_gb": ram / 1e9,
        "cpu": model,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pyarrow": version("pyarrow"),
        "deltalake": version("deltalake"),
        "prefect": version("prefect"),
        "numpy": version("numpy"),
        "pandas": version("pandas"),
        "scikit-learn": version("scikit-learn"),
        "xgboost": version("xgboost-cpu"),
    }


def code_version(repo: Path) -> str:
    """The commit and the project files that differ from it (read-only git queries)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                                  timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
               if not line[3:].startswith(("bench/", "tests/"))]
    return f"commit {commit}" + (f", uncommitted changes in {', '.join(changed)}" if changed else "")


def source_stamp(repo: Path) -> dict[str, float]:
    """Modification time of every project source file, to notice edits during a run."""
    return {str(p.relative_to(repo)): p.stat().st_mtime
            for folder in ("movie_ratings", "tasks", "flows") for p in (repo / folder).rglob("*.py")}


def cpu_times() -> list[int]:
    """The aggregate ``cpu`` line of /proc/stat (jiffies: user nice system idle iowait irq
    softirq steal ...), or an empty list where there is none."""
    try:
        with open("/proc/stat") as handle:
            return [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return []


def steal_share(start: list[int], end: list[int]) -> float | None:
    """Share of CPU time the hypervisor gave to others between two :func:`cpu_times`."""
    if len(start) < 8 or len(end) < 8:
        return None
    delta = [b - a for a, b in zip(start, end, strict=False)]
    return delta[7] / max(sum(delta[:8]), 1)


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f}"


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f}"


def _runs(values: list[float], fmt: str = "{:.2f}") -> str:
    return ", ".join(fmt.format(v) for v in values)


def _machine_tag(m: dict[str, Any], runs: tuple[Any, ...]) -> str:
    loads = [r.load for r in runs if r.load is not None]
    load = f", load {min(loads):.1f}-{max(loads):.1f}" if loads else ""
    return f"{m['cores']} cores, {m['ram_gb']:.0f} GB{load}"


#: Rows of the main table: (key in the measurements, label).
STAGES: tuple[tuple[str, str], ...] = (
    ("parse", "parse limit: `pyarrow.csv.read_csv`"),
    ("notebook", "old notebook replica (pandas)"),
    ("backfill", "backfill"),
    ("daily", "daily (next day, copies of the backfilled store)"),
    ("series_daily", "daily (growth series)"),
    ("training", "training, all candidates"),
    ("inference", "inference of the daily batch"),
    ("batch", "batch predict"),
)


def _stage_rows(meta: dict[str, Any], m: dict[str, Measurement]) -> list[str]:
    base = m["parse"].median("work_s")
    rows = []
    for key, label in STAGES:
        x = m.get(key)
        if x is None or not x.runs:
            continue
        if key == "batch":
            label = f"{label} ({meta['batch_rows']:,} rows)"
        median = x.median("work_s")
        values = x.all("work_s")
        runs = (_runs(values, "{:.1f}") if len(values) <= 5
                else f"{min(values):.1f} to {max(values):.1f}")
        rows.append(
            f"| {label} | **{median:.2f}** | {len(values)} | {runs} "
            f"| {median / base:.2f}x | {_mb(x.peak_rss)} | {x.median('work_cpu_s'):.1f} "
            f"| {x.median('process_s'):.1f} | {_machine_tag(meta['machine'], x.runs)} |"
        )
    return rows


def render(meta: dict[str, Any], m: dict[str, Measurement], series: dict[str, Any],
           prefect: dict[str, Any] | None, goals: list[Goal],
           profiles: dict[str, str] | None = None) -> str:
    """The whole report as Markdown."""
    mach = meta["machine"]
    m = {**m, "series_daily": Measurement("growth dailies", tuple(series["daily_runs"]))}
    lines = [
        "# Benchmark",
        "",
        f"Generated by `{meta['command']}` from {meta['started']} to {meta['finished']} (UTC). "
        "Numbers are measured by that run; rerun to refresh, never edit by hand.",
        "",
        f"- code: {meta['code']}",
        f"- machine: {mach['cores']} cores, {mach['ram_gb']:.1f} GB RAM, {mach['cpu']}, {mach['os']}",
        f"- software: Python {mach['python']}, pyarrow {mach['pyarrow']}, deltalake {mach['deltalake']}, "
        f"prefect {mach['prefect']}, numpy {mach['numpy']}, pandas {mach.get('pandas', '?')}, "
        f"scikit-learn {mach.get('scikit-learn', '?')}, xgboost {mach.get('xgboost', '?')}",
        f"- load average (1 min) at start / end: {meta['load_start']:.2f} / {meta['load_end']:.2f}"
        + (f"; CPU steal during the run: {meta['steal']:.1%}" if meta.get("steal") is not None
           else "") + " (other work on the machine or host makes times noisier; the load "
        "when each run started is in the machine column)",
        *([f"- **warning: project files changed during the run** ({', '.join(meta['edited'])}); "
           "the runs may mix two versions of the code"] if meta.get("edited") else []),
        f"- snapshot: demo seed {meta['seed']}, {meta['rows']:,} rows on "
        f"{meta['backfill_date']} ({meta['file_bytes'] / 1e6:.0f} MB CSV); daily = "
        f"{meta['daily_date']} ({meta['daily_rows']:,} rows)",
        f"- repeats: {meta['repeats']} rounds of parse, old notebook, backfill, daily; "
        f"{meta['repeats']} batch predicts; {meta['train_repeats']} training run(s) spread over "
        f"the growth series (after day(s) {', '.join(map(str, series['training_days']))}); "
        f"one inference after each of the {meta['days']} dailies. "
        + ("Every run is a fork of a process that imported everything once (`--fork`: peak RSS "
           "includes those modules)." if meta.get("fork") else "Every run is a fresh process."),
        f"- memory warming: {meta['warm_gb']:g} GB touched and freed before each measured "
        "process (`--warm-gb`; see bench/README.md)",
        "",
        "## Goals",
        "",
        "| goal | target | measured | result |",
        "|---|---|---|---|",
        *[f"| {g.name} | {g.target} | {g.measured} | "
          f"{'PASS' if g.passed else 'n/a (run too small)' if g.passed is None else '**FAIL**'} |"
          for g in goals],
        "",
        "## Stages",
        "",
        "Seconds = wall time of the work inside a fresh child process, without interpreter "
        "start and one-time imports (process = the whole child). Ratio = median / the parse "
        "limit's median. Peak MB = largest peak RSS of the process tree over the runs. CPU = "
        "user + system seconds of the work (all threads), median.",
        "",
        "| stage | median s | runs | all runs (s) | ratio to parse | peak MB | CPU s | process s | machine |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
        *_stage_rows(meta, m),
        "",
        "Ratio per round (each run / the same round's parse): backfill "
        + _runs([b.work_s / p.work_s for b, p in zip(m["backfill"].runs, m["parse"].runs, strict=False)],
                "{:.2f}x")
        + "; daily "
        + _runs([d.work_s / p.work_s for d, p in zip(m["daily"].runs, m["parse"].runs, strict=False)],
                "{:.2f}x")
        + "; old notebook "
        + _runs([d.work_s / p.work_s for d, p in zip(m["notebook"].runs, m["parse"].runs, strict=False)],
                "{:.2f}x")
        + ".",
        "",
        _daily_changes(m["daily"]),
        "",
        _notebook_rows(m["notebook"]),
        "",
    ]
    lines += _missed_lines(goals, m)
    lines += _stage_lines("Ingest stages (medians; `upsert.*` are inside `upsert_snapshot`)",
                          {"backfill": m["backfill"], "daily": m["daily"]})
    lines += _stage_lines("Old notebook replica stages (medians)", {"old notebook": m["notebook"]})
    lines += _training_lines(m["training"])
    lines += _stage_lines("Inference stages (medians over the daily batches)",
                          {"inference": m["inference"]})
    lines += _inference_detail(series)
    lines += _stage_lines("Batch predict stages (medians)", {"batch predict": m["batch"]})
    lines += _growth_lines(series)
    lines += _prefect_lines(prefect)
    lines += _profile_lines(profiles or {})
    return "\n".join(lines)


def _daily_changes(daily: Measurement) -> str:
    return "Daily changes (from `UpsertResult`): " + "; ".join(
        f"new {r.info['new']:,}, changed {r.info['changed']:,}, deleted {r.info['deleted']:,} "
        f"of {r.info['rows_read']:,} read = {r.changed_share:.3%}" for r in daily.runs[:1])


def _notebook_rows(notebook: Measurement) -> str:
    r = notebook.runs[0].info
    return (f"Old notebook replica: `read_csv` of {r['rows_read']:,} rows, then its `dropna()` "
            f"over all columns and the Released filter keep {r['rows_kept']:,} "
            f"({r['rows_kept'] / max(r['rows_read'], 1):.1%}); what it then does costs little "
            "because so few rows are left (see its stages below). It validates nothing, keeps no "
            "rejects, writes no store and has no history.")


def _missed_lines(goals: list[Goal], m: dict[str, Measurement]) -> list[str]:
    """For each missed time goal: where the time goes (the largest stages)."""
    where = {"backfill time": "backfill", "daily time": "daily",
             "training time (all candidates)": "training",
             "inference of the daily batch": "inference"}
    missed = [g for g in goals if g.failed]
    if not missed:
        return []
    lines = ["## Missed goals: where the time goes", ""]
    for goal in missed:
        key = next((k for name, k in where.items() if goal.name.startswith(name)), None)
        if key is None:
            lines.append(f"- **{goal.name}**: {goal.measured}.")
            continue
        stages = m[key].stage_medians()
        top = sorted(((n, v) for n, v in stages.items() if not n.startswith("upsert.")
                      or key != "backfill"), key=lambda kv: -kv[1]["wall_s"])[:5]
        total = m[key].median("work_s")
        lines.append(f"- **{goal.name}** ({goal.measured}): "
                     + ", ".join(f"{n} {v['wall_s']:.1f} s ({v['wall_s'] / total:.0%})" for n, v in top)
                     + ".")
    return [*lines, "", "Stage tables below; `--profile` adds cProfile tops of the ingest runs.", ""]


def _stage_lines(title: str, measurements: dict[str, Measurement]) -> list[str]:
    present = {k: v for k, v in measurements.items() if v.runs}
    if not present:
        return []
    medians = {k: v.stage_medians() for k, v in present.items()}
    names = list(dict.fromkeys(n for stages in medians.values() for n in stages))
    if not names:
        return []
    header = " | ".join(f"{k} wall (s) | {k} CPU (s) | {k} peak RSS after (GB)" for k in present)
    lines = [f"## {title}", "", f"| stage | {header} |",
             "|---|" + "---:|---:|---:|" * len(present)]
    for name in names:
        cells = []
        for k in present:
            x = medians[k].get(name)
            cells.append("| |" if x is None else
                         f"{x['wall_s']:.2f} | {x['cpu_s']:.2f} | {_gb(x['hwm_bytes'])}")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return [*lines, ""]


def _training_lines(training: Measurement) -> list[str]:
    if not training.runs:
        return []
    lines = _stage_lines("Training stages (medians)", {"training": training})
    lines += [
        "### Candidates (fit seconds per run, hold-out RMSE of the last run)",
        "",
        "| candidate | fit s (runs) | RMSE | MAE | R² | details |",
        "|---|---|---:|---:|---:|---|",
    ]
    from movie_ratings.modeling.card import CandidateScore, Comparison

    last = training.runs[-1].info
    for name, entry in last["candidates"].items():
        score = CandidateScore.model_validate(entry)
        fits = [r.info["candidates"].get(name, {}).get("fit_seconds") for r in training.runs]
        if score.status == "failed":
            lines.append(f"| {name} | {_runs([f for f in fits if f is not None], '{:.1f}')} | | | "
                         f"| failed: {score.error} |")
            continue
        details = {k: v for k, v in score.model_dump(exclude_none=True).items()
                   if k not in ("mse", "rmse", "mae", "r2", "fit_seconds", "status")}
        lines.append(f"| {name} | {_runs([f for f in fits if f is not None], '{:.1f}')} "
                     f"| {score.rmse:.4f} | {score.mae:.4f} | {score.r2:.4f} "
                     f"| {', '.join(f'{k} {v}' for k, v in details.items())} |")
    ablation = last.get("text_ablation") or {}
    parity = {name: Comparison.model_validate(entry) for name, entry in last["parity"].items()}
    no_votes, as_it_was = parity.get("old_notebook_temporal_no_votes"), parity.get("old_notebook_random_split")
    tuning, refit = last.get("tuning"), last.get("refit")
    lines += [
        "",
        f"Preprocessing (fitted once, shared by all candidates): "
        f"{_runs([r.info['preprocessing_s'] for r in training.runs], '{:.1f}')} s. "
        + (f"Text ablation (`{ablation['model']}` fitted with and without the text score): "
           f"{_runs([r.info['text_ablation'].get('fit_seconds', float('nan')) for r in training.runs], '{:.1f}')} s, "
           f"RMSE {ablation['without_text']['rmse']:.4f} without text vs "
           f"{ablation['with_text']['rmse']:.4f} with. " if ablation.get("with_text") else "")
        + (f"`xgboost_tuned` search: {len(tuning['trials'])} configurations in "
           f"{_runs([(r.info.get('tuning') or {}).get('seconds') or float('nan') for r in training.runs], '{:.1f}')} s "
           f"on {tuning['fit_rows']:,} rows, chose {tuning['chosen'] or 'the defaults'} with {tuning['rounds']} rounds. "
           if tuning else "")
        + (f"Production refit on all {refit['films']:,} rated films: "
           f"{_runs([(r.info.get('refit') or {}).get('seconds') or float('nan') for r in training.runs], '{:.1f}')} s. "
           if refit else "")
        + f"Best: `{last['estimator']}` RMSE {last['metrics']['rmse']:.4f} on "
        f"{last['split']['test_rows']:,} hold-out films ({last['labelled_rows']:,} rated films); "
        f"old notebook's recipe on the same temporal hold-out without `imdb_votes`: RMSE "
        f"{no_votes.rmse_text() if no_votes else 'not reported'}; as it was (random split, with "
        f"`imdb_votes`): RMSE {as_it_was.rmse_text() if as_it_was else 'not reported'}; mean baseline "
        f"RMSE {Comparison.model_validate(last['baseline'] or {}).rmse_text()}.",
        "",
    ]
    return lines


def _inference_detail(series: dict[str, Any]) -> list[str]:
    runs = series["inference"]
    if not runs:
        return []
    first = series.get("first_inference")
    predicted = [r.info["predicted"] for r in runs]
    lines = [
        f"Films predicted per daily batch: {min(predicted):,} to {max(predicted):,}; predictions "
        f"history after the last day: {runs[-1].info['history_rows']:,} rows; films scored live "
        f"(predicted before their rating): {runs[-1].info['monitored']:,}"
        + (f", live MAE {runs[-1].info['live_mae']:.3f}" if runs[-1].info["live_mae"] is not None else "")
        + ". Inference time by day: " + _runs([r.work_s for r in runs], "{:.1f}") + " s."
        + (f" The first inference (after the backfill, empty history) took {first.work_s:.1f} s "
           f"for {first.info['predicted']:,} films." if first is not None else ""),
        "",
    ]
    return lines


def _growth_lines(series: dict[str, Any]) -> list[str]:
    sizes, fractions = series["sizes"], growth_fractions(series["sizes"])
    lines = [
        "## Store growth",
        "",
        "A backfilled store, then consecutive days of daily update + inference (and the "
        "training runs), as the deployed job runs them. Store = the whole local store folder "
        "(feature groups, rejects, predictions history, commit records).",
        "",
        "| after | snapshot | store MB | files | growth MB | growth / backfill size "
        "| changed share | daily work (s) | inference (s) | peak RSS GB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| backfill | {series['dates'][0]} | {sizes[0] / 1e6:.1f} | {series['files'][0]} "
        "| | | | | | |",
    ]
    for k, run in enumerate(series["daily_runs"], start=1):
        infer = series["inference"][k - 1] if k - 1 < len(series["inference"]) else None
        lines.append(
            f"| daily {k} | {series['dates'][k]} | {sizes[k] / 1e6:.1f} | {series['files'][k]} "
            f"| {(sizes[k] - sizes[k - 1]) / 1e6:.2f} | {fractions[k - 1]:.2%} "
            f"| {run.changed_share:.3%} | {run.work_s:.2f} "
            f"| {infer.work_s:.2f} | {_gb(max(run.maxrss_bytes, infer.maxrss_bytes if infer else 0))} |"
        )
    first, last = series["parts"][0], series["parts"][-1]
    checks, models = series["checks"], series["models"]
    bad = [c for c in checks if not c["ok"]]
    bad_models = [x for x in models if not x["ok"]]
    lines += [
        "",
        f"Total after {len(fractions)} days: {sizes[-1] / 1e6:.1f} MB = "
        f"{sizes[-1] / sizes[0]:.3f}x the backfilled store "
        f"(+{sum(fractions):.2%}; one full copy per daily would be {len(fractions) + 1}x). "
        "By part, after the backfill -> after the last day (MB): "
        + ", ".join(f"{name} {first.get(name, 0) / 1e6:.1f} -> {size / 1e6:.1f}"
                    for name, size in last.items())
        + f". The model registry (not part of the store) holds {series['registry_bytes'] / 1e6:.1f} MB.",
        "",
        f"Time travel: read every group (and the rejects) at each of "
        f"{len({c['commit'] for c in checks})} store commits: {len(checks) - len(bad)} of "
        f"{len(checks)} reads ok, row counts equal to the commit records"
        + ("." if not bad else "; failures: " + "; ".join(
            f"commit {c['commit']} {c['group']}: expected {c['expected']}, read {c['read']}"
            f"{' (' + c['error'] + ')' if c['error'] else ''}" for c in bad[:10])),
        "",
        "Registered models' training data, read again after the last day at the store commit "
        "on each model card: "
        + "; ".join(f"v{x['model_version']} (commit {x['store_commit']}): {x['read']} of "
                    f"{x['expected']} rated films, same split {x['same_split']}"
                    + (f" ({x['error']})" if x["error"] else "")
                    for x in models)
        + (" - all ok." if models and not bad_models else "."),
        "",
    ]
    return lines


def _prefect_lines(prefect: dict[str, Any] | None) -> list[str]:
    if prefect is None:
        return ["## Prefect overhead", "", "Skipped (`--skip-prefect`).", ""]
    lines = [
        f"## Prefect overhead ({prefect['rows']:,}-row snapshot, one run each)",
        "",
        ("Prefect and the flows were preloaded (`--fork`); " if prefect["import_s"] < 0.05 else
         f"Import of prefect + flows: {prefect['import_s']:.2f} s; ")
        + ("flows ran against an already running Prefect API (`--prefect-api-url`)"
           if prefect["server_start_s"] is None else
           f"ephemeral API server start (once per CLI command): {prefect['server_start_s']:.2f} s")
        + f"; peak RSS of the process tree: {_mb(prefect['maxrss_bytes'])} MB.",
        "",
        "| flow | pure chain s (best of 2) | flow s (server up) | overhead s |",
        "|---|---:|---:|---:|",
    ]
    for name, f in prefect["flows"].items():
        lines.append(f"| `{name}` | {f['chain_s']:.2f} ({_runs(f['chain_runs_s'])}) "
                     f"| {f['flow_s']:.2f} | {f['flow_s'] - f['chain_s']:.2f} |")
    return [*lines, "",
            "The flows also run what the chains leave out (fetching the snapshot, Prefect "
            "artifacts); the overhead is per run and does not grow with the data.", ""]


def _profile_lines(profiles: dict[str, str]) -> list[str]:
    lines = []
    for label, text in profiles.items():
        lines += [f"## cProfile of one {label}", "", "```", text.strip(), "```", ""]
    return lines


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
