"""Connecting to a Hopsworks project, and what its errors mean for retries.

The two Hopsworks adapters (:mod:`movie_ratings.store.hopsworks` and
:mod:`movie_ratings.registry.hopsworks`) share one login per process. This module holds the
only ``hopsworks.login`` call; every other SDK call sits in those two adapters.

Nothing here imports the SDK at import time: ``hopsworks`` is an optional extra
(``pip install -e '.[hopsworks]'``) and is imported when a connection is made.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from movie_ratings.errors import (
    ConfigurationError,
    DataError,
    MovieRatingsError,
    TransientError,
)
from movie_ratings.settings import Settings

#: HTTP status codes worth a retry: throttling and server-side failures.
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: HTTP status codes that mean the credentials or the project are wrong.
_AUTH_STATUS = frozenset({401, 403})


@dataclass(frozen=True)
class HopsworksConfig:
    """Everything needed to log in, checked before any SDK call.

    Attributes:
        host: host name of the Hopsworks cluster.
        port: its HTTPS port.
        project: project name.
        api_key: API key; a SecretStr so it never shows in logs, reprs or tracebacks.
        hostname_verification: verify the TLS certificate's host name.
        trust_store_path: CA bundle for a self-signed certificate, if any.
    """

    host: str
    port: int
    project: str
    api_key: SecretStr
    hostname_verification: bool = True
    trust_store_path: Path | None = None

    @property
    def address(self) -> str:
        """Where the store lives, for status output (no credentials)."""
        return f"hopsworks://{self.host}:{self.port}/{self.project}"


def hopsworks_config(
    settings: Settings, *, load_secret: Callable[[str], str] | None = None
) -> HopsworksConfig:
    """The connection settings, or an error naming every missing one.

    Args:
        settings: the project's settings.
        load_secret: reads a Prefect Secret block by name (Prefect's ``Secret.load`` when
            omitted); used only when the API key is given as a block name.

    Returns:
        The checked configuration.

    Raises:
        ConfigurationError: a setting is missing or the Secret block cannot be read.
    """
    api_key = settings.hopsworks_api_key
    missing = []
    if api_key is None and not settings.hopsworks_api_key_secret:
        missing.append("HOPSWORKS_API_KEY (or MOVIE_RATINGS_HOPSWORKS_API_KEY_SECRET)")
    if not (settings.hopsworks_project or "").strip():
        missing.append("HOPSWORKS_PROJECT")
    if not (settings.hopsworks_host or "").strip():
        missing.append("HOPSWORKS_HOST")
    if missing:
        raise ConfigurationError(
            "the Hopsworks backend needs " + ", ".join(missing)
            + "; set them, or MOVIE_RATINGS_BACKEND=local for the embedded store"
        )
    if api_key is None:
        name = settings.hopsworks_api_key_secret or ""
        try:
            value = (load_secret or _load_prefect_secret)(name)
        except Exception as exc:
            raise ConfigurationError(
                f"cannot read the Hopsworks API key from Prefect Secret block {name!r}: "
                f"{type(exc).__name__}"
            ) from None
        if not value:
            raise ConfigurationError(f"Prefect Secret block {name!r} holds an empty API key")
        api_key = SecretStr(str(value).strip())
    if not api_key.get_secret_value().strip():
        raise ConfigurationError("HOPSWORKS_API_KEY is empty")
    host = (settings.hopsworks_host or "").strip()
    if "://" in host or "/" in host:
        raise ConfigurationError(
            f"HOPSWORKS_HOST must be a host name such as c.app.hopsworks.ai, not {host!r}"
        )
    return HopsworksConfig(
        host=host,
        port=settings.hopsworks_port,
        project=(settings.hopsworks_project or "").strip(),
        api_key=api_key,
        hostname_verification=settings.hopsworks_hostname_verification,
        trust_store_path=settings.hopsworks_trust_store_path,
    )


def _load_prefect_secret(name: str) -> str:
    from prefect.blocks.system import Secret

    block: Any = Secret.load(name)  # typed as sync-or-async; called from sync code
    return str(block.get())


def _import_hopsworks() -> Any:
    try:
        import hopsworks
    except ImportError as exc:
        raise ConfigurationError(
            "the Hopsworks backend needs the optional extra: `make install-hopsworks` "
            f"(a second environment, .venv-hopsworks) ({exc})"
        ) from None
    check_deltalake_build()
    return hopsworks


def sdk_module(sdk: Any | None = None) -> Any:
    """The ``hopsworks`` module (imported and checked), or ``sdk`` when a test passes a fake."""
    return sdk if sdk is not None else _import_hopsworks()


def check_deltalake_build() -> None:
    """Refuse to run the Hopsworks backend over the wrong ``deltalake`` build.

    hops-deltalake (which hsfs writes DELTA groups with, to HopsFS) and deltalake install the
    same ``deltalake`` module; whichever was installed last wins, and a write through the
    wrong one fails deep inside delta-rs. ``pip install .[hopsworks]`` gives no guarantee
    of the order; ``make install-hopsworks`` reinstalls hops-deltalake last.

    Raises:
        ConfigurationError: hops-deltalake is missing or another build is on disk.
    """
    from importlib import metadata

    fix = ("run `make install-hopsworks` (it reinstalls hops-deltalake last), or "
           "`pip install --force-reinstall --no-deps hops-deltalake` in this environment")
    try:
        wanted = metadata.version("hops-deltalake")
    except metadata.PackageNotFoundError:
        raise ConfigurationError(
            "the Hopsworks backend writes feature groups through hops-deltalake, which is not "
            f"installed here: {fix}"
        ) from None
    try:
        import deltalake

        found = str(getattr(deltalake, "__version__", "unknown"))
    except ImportError as exc:
        raise ConfigurationError(f"the deltalake module does not import ({exc}): {fix}") from None
    if found.replace("-", ".") != wanted:
        raise ConfigurationError(
            f"the deltalake module on disk is version {found}, not the hops-deltalake {wanted} "
            f"build that Hopsworks writes need (the deltalake package was installed over it): {fix}"
        )


_LOGIN_LOCK = threading.Lock()
_PROJECTS: dict[tuple[str, int, str, bool], Any] = {}


def login(config: HopsworksConfig, *, sdk: Any | None = None) -> Any:
    """Log in to the project once per process and return the SDK's project object.

    Every argument is passed explicitly: the API key as ``api_key_value`` (so the SDK never
    reaches its interactive key prompt), the project (so it never prompts for one), the
    Python engine, and host name verification as configured (the SDK's default is off).

    Args:
        config: checked connection settings.
        sdk: the ``hopsworks`` module (imported when omitted; tests pass a fake).

    Returns:
        The logged-in project.

    Raises:
        ConfigurationError: the extra is not installed, or the credentials are refused.
        TransientError: the cluster could not be reached; a retry may succeed.
    """
    key = (config.host, config.port, config.project, config.hostname_verification)
    with _LOGIN_LOCK:
        if key in _PROJECTS:
            return _PROJECTS[key]
        module = sdk if sdk is not None else _import_hopsworks()
        with translate_errors(f"logging in to Hopsworks project {config.project} at {config.host}"):
            project = module.login(
                host=config.host,
                port=config.port,
                project=config.project,
                api_key_value=config.api_key.get_secret_value(),
                hostname_verification=config.hostname_verification,
                trust_store_path=str(config.trust_store_path) if config.trust_store_path else None,
                engine="python",
            )
        if project is None:
            raise ConfigurationError(f"Hopsworks project {config.project!r} was not found")
        _PROJECTS[key] = project
        return project


@dataclass(frozen=True)
class HopsworksSession:
    """A logged-in project: the checked settings, the SDK module and the project object."""

    config: HopsworksConfig
    sdk: Any
    project: Any


def connect(settings: Settings, *, sdk: Any | None = None) -> HopsworksSession:
    """Check the settings and log in to the project (once per process).

    Args:
        settings: the project's :class:`~movie_ratings.settings.Settings`.
        sdk: the ``hopsworks`` module (imported when omitted; tests pass a fake).

    Returns:
        The session both adapters open their part of the project from.

    Raises:
        ConfigurationError: settings missing (named), extra not installed, key refused.
        TransientError: Hopsworks could not be reached.
    """
    config = hopsworks_config(settings)
    module = sdk_module(sdk)
    return HopsworksSession(config, module, login(config, sdk=module))


def _status_code(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


#: What a cluster must provide, keyed by the text of the SDK error that says it does not.
#: The Python client reads offline data only through the Feature Query Service (Arrow
#: Flight): without it hsfs falls back to Hive, which it refuses (Engine._sql_offline).
#: It writes DELTA groups from outside the cluster with delta-rs, straight to HopsFS,
#: through the cluster's namenode and datanode load balancers (DeltaEngine._setup_delta_rs).
CLUSTER_REQUIREMENTS: tuple[tuple[str, str], ...] = (
    ("Reading data with Hive is not supported",
     "The cluster must run the Feature Query Service (Arrow Flight) and let this client "
     "reach it: the Python client reads feature groups and views only through it. Ask the "
     "Hopsworks administrator to enable it for the project"),
    ("datanode load balancer",
     "The cluster must expose its HopsFS namenode and datanode load balancers to clients "
     "outside it (the variables loadbalancer_external_domain_namenode and "
     "loadbalancer_external_domain_datanode): the Python client writes DELTA feature "
     "groups straight to HopsFS with delta-rs. Ask the Hopsworks administrator to set them up"),
    ("Failed to write to delta table in external cluster",
     "The cluster must let this client write to HopsFS from outside (load balancers, and a "
     "user name for the project): the Python client writes DELTA feature groups with delta-rs"),
)
#: Text of hsml's error when a model version is already registered (ModelEngine).
VERSION_EXISTS = "already exists, please select another version"


def classify_error(exc: BaseException, action: str) -> MovieRatingsError | None:
    """What a failed SDK call means: retryable, bad data, bad configuration, or unknown.

    The SDK's exception classes are recognised by name and attributes, so this works (and
    is tested) without the SDK installed.

    Args:
        exc: the exception an SDK call raised.
        action: what was being done, for the message.

    Returns:
        A :class:`TransientError` for HTTP 408/425/429/5xx, connection errors and timeouts;
        a :class:`ConfigurationError` for 401/403, TLS failures and a cluster that lacks what
        the Python client needs (:data:`CLUSTER_REQUIREMENTS`, the message says what); a
        :class:`TransientError` for a model version that another registration took first
        (the retry takes the next); a :class:`DataError` for other HTTP 4xx and the SDK's
        feature-store/model-registry errors; None when the exception is none of these (it
        is re-raised as it is).
    """
    name = type(exc).__name__
    names = {cls.__name__ for cls in type(exc).__mro__}
    detail = f"{action}: {name}: {_first_line(exc)}"
    text = str(exc)
    for marker, requirement in CLUSTER_REQUIREMENTS:
        if marker in text:
            return ConfigurationError(
                f"{detail}. {requirement}; `movie-ratings doctor` checks it.")
    if "ModelRegistryException" in names and VERSION_EXISTS in text:
        # Two registrations picked the same next version: the retry picks the next free one.
        return TransientError(f"{detail} (another registration took this version; a retry "
                              "registers the next one)")
    if names & {"SSLError", "HopsworksSSLClientError", "SSLCertVerificationError"}:
        return ConfigurationError(
            f"{detail} (check HOPSWORKS_HOST and HOPSWORKS_TRUST_STORE_PATH; host name "
            "verification is on unless HOPSWORKS_HOSTNAME_VERIFICATION=false)"
        )
    code = _status_code(exc)
    if code is not None and "RestAPIError" in names:
        if code in _RETRY_STATUS:
            return TransientError(f"{detail} (HTTP {code}, will retry)")
        if code in _AUTH_STATUS:
            return ConfigurationError(
                f"{detail} (HTTP {code}: check HOPSWORKS_API_KEY and HOPSWORKS_PROJECT)"
            )
        return DataError(f"{detail} (HTTP {code})")
    if isinstance(exc, ConnectionError | TimeoutError) or names & {
        "ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout", "ChunkedEncodingError",
        "ProtocolError", "NewConnectionError", "MaxRetryError", "RemoteDisconnected",
    }:
        return TransientError(f"{detail} (connection problem, will retry)")
    if names & {"FeatureStoreException", "ModelRegistryException", "DataValidationException"}:
        return DataError(detail)
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


@contextlib.contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Re-raise SDK failures as this project's errors (see :func:`classify_error`).

    Args:
        action: what is being done, for the message ("inserting into movies v1").

    Raises:
        TransientError: retryable failures.
        DataError: the request itself is wrong; a retry would fail the same way.
        ConfigurationError: credentials, project or TLS are wrong.
    """
    try:
        yield
    except MovieRatingsError:
        raise
    except Exception as exc:
        mapped = classify_error(exc, action)
        if mapped is None:
            raise
        raise mapped from exc
