"""The ``movie-ratings`` command: each subcommand runs the matching Prefect flow.

Prefect and the flows are imported inside the commands, after the Prefect settings this
project relies on have been put in the environment, so ``--help`` and ``status`` stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import Any

from movie_ratings.errors import MovieRatingsError
from movie_ratings.settings import Settings, get_settings
from movie_ratings.summary import run_line

SOURCES = ("demo", "csv", "kaggle")


def _prepare_prefect(settings: Settings) -> None:
    """Default Prefect settings for a run from this CLI (explicit user settings win).

    Without a server, Prefect starts a temporary one; on a 2-core machine its first start
    can take longer than Prefect's 20 s default, hence the longer timeout. With `make server`
    running, the profile it activated in ``PREFECT_HOME`` points at it, with its credentials. Prefect does not
    create missing parents of its home (its database then fails), so the home is made here.
    """
    (settings.home / "prefect").mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.home / "prefect"))
    # The profile `make server` activates (API URL and auth string) when the home is the
    # repository's var/; another home has no server profile and runs serverless.
    os.environ.setdefault("PREFECT_PROFILES_PATH", str(Path(os.environ["PREFECT_HOME"]) / "profiles.toml"))
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")


class _QuietFailures(logging.Filter):
    """Keeps Prefect's failure records (and their tracebacks) off the terminal.

    The CLI prints the error itself, once; the records, tracebacks included, still reach the
    log file and the Prefect API. A retry notice stays, as one line without its traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("prefect.server") and record.levelno >= logging.WARNING:
            # the temporary server's own services (seen: the task-run recorder failing to flush
            # an event while stopping under load): nothing the user can act on, log file only
            return False
        if not record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return True
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            if "Retry " in message:
                record.exc_info, record.exc_text = None, None
                return True
            return False
        return not message.startswith("Finished in state Failed")


def _log_file(settings: Settings) -> Path:
    return settings.home / "log" / "movie-ratings.log"


def _route_logs(settings: Settings, *, debug: bool) -> None:
    """Full log records, tracebacks included, to the log file; the terminal keeps progress
    lines and, without ``--debug``, none of Prefect's failure tracebacks."""
    import prefect.main  # noqa: F401  (configures logging: the handlers below go on top)
    from prefect.logging.handlers import PrefectConsoleHandler

    path = _log_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_movie_ratings_log", False)]:
        root.removeHandler(old)  # a second command in the same process (tests)
        old.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler._movie_ratings_log = True  # type: ignore[attr-defined]
    os.chmod(path, 0o600)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # First, so that the console filter below has not yet removed a record's traceback.
    root.handlers.insert(0, handler)
    for console in root.handlers:
        if isinstance(console, PrefectConsoleHandler):
            for old_filter in [f for f in console.filters if isinstance(f, _QuietFailures)]:
                console.removeFilter(old_filter)
            if not debug:
                console.addFilter(_QuietFailures())


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
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks on the terminal (they always go to the log file)")
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

    train = commands.add_parser("train", help="train the candidates, register the best, promote it if better")
    train.add_argument("--view-version", type=int, default=1, help="feature view version (default 1)")
    train.add_argument("--store-commit", type=int, help="store commit to train on (default: latest)")
    train.add_argument("--split", choices=("temporal", "random"), default="temporal",
                       help="hold-out: most recent releases (default) or random (comparison only)")
    train.add_argument("--test-size", type=float, default=0.2, help="share of films held out (default 0.2)")
    train.add_argument("--test-start", type=_date, help="temporal cut-off date YYYY-MM-DD (overrides --test-size)")
    train.add_argument("--candidates", help="comma-separated candidates (default: all)")
    train.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    train.add_argument("--force", action="store_true", help="promote even if production is better")
    train.set_defaults(handler=_cmd_train)

    infer = commands.add_parser("infer", help="predict upcoming films with the production model; build the site")
    infer.add_argument("--view-version", type=int, default=1, help="feature view version (default 1)")
    infer.add_argument("--store-commit", type=int, help="store commit to read (default: latest)")
    infer.add_argument("--as-of", type=_date, dest="as_of", help="prediction date (default: the commit's snapshot date)")
    infer.add_argument("--recent-days", type=int, default=28,
                       help="films released this many days back are still predicted (default 28)")
    infer.set_defaults(handler=_cmd_infer)

    predict = commands.add_parser("predict", help="score a CSV in the Kaggle schema with the production model")
    predict.add_argument("--input", required=True, help="CSV file in the 28-column Kaggle schema")
    predict.add_argument("--output", required=True,
                         help="CSV to write: id, title, predicted_rating, rating_low, rating_high, model_version")
    predict.add_argument("--explain", action="store_true",
                         help="add a column `explanation`: the largest contributions to each prediction in words")
    predict.add_argument("--as-of", type=_date, dest="as_of", help="date the rows describe (default: today, UTC)")
    predict.set_defaults(handler=_cmd_predict)

    status = commands.add_parser("status", help="feature groups, versions, row counts, rejects, production model")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=_cmd_status)

    doctor = commands.add_parser(
        "doctor", help="check that the configured backend is ready (each check: ok, or the fix)")
    doctor.add_argument("--source", choices=SOURCES, default="demo",
                        help="also check this source's credentials (kaggle)")
    doctor.set_defaults(handler=_cmd_doctor)

    site = commands.add_parser("site", help="serve the built site on 127.0.0.1")
    site.add_argument("--port", type=int, default=8000,
                      help="port to listen on (default 8000; 0 picks a free one)")
    site.set_defaults(handler=_cmd_site)
    for command in commands.choices.values():  # also after the command: `backfill --debug`
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show tracebacks on the terminal")
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


