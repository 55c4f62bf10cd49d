"""The ``movie-ratings`` command: each flow command runs the matching Prefect flow.

The options of a flow command are the flow's own parameters (cyclopts reads its signature,
defaults and docstring), so a default lives in the flow only. The flow is imported when its
command runs, after the Prefect settings this project relies on are in the environment and
the Prefect API is chosen (:mod:`movie_ratings.prefect_api`), so ``--help`` and ``status``
stay fast.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from cyclopts import App, CycloptsError, Parameter

from movie_ratings.errors import MovieRatingsError
from movie_ratings.prefect_api import choose_api
from movie_ratings.settings import Settings, get_settings
from movie_ratings.sources import SourceName
from movie_ratings.summary import run_line


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


class _NoLinksToATemporaryServer(logging.Filter):
    """Drops Prefect's "View at <UI link>" lines: a temporary server has no UI and is gone at exit."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("View at ")


def _log_file(settings: Settings) -> Path:
    return settings.home / "log" / "movie-ratings.log"


def _route_logs(settings: Settings, *, debug: bool, temporary_server: bool = False) -> None:
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
            for old_filter in [f for f in console.filters
                               if isinstance(f, _QuietFailures | _NoLinksToATemporaryServer)]:
                console.removeFilter(old_filter)
            if not debug:
                console.addFilter(_QuietFailures())
            if temporary_server:
                console.addFilter(_NoLinksToATemporaryServer())


#: Commands that run a flow: name -> (the flow, by import path; the one-line summary). Their
#: options, defaults and help come from the flow's signature and docstring (imported when
#: the command runs or its help is asked for).
FLOW_COMMANDS: dict[str, tuple[str, str]] = {
    "backfill": ("flows.backfill:backfill", "load a full snapshot into the feature store"),
    "daily": ("flows.daily_features:daily_features", "upsert what a new snapshot changed"),
    "run": ("flows.main:main", "the main job: backfill if empty, then daily updates"),
    "train": ("flows.training:training", "train the candidates, register the best, promote it if better"),
    "infer": ("flows.inference:inference", "predict upcoming films with the production model; build the site"),
}
#: Commands that start no Prefect server.
_SERVERLESS = ("status", "predict", "site")


def load_flow(command: str) -> Any:
    """The flow object a command runs."""
    import importlib

    module, _, name = FLOW_COMMANDS[command][0].partition(":")
    return getattr(importlib.import_module(module), name)


def _flow_help(command: str) -> str:
    """The summary, then the flow docstring's description (its Args go to the options)."""
    import inspect

    doc = inspect.getdoc(load_flow(command)) or ""
    description = doc.split("\n\nArgs:", 1)[0].strip()
    return f"{FLOW_COMMANDS[command][1]}.\n\n{description}"


def predict(
    *,
    input: Path,  # the option's name
    output: Path,
    explain: bool = False,
    as_of: date | None = None,
) -> dict[str, Any]:
    """score a CSV in the Kaggle schema with the production model

    Batch scoring runs without Prefect: no server start for a one-off file.

    Args:
        input: CSV file in the 28-column Kaggle schema.
        output: CSV to write: id, title, predicted_rating, rating_low, rating_high, model_version.
        explain: add a column ``explanation``: the largest contributions to each prediction in words.
        as_of: date the rows describe (default: today, UTC).
    """
    from datetime import UTC, datetime

    from movie_ratings.registry import get_model_registry
    from tasks.predict import batch_predict

    result = batch_predict(input, output, get_model_registry(get_settings()),
                           as_of or datetime.now(UTC).date(), explain=explain)
    return {"flow": "predict", "scored": result.scored, "rejected": result.rejected,
            "output": str(result.output), "rejects": str(result.rejects) if result.rejects else None,
            "model_version": result.model_version}


def status(*, as_json: Annotated[bool, Parameter(name="--json", negative=())] = False) -> dict[str, Any]:
    """feature groups, versions, row counts, rejects, production model

    Args:
        as_json: print JSON.
    """
    from movie_ratings.store import get_feature_store

    settings = get_settings()
    result = get_feature_store(settings).status() | {"model": model_status(settings)}
    print(json.dumps(result, indent=2, default=str) if as_json else format_status(result))
    return result


