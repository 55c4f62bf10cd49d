"""Fixed cost of a flow command: `movie-ratings daily` on a 200-film file, and where its seconds go.

Run: ``.venv/bin/python -m bench.fixed_cost [--runs 5] [--write]``. Every run is a fresh process
on a fresh copy of a store backfilled with the day before, so each daily writes the same films.
Modes: with a local server running (as `make server` starts it, with its profile), with none
(the CLI starts a temporary API server at once), and Prefect's own way of starting that server
(when the flow is called), for comparison. ``--write`` replaces only this section of
bench/RESULTS.md (``python -m bench`` keeps it).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.sections import FIXED_COST, REPO, run_section, section_parser

SECTION = FIXED_COST
PYTHON = sys.executable
CLI = str(Path(sys.executable).parent / "movie-ratings")
FILMS = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return seconds


def _repeat(runs: int, once: Callable[[], float]) -> list[float]:
    return [once() for _ in range(runs)]


def measure(runs: int, work: Path, log: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Every measurement, ``runs`` times each; the keys are the report's rows."""
    from deployments.local import Local
    from movie_ratings.sources.demo import DEMO_EPOCH, demo_snapshot, write_snapshot_csv

    files = []
    for day in range(2):
        as_of = DEMO_EPOCH + timedelta(days=day)
        files.append((write_snapshot_csv(demo_snapshot(as_of, size=FILMS), work / f"day{day}.csv"), as_of))
    home = work / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MOVIE_RATINGS_"))}
    env |= {"MOVIE_RATINGS_HOME": str(home), "MOVIE_RATINGS_BACKEND": "local", "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_HOME": str(home / "prefect"), "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    (home / "prefect").mkdir(parents=True)
    (path0, day0), (path1, day1) = files
    _timed([CLI, "backfill", "--source", "csv", "--path", str(path0), "--as-of", str(day0)], env)
    shutil.copytree(home / "store", work / "store-after-backfill")
    daily = [CLI, "daily", "--source", "csv", "--path", str(path1), "--as-of", str(day1)]

    def fresh_daily(argv: list[str], run_env: dict[str, str]) -> Callable[[], float]:
        def once() -> float:
            shutil.rmtree(home / "store")
            shutil.copytree(work / "store-after-backfill", home / "store")
            return _timed(argv, run_env)
        return once

    results: dict[str, list[float]] = {}

    def record(name: str, values: list[float]) -> None:
        results[name] = values
        log(f"  {name}: median {statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})")

    # The modes take turns, run by run, so that a change in the machine's load hits them alike;
    # each runs once first, unmeasured (database migrations of a new Prefect home).
    serverless = env | {"PREFECT_HOME": str(work / "prefect-serverless")}
    (work / "prefect-serverless").mkdir()
    prefect_way = [PYTHON, "-c", "import sys, prefect.main; from movie_ratings.cli import main; "
                   f"sys.exit(main({daily[1:]!r}))"]
    modes = {
        "daily, no server running (temporary server started at once)": fresh_daily(daily, serverless),
        "daily, no server running, Prefect starting its temporary server itself (before)":
            fresh_daily(prefect_way, serverless | {"PREFECT_PROFILES_PATH": str(work / "none.toml")}),
        "daily, `make server` running (its profile)": fresh_daily(daily, env),
    }
    local = Local(state=work / "var", port=_free_port(), base_env=env)
    local.start_server()
    local.activate_profile()
    try:
        for once in modes.values():
            once()
        times: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(runs):
            for name, once in modes.items():
                times[name].append(once())
    finally:
        local.stop_all()
        local.deactivate_profile()
    for name, values in times.items():
        record(name, values)

    def py(code: str) -> Callable[[], float]:
        return lambda: _timed([PYTHON, "-c", code], env)

    record("  interpreter start (`python -c pass`)", _repeat(runs, py("pass")))
    record("  `movie-ratings --help`", _repeat(runs, lambda: _timed([CLI, "--help"], env)))
    record("  import the CLI module", _repeat(runs, py("import movie_ratings.cli")))
    record("  import Prefect (`prefect.main`)", _repeat(runs, py("import prefect.main")))
    record("  import Prefect and the daily flow", _repeat(runs, py("import prefect.main, flows.daily_features")))
    record("  import Prefect's API server module", _repeat(runs, py("import prefect.server.api.server")))
    start_server = ("from movie_ratings.prefect_api import TemporaryServer\n"
                    "s = TemporaryServer.start(); s.wait_ready(180); s.stop()")
    record("  temporary API server: start until healthy, then stop", _repeat(runs, py(start_server)))
    return results


def report(results: dict[str, list[float]], runs: int, load: str, note: str) -> str:
    lines = [
        SECTION, "",
        f"Measured by `python -m bench.fixed_cost` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
        f"`movie-ratings daily --source csv` on a {FILMS}-film demo file, each run a fresh process "
        f"on a fresh copy of the store after a backfill of the day before; median of {runs} runs. "
        f"Load average (1 min) at start / end: {load}. {note}".rstrip(), "",
        "Goal (issue 18): <= 8 s with no server running, <= 4 s with `make server` running.", "",
        "| what | median s | runs (s) |", "|---|---:|---|",
    ]
    for name, values in results.items():
        label = name.strip()
        label = f"↳ {label}" if name.startswith("  ") else label
        lines.append(f"| {label} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    lines += [
        "",
        "Rows marked ↳ are the parts, each timed alone in a fresh process. Without a server, the "
        "CLI starts Prefect's API server in a child process before it imports Prefect, so the "
        "server's start (almost all of it the import of Prefect's server module; migrations and "
        "block registration are skipped when the database is current) runs beside the CLI's own "
        "imports instead of after them, and the CLI never imports the server module itself. The "
        "floors are Prefect's: its import, its server module's import, and the API calls of a "
        "flow run and its task runs.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = section_parser(__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    def run() -> dict[str, list[float]]:
        with tempfile.TemporaryDirectory(prefix="fixed-cost-") as work:
            return measure(args.runs, Path(work))

    return run_section(SECTION, args.write, run,
                       lambda results, load: report(results, args.runs, load, args.note))

if __name__ == "__main__":
    sys.exit(main())