def _cmd_train(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from flows.training import training

    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()] if args.candidates else None
    return training(view_version=args.view_version, store_commit=args.store_commit, split=args.split,
                    test_size=args.test_size, test_start=args.test_start, candidates=candidates,
                    seed=args.seed, force=args.force)


def _cmd_infer(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from flows.inference import inference

    return inference(view_version=args.view_version, store_commit=args.store_commit, as_of=args.as_of,
                     recent_days=args.recent_days)


def _cmd_predict(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Batch scoring runs without Prefect: no server start for a one-off file."""
    from datetime import UTC, datetime
    from pathlib import Path

    from movie_ratings.registry import get_model_registry
    from tasks.predict import batch_predict

    result = batch_predict(Path(args.input), Path(args.output), get_model_registry(settings),
                           args.as_of or datetime.now(UTC).date(), explain=args.explain)
    return {"flow": "predict", "scored": result.scored, "rejected": result.rejected,
            "output": str(result.output), "rejects": str(result.rejects) if result.rejects else None,
            "model_version": result.model_version}


def model_status(settings: Settings) -> dict[str, Any] | None:
    """The production model's version, metrics and seed-parity metrics (None before training)."""
    from movie_ratings.registry import MODEL_NAME, get_model_registry

    registry = get_model_registry(settings)
    production = registry.production(MODEL_NAME)
    registered = len(registry.versions(MODEL_NAME))
    if production is None:
        return {"name": MODEL_NAME, "registered": registered, "production": None}
    card = production.card
    return {
        "name": MODEL_NAME,
        "registered": registered,
        "production": {
            "version": production.version,
            "estimator": card.estimator,
            "rmse": card.metrics.rmse, "mae": card.metrics.mae, "r2": card.metrics.r2, "mse": card.metrics.mse,
            "parity": {name: c.model_dump(mode="json") for name, c in card.parity.items()},
            "baseline": card.baseline.model_dump(mode="json") if card.baseline else {},
            "split": card.split.model_dump(mode="json"),
            "refit_films": card.refit.films if card.refit else None,
            "recipe": card.recipe.model_dump(mode="json") if card.recipe else None,
            "feature_view": card.feature_view.model_dump(mode="json") if card.feature_view else None,
            "store_commit": card.store_commit,
            "is_demo": card.is_demo,
            "path": str(production.path),
        },
    }


def _cmd_status(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from movie_ratings.store import get_feature_store

    return get_feature_store(settings).status() | {"model": model_status(settings)}


def _cmd_doctor(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    from movie_ratings.doctor import checks_for, run_checks

    results = run_checks(checks_for(settings, args.source))
    for result in results:
        print(result.line())
    failed = [r.name for r in results if r.failed]
    print(f"{len(failed)} of {len(results)} checks failed" if failed else "all checks passed")
    return {"failed": failed}


def _cmd_site(args: argparse.Namespace, settings: Settings) -> None:
    from movie_ratings.site.server import serve

    serve(settings.site_dir, port=args.port)


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
    lines.extend(_format_model(status.get("model")))
    return "\n".join(lines)


def _format_model(model: dict[str, Any] | None) -> list[str]:
    if not model:
        return []
    production = model["production"]
    if production is None:
        return [f"model {model['name']}: {model['registered']} registered, none in production "
                "(run `movie-ratings train`)"]
    from movie_ratings.modeling.card import Comparison

    demo = " (DEMO DATA)" if production["is_demo"] else ""
    split = production["split"]
    lines = [f"model {model['name']}: production v{production['version']} of {model['registered']} "
             f"({production['estimator']}){demo}",
             f"  hold-out ({split.get('kind')}, {split.get('test_rows') or 0:,} films): "
             f"rmse {production['rmse']:.4f}, mae {production['mae']:.4f}, r2 {production['r2']:.4f}"]
    if production.get("refit_films"):
        lines.append(f"  refitted on all {production['refit_films']:,} labelled films for production")
    for name, entry in production["parity"].items():
        parity = Comparison.model_validate(entry)
        if parity.computable:
            lines.append(f"  seed parity {name}: rmse {parity.rmse:.4f}, mse {parity.mse:.4f}, r2 {parity.r2:.4f}")
        else:
            lines.append(f"  seed parity {name}: {parity.rmse_text()}")
    return lines


def _print_result(command: str, result: dict[str, Any], settings: Settings) -> None:
    runs = result.get("runs", [result])
    for run in runs:
        if run["flow"] == "predict":
            print(f"scored {run['scored']:,} rows with model v{run['model_version']} -> {run['output']}")
            if run["rejected"]:
                print(f"rejected {run['rejected']:,} rows (reasons in {run['rejects']})")
            return
        print(run_line(run))
    print(f"results: feature store in {settings.store_dir}, models in {settings.registry_dir}, "
          f"site in {settings.site_dir} (`movie-ratings site` serves it); see `movie-ratings status`")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``movie-ratings`` console script."""
    args = build_parser().parse_args(argv)
    settings = get_settings()
    if args.command not in ("status", "predict", "site"):
        _prepare_prefect(settings)
        _route_logs(settings, debug=args.debug)
    try:
        result = args.handler(args, settings)
    except MovieRatingsError as exc:
        # An expected problem (bad data, settings, no model): one paragraph, no traceback.
        logging.getLogger("movie_ratings.cli").debug("%s failed", args.command, exc_info=True)
        if args.debug:
            traceback.print_exc()
        hint = ("" if args.debug or args.command in ("status", "predict", "site")
                else f"\n(details in {_log_file(settings)}; --debug shows the traceback)")
        print(f"movie-ratings {args.command}: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    if args.command == "site":
        return 0
    if args.command == "doctor":
        return 1 if result["failed"] else 0
    if args.command == "status":
        print(json.dumps(result, indent=2, default=str) if args.json else format_status(result))
    else:
        _print_result(args.command, result, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
