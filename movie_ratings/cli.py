"""The ``movie-ratings`` command: each subcommand runs the matching Prefect flow.

Prefect and the flows are imported inside the commands, after the Prefect settings this
project relies on have been put in the environment, so ``--help`` and ``status`` stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from typing import Any

from movie_ratings.errors import MovieRatingsError
from movie_ratings.settings import Settings, get_settings
from movie_ratings.summary import ingest_line

SOURCES = ("demo", "csv", "kaggle")


def _prepare_prefect(settings: Settings) -> None:
    """Default Prefect settings for a run from this CLI (explicit user settings win).

    Without a server, Prefect starts a temporary one; on a 2-core machine its first start
    can take longer than Prefect's 20 s default, hence the longer timeout. Prefect does not
    create missing parents of its home (its database then fails), so the home is made here.
    """
    (settings.home / "prefect").mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _add_source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=SOURCES, default="demo",
                        help="where the snapshot comes from (default: demo, the built-in simulator)")
    parser.add_argument("--path", help="CSV file in the Kaggle schema (for --source csv)")
    parser.add_argument("--as-of", type=_date, dest="as_of",
                        help="snapshot date YYYY-MM-DD (default: today, UTC)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="movie-ratings",
        description="Predict IMDb ratings of upcoming films from the daily TMDB snapshot.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    backfill = commands.add_parser("backfill", help="load a full snapshot into the feature store")
    _add_source_args(backfill)
    backfill.set_defaults(handler=_cmd_backfill)

    daily = commands.add_parser("daily", help="upsert what a new snapshot changed")
    _add_source_args(daily)
    daily.set_defaults(handler=_cmd_daily)

    run = commands.add_parser("run", help="the main job: backfill if empty, then daily updates")
    _add_source_args(run)
    run.add_argument("--days", type=int, default=7,
                     help="daily snapshots the demo feed simulates on an empty store (default 7)")
    run.set_defaults(handler=_cmd_run)

    status = commands.add_parser("status", help="feature groups, versions, row counts, rejects")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_cmd_status)
    return parser


def _check_source(args: argparse.Namespace) -> None:
    if args.source == "csv" and not args.path:
        raise SystemExit("movie-ratings: error: --source csv needs --path FILE")


def _cmd_backfill(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    _check_source(args)
    from flows.backfill import backfill

    return backfill(source=args.source, path=args.path, as_of=args.as_of)


def _cmd_daily(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    _check_source(args)
    from flows.daily_features import daily_features

    return daily_features(source=args.source, path=args.path, as_of=args.as_of)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    _check_source(args)
    from flows.main import main as main_flow

    result = main_flow(source=args.source, path=args.path, as_of=args.as_of, days=args.days)
    return result


def _cmd_status(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from movie_ratings.store import get_feature_store

    return get_feature_store(settings).status()


def format_status(status: dict[str, Any]) -> str:
    """Human-readable status."""
    lines = [f"feature store: {status['backend']} at {status['path']}"]
    if status.get("commit") is None:
        lines.append("  empty: run `movie-ratings run` or `movie-ratings backfill`")
        return "\n".join(lines)
    demo = " (DEMO DATA)" if status.get("is_demo") else ""
    lines.append(
        f"  commit {status['commit']} of {status['commits']}: snapshot {status['snapshot_date']} "
        f"from {status['source']}{demo}, written {status['created_at']}"
    )
    for group in status["feature_groups"]:
        lines.append(
            f"  feature group {group['name']} v{group['version']}: {group['rows']:,} rows "
            f"(table version {group['table_version']})"
        )
    for view in status["feature_views"]:
        lines.append(f"  feature view {view['name']} v{view['version']}: label {view['label']}")
    rejects = status["rejects"]
    lines.append(
        f"  quarantined: {rejects['last_snapshot']:,} in the last snapshot, {rejects['total']:,} kept in total"
    )
    return "\n".join(lines)


def _print_result(command: str, result: dict[str, Any], settings: Settings) -> None:
    runs = result.get("runs", [result])
    for run in runs:
        print(ingest_line(run))
    print(f"results: feature store in {settings.store_dir}; see `movie-ratings status`")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``movie-ratings`` console script."""
    args = build_parser().parse_args(argv)
    settings = get_settings()
    if args.command != "status":
        _prepare_prefect(settings)
    try:
        result = args.handler(args, settings)
    except MovieRatingsError as exc:
        print(f"movie-ratings {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.command == "status":
        print(json.dumps(result, indent=2, default=str) if args.json else format_status(result))
    else:
        _print_result(args.command, result, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
