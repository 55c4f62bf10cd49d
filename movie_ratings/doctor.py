"""``movie-ratings doctor``: is the configured backend ready to run the flows?

Each check either passes (with what it saw) or fails with what to do. Checks that need an
earlier one (a read needs a login) are skipped when it failed. On Hopsworks the likeliest
first failures are not API calls but what the cluster provides: reads need the Query
Service, writes from outside the cluster need its HopsFS load balancers; both come back as
:class:`ConfigurationError` messages that say so (:mod:`movie_ratings.hopsworks_connection`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from movie_ratings.errors import ConfigurationError, MovieRatingsError
from movie_ratings.registry.base import MODEL_NAME
from movie_ratings.settings import Settings

#: API key scopes the Python client uses: feature groups and views, the project, the
#: statistics jobs, and model uploads and the registry.
API_KEY_SCOPES = "featurestore, project, job, dataset.create, dataset.view, modelregistry"


@dataclass(frozen=True)
class CheckResult:
    """One line of the doctor's report."""

    name: str
    status: str  # "ok", "FAIL" or "skipped"
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def line(self) -> str:
        return f"{self.status:<7} {self.name}: {self.detail}"


@dataclass(frozen=True)
class Check:
    """A named check; ``needs`` names the checks it cannot run without."""

    name: str
    run: Callable[[], str]
    fix: str = ""
    needs: tuple[str, ...] = ()


def run_checks(checks: list[Check]) -> list[CheckResult]:
    """Run the checks in order; a failure is reported with its fix and never raised."""
    results: dict[str, CheckResult] = {}
    for check in checks:
        blocked = [n for n in check.needs if results.get(n) and results[n].status != "ok"]
        if blocked:
            results[check.name] = CheckResult(check.name, "skipped", f"needs {', '.join(blocked)}")
            continue
        try:
            detail = check.run()
        except MovieRatingsError as exc:
            # A ConfigurationError already says what to do; other errors get the check's fix.
            fix = f" Fix: {check.fix}." if check.fix and not isinstance(exc, ConfigurationError) else ""
            results[check.name] = CheckResult(check.name, "FAIL", f"{str(exc).rstrip('.')}.{fix}")
        except Exception as exc:  # an unexpected SDK error: report it, keep checking
            fix = f" Fix: {check.fix}." if check.fix else ""
            results[check.name] = CheckResult(
                check.name, "FAIL", f"{type(exc).__name__}: {str(exc).rstrip('.')}.{fix}")
        else:
            results[check.name] = CheckResult(check.name, "ok", detail)
    return list(results.values())


def checks_for(settings: Settings, source: str) -> list[Check]:
    """The checks of the configured backend, then the source's credentials."""
    checks = _hopsworks_checks(settings) if settings.backend == "hopsworks" else _local_checks(settings)
    if source == "kaggle":
        checks.append(Check("kaggle credentials", _kaggle_credentials,
                            fix="see the README's Kaggle section"))
    return checks


def _local_checks(settings: Settings) -> list[Check]:
    from movie_ratings.registry.local import LocalModelRegistry
    from movie_ratings.store.local import LocalFeatureStore

    store = LocalFeatureStore(settings.store_dir, lock_timeout=settings.lock_timeout_seconds)

    def settings_ok() -> str:
        return f"backend local, home {settings.home}"

    def feature_store() -> str:
        latest = store.latest_commit()
        return (f"embedded store at {store.root}: "
                + (f"commit {latest.number}, snapshot {latest.snapshot_date}" if latest else "empty"))

    def read() -> str:
        latest = store.latest_commit()
        if latest is None:
            return "nothing stored yet (run `movie-ratings backfill`)"
        group = next(iter(latest.groups.values()))
        rows = store.read_group(group.name, group.version, columns=["id"]).num_rows
        return f"read {rows:,} rows of {group.name} v{group.version}"

    def registry() -> str:
        versions = LocalModelRegistry(settings.registry_dir).versions(MODEL_NAME)
        return f"local registry at {settings.registry_dir}: {len(versions)} version(s) of {MODEL_NAME}"

    return [
        Check("settings", settings_ok),
        Check("login", lambda: "not needed (embedded store)"),
        Check("feature store", feature_store, fix="check MOVIE_RATINGS_HOME"),
        Check("read", read, needs=("feature store",)),
        Check("scratch write and delete", store.doctor_roundtrip, needs=("feature store",)),
        Check("model registry", registry, fix="check MOVIE_RATINGS_HOME"),
    ]


def _hopsworks_checks(settings: Settings) -> list[Check]:
    from movie_ratings.hopsworks_connection import hopsworks_config, login, sdk_module

    state: dict[str, Any] = {}
    check_id = secrets.randbelow(2**62)

    def settings_ok() -> str:
        state["config"] = hopsworks_config(settings)
        return f"backend hopsworks, {state['config'].address}"

    def logged_in() -> str:
        login(state["config"], sdk=sdk_module())
        return f"logged in to project {state['config'].project}"

    def feature_store() -> str:
        from movie_ratings.store.hopsworks import open_hopsworks_store

        state["store"] = open_hopsworks_store(settings)
        latest = state["store"].latest_commit()
        return "feature store reachable: " + (
            f"commit {latest.number}, snapshot {latest.snapshot_date}" if latest else "no store commit yet")

    def registry() -> str:
        from movie_ratings.registry.hopsworks import open_hopsworks_registry

        numbers = open_hopsworks_registry(settings).version_numbers(MODEL_NAME)
        return f"model registry reachable: {len(numbers)} version(s) of {MODEL_NAME}"

    scopes = f"an API key with the scopes {API_KEY_SCOPES}"
    return [
        Check("settings", settings_ok),
        Check("login", logged_in, needs=("settings",),
              fix=f"check HOPSWORKS_HOST, HOPSWORKS_PORT, HOPSWORKS_PROJECT and {scopes}"),
        Check("feature store", feature_store, needs=("login",),
              fix=f"the project needs a feature store, and {scopes}"),
        Check("scratch write", lambda: state["store"].doctor_write(check_id), needs=("feature store",),
              fix="the client must be able to write DELTA feature groups from outside the cluster"),
        Check("read through the Query Service", lambda: state["store"].doctor_read(check_id),
              needs=("scratch write",),
              fix="the cluster must run the Feature Query Service (Arrow Flight)"),
        Check("scratch delete", lambda: state["store"].doctor_delete(), needs=("scratch write",),
              fix=f"{scopes} (deleting a feature group needs the featurestore scope)"),
        Check("model registry", registry, needs=("login",),
              fix=f"enable the model registry for the project, and use {scopes}"),
    ]


def _kaggle_credentials() -> str:
    from movie_ratings.sources.kaggle_client import load_credentials

    credentials = load_credentials()
    if credentials is None:
        return "none configured: the public dataset is downloaded anonymously"
    return f"found for user {credentials.username or '(token)'}"