def doctor(*, source: SourceName = "demo") -> dict[str, Any]:
    """check that the configured backend is ready (each check: ok, or the fix)

    Args:
        source: also check this source's credentials (kaggle).
    """
    from movie_ratings.doctor import checks_for, run_checks

    results = run_checks(checks_for(get_settings(), source))
    for result in results:
        print(result.line())
    failed = [r.name for r in results if r.failed]
    print(f"{len(failed)} of {len(results)} checks failed" if failed else "all checks passed")
    return {"failed": failed}


def site(*, port: int = 8000) -> None:
    """serve the built site on 127.0.0.1

    Args:
        port: port to listen on (0 picks a free one).
    """
    from movie_ratings.site.server import serve

    serve(get_settings().site_dir, port=port)


def build_app(help_for: str | None = None) -> App:
    """The command tree; ``help_for`` names a flow command whose flow is imported now, for its help."""
    app = App(name="movie-ratings", version_flags=(),
              help="Predict IMDb ratings of upcoming films from the daily TMDB snapshot.\n\n"
                   "--debug after any command shows tracebacks on the terminal "
                   "(they always go to the log file).")
    for command, (target, summary) in FLOW_COMMANDS.items():
        if command == help_for:
            app.command(load_flow(command), name=command, help=_flow_help(command))
        else:
            app.command(target, name=command, help=summary)
    for function in (predict, status, doctor, site):
        app.command(function)
    return app


def _split_debug(tokens: list[str]) -> tuple[list[str], bool]:
    """``--debug`` anywhere (before or after the command) is the CLI's own flag."""
    rest = [t for t in tokens if t != "--debug"]
    return rest, len(rest) != len(tokens)


def _check_flow_arguments(command: str, arguments: dict[str, Any]) -> None:
    if arguments.get("source") == "csv" and not arguments.get("path"):
        raise SystemExit("movie-ratings: error: --source csv needs --path FILE")
    if command == "train" and arguments.get("candidates"):
        # `--candidates a,b` as well as `--candidates a --candidates b`
        arguments["candidates"] = [c.strip() for item in arguments["candidates"]
                                   for c in item.split(",") if c.strip()]


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


def _print_result(result: dict[str, Any], settings: Settings) -> None:
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
    tokens, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    command = next((t for t in tokens if not t.startswith("-")), None)
    asks_help = bool({"--help", "-h"} & set(tokens))
    settings = get_settings()
    server = None
    if command in FLOW_COMMANDS and not asks_help:
        # Before Prefect is imported (parsing imports the flow): its settings, and its API.
        _prepare_prefect(settings)
        server = choose_api(Path(os.environ["PREFECT_HOME"]), settings.home / "log" / "prefect-server.log")
        if server is not None:
            # At exit, after Prefect's log and event workers (registered later) have drained.
            atexit.register(server.stop)
    app = build_app(help_for=command if command in FLOW_COMMANDS and asks_help else None)
    if asks_help or command is None:
        app.help_print([t for t in tokens if t not in ("--help", "-h")])
        return 0 if asks_help else 2
    try:
        function, bound, _ = app.parse_args(tokens, exit_on_error=False, print_error=True)
    except CycloptsError:
        return 2
    arguments = dict(bound.arguments)
    try:
        if command in FLOW_COMMANDS or command == "doctor":
            _prepare_prefect(settings)
            _route_logs(settings, debug=debug, temporary_server=server is not None)
        if command in FLOW_COMMANDS:
            _check_flow_arguments(command, arguments)
            if server is not None:
                server.wait_ready(float(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]))
        result = function(**arguments)
    except MovieRatingsError as exc:
        # An expected problem (bad data, settings, no model): one paragraph, no traceback.
        logging.getLogger("movie_ratings.cli").debug("%s failed", command, exc_info=True)
        if debug:
            traceback.print_exc()
        hint = ("" if debug or command in _SERVERLESS
                else f"\n(details in {_log_file(settings)}; --debug shows the traceback)")
        print(f"movie-ratings {command}: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    if command == "doctor":
        return 1 if result["failed"] else 0
    if command in FLOW_COMMANDS or command == "predict":
        _print_result(result, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
