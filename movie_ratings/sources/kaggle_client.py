"""The Kaggle client: the two API calls the Kaggle source makes, errors mapped to ours.

Which SDK, and why
    Downloads go through ``kagglesdk``'s ``KaggleClient``, the generated Kaggle API client
    that ``kagglehub`` (a core dependency) installs and uses itself, with credentials found
    by ``kagglehub.config.get_kaggle_credentials``. For this public dataset no credentials
    are needed; when present they are used, in kagglehub's order: ``KAGGLE_API_TOKEN`` (or
    ``~/.kaggle/access_token``), then ``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, then
    ``kaggle.json`` in ``KAGGLE_CONFIG_DIR`` or ``~/.kaggle``. Two calls are made:
    ``GetDataset`` (current version number and last-updated time) and ``DownloadDataset``
    for that version number (a redirect to the zip archive, streamed to disk).

    Not ``kagglehub.dataset_download``: it extracts every member of the archive itself
    (no chance to check the archive first), keeps a second 0.8 GB copy in its own cache and
    sets no timeouts. Not the ``kaggle`` package: importing it authenticates at import time
    (printing help, formerly exiting, without credentials), and it is a CLI over the same
    ``kagglesdk``; it stays an optional extra and is never imported here.

Errors (see :mod:`movie_ratings.errors`)
    * :class:`TransientError` (the Prefect task retries): connection errors, timeouts,
      HTTP 408/429/5xx, a truncated download or a checksum mismatch in transit;
    * :class:`DataError` (never retried): HTTP 404 or another 4xx, no version number, a
      download over :data:`MAX_DOWNLOAD_BYTES`;
    * :class:`ConfigurationError`: HTTP 401/403 or an unreadable credentials file; the
      message names the variables to set and never contains a secret.

Nothing runs at import time: the SDK is imported inside the methods that call it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from movie_ratings.errors import ConfigurationError, DataError, TransientError
from movie_ratings.sources.archive import CHUNK_SIZE, ensure_free_space

#: A download larger than this is refused (the dataset's zip is ~0.3 GB, its CSV ~0.8 GB):
#: a wrong URL or a hostile redirect cannot fill the disk.
MAX_DOWNLOAD_BYTES = 8 << 30

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

#: Seconds to wait for a connection, and between two bytes of a response.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)
CREDENTIALS_HELP = (
    "set KAGGLE_API_TOKEN, or KAGGLE_USERNAME and KAGGLE_KEY, or put kaggle.json in "
    "~/.kaggle (or in KAGGLE_CONFIG_DIR)"
)
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class DatasetVersion:
    """A version of a Kaggle dataset.

    Attributes:
        number: the version number (1, 2, ...).
        updated: when it was published, timezone-aware UTC when known.
    """

    number: int
    updated: datetime | None = None


class KaggleClient(Protocol):
    """The two Kaggle calls this source needs; errors already mapped to ours."""

    def latest_version(self, dataset: str) -> DatasetVersion:
        """Return the current version of ``owner/slug``.

        Raises:
            TransientError, DataError, ConfigurationError: see the module docstring.
        """
        ...

    def download(self, dataset: str, version: int, dest_dir: Path) -> Path:
        """Download version ``version`` of ``owner/slug`` into ``dest_dir``.

        Returns:
            The downloaded file: a zip archive, or the data file itself.

        Raises:
            TransientError, DataError, ConfigurationError: see the module docstring.
        """
        ...


def split_dataset(dataset: str) -> tuple[str, str]:
    """Split and check ``owner/slug``.

    Raises:
        ValueError: when it is not two plain slugs separated by ``/``.
    """
    owner, sep, slug = dataset.partition("/")
    if not sep or not _SLUG.match(owner) or not _SLUG.match(slug) or ".." in dataset:
        raise ValueError(f"not a Kaggle dataset handle (owner/slug): {dataset!r}")
    return owner, slug


class KagglehubClient:
    """:class:`KaggleClient` over ``kagglesdk``, with kagglehub's credential discovery.

    Args:
        timeout: (connect, read) seconds for every HTTP request.
    """

    def __init__(self, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def latest_version(self, dataset: str) -> DatasetVersion:
        from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetRequest

        owner, slug = split_dataset(dataset)
        request = ApiGetDatasetRequest()
        request.owner_slug = owner
        request.dataset_slug = slug
        with self._api(f"reading metadata of Kaggle dataset {dataset}") as api:
            meta = api.datasets.dataset_api_client.get_dataset(request)
        if not meta.current_version_number:
            raise DataError(f"Kaggle returned no current version number for dataset {dataset}")
        number = int(meta.current_version_number)
        updated = next(
            (v.creation_date for v in meta.versions or () if v.version_number == number),
            None,
        )
        return DatasetVersion(number=number, updated=_as_utc(updated or meta.last_updated))

    def download(self, dataset: str, version: int, dest_dir: Path) -> Path:
        from kagglesdk.datasets.types.dataset_api_service import ApiDownloadDatasetRequest

        owner, slug = split_dataset(dataset)
        request = ApiDownloadDatasetRequest()
        request.owner_slug = owner
        request.dataset_slug = slug
        request.dataset_version_number = version
        dest = dest_dir / f"{owner}__{slug}__v{version}.zip"
        what = f"downloading version {version} of Kaggle dataset {dataset}"
        with self._api(what) as api:
            # Kaggle answers with a redirect to the archive; requests follows it and
            # kagglesdk hands back the streamed response of the archive itself.
            response = api.datasets.dataset_api_client.download_dataset(request)
            with response:
                _stream_to_file(response, dest, what)
        return dest

    @contextlib.contextmanager
    def _api(self, what: str) -> Iterator[Any]:
        """An SDK client with credentials and timeouts; its errors mapped to ours.

        Args:
            what: what the calls do, for error messages.
        """
        import kagglehub
        from kagglesdk.kaggle_client import KaggleClient as SdkClient

        credentials = load_credentials()
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            kwargs = {
                "username": credentials.username,
                "password": credentials.key,
                "api_token": credentials.api_key,
            }
        try:
            # verbose=False always: verbose kagglesdk prints request headers (secrets).
            client = SdkClient(
                verbose=False,
                user_agent=f"kagglehub/{kagglehub.__version__} movie-ratings",
                **kwargs,
            )
        except Exception as exc:  # kagglesdk raises a bare Exception on a bad environment
            raise ConfigurationError(f"cannot set up the Kaggle client: {exc}") from exc
        with client, _mapped_errors(what, _credential_source(credentials)):
            _apply_timeout(client, self.timeout)
            yield client


def load_credentials() -> Any:
    """kagglehub's credentials (see the module docstring for its order), None if there are none.

    Raises:
        ConfigurationError: when a credentials file is unreadable; the message holds no secret.
    """
    from kagglehub.config import get_kaggle_credentials

    try:
        return get_kaggle_credentials()
    except ValueError as exc:  # a malformed kaggle.json
        raise ConfigurationError(f"Kaggle credentials unreadable: {exc}; {CREDENTIALS_HELP}") from exc


def _credential_source(credentials: Any) -> str | None:
    """Which setting the credentials came from (never their value), None if anonymous."""
    if credentials is None:
        return None
    if credentials.api_key:
        return "KAGGLE_API_TOKEN" if os.environ.get("KAGGLE_API_TOKEN") else "an access token file"
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    return "kaggle.json"


def _apply_timeout(client: Any, timeout: tuple[float, float]) -> None:
    """Give every request of the SDK's session a timeout (kagglesdk sets none).

    kagglesdk keeps its ``requests.Session`` in a private attribute; if a future version
    moves it, requests go without a timeout and a warning says so.
    """
    from requests.adapters import HTTPAdapter

    session = getattr(client.http_client(), "_session", None)
    if session is None or not hasattr(session, "mount"):
        log.warning("kagglesdk session not found; Kaggle requests run without a timeout")
        return

    class _TimeoutAdapter(HTTPAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = timeout
            return super().send(request, **kwargs)

    adapter = _TimeoutAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)


@contextlib.contextmanager
def _mapped_errors(what: str, credential_source: str | None) -> Iterator[None]:
    """Turn requests' exceptions into TransientError, DataError or ConfigurationError."""
    import requests

    try:
        yield
    except requests.HTTPError as exc:
        raise _http_error(exc, what, credential_source) from exc
    except (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
        requests.exceptions.InvalidJSONError,
    ) as exc:
        raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc
    except json.JSONDecodeError as exc:  # a garbled answer; may be an intermediary's page
        raise TransientError(f"{what}: the answer is not valid JSON: {exc}") from exc


def _status_of(exc: requests.HTTPError) -> int | None:
    """The HTTP status, or the ``code`` of kagglesdk's JSON error body when that is larger."""
    response = exc.response
    if response is None:
        return None
    status = response.status_code
    if status < 400:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            status = int(response.json().get("code", status))
    return status


def _http_error(exc: requests.HTTPError, what: str, credential_source: str | None) -> Exception:
    status = _status_of(exc)
    if status in (401, 403):
        if credential_source is None:
            return ConfigurationError(
                f"{what}: Kaggle refused anonymous access (HTTP {status}); {CREDENTIALS_HELP}"
            )
        return ConfigurationError(
            f"{what}: Kaggle rejected the credentials from {credential_source} (HTTP {status}),"
            f" or this account may not access the dataset; check them: {CREDENTIALS_HELP}"
        )
    if status == 404:
        return DataError(f"{what}: not found on Kaggle (HTTP 404)")
    if status is None or status >= 500 or status in _RETRYABLE_STATUS:
        retry_after = exc.response.headers.get("Retry-After") if exc.response is not None else None
        hint = f", Retry-After {retry_after}" if retry_after else ""
        return TransientError(f"{what}: HTTP {status}{hint}: {exc}")
    return DataError(f"{what}: Kaggle refused the request (HTTP {status}): {exc}")


def _stream_to_file(response: requests.Response, dest: Path, what: str) -> None:
    """Write a streamed response to ``dest``; check its length and any MD5 from GCS.

    Raises:
        DataError: the archive is larger than :data:`MAX_DOWNLOAD_BYTES`, announced or as
            it arrives.
        ConfigurationError: the disk has no room for the announced size.
        TransientError: when fewer or more bytes arrive than announced, or the MD5 differs.
    """
    max_bytes = MAX_DOWNLOAD_BYTES
    expected = response.headers.get("Content-Length")
    if expected is not None and expected.isdigit():
        if int(expected) > max_bytes:
            raise DataError(f"{what}: the archive is {int(expected):,} bytes, over the "
                            f"{max_bytes:,} byte download limit; refused before downloading")
        ensure_free_space(dest.parent, int(expected), what)
    expected_md5 = _md5_from_headers(response.headers)
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with open(dest, "wb") as out:
            for chunk in response.iter_content(CHUNK_SIZE):
                size += len(chunk)
                if size > max_bytes:  # no or a false Content-Length: stop at the cap
                    raise DataError(f"{what}: more than the {max_bytes:,} byte download limit; "
                                    "stopped and removed the partial file")
                out.write(chunk)
                md5.update(chunk)
        if expected is not None and expected.isdigit() and size != int(expected):
            raise TransientError(f"{what}: incomplete download, {size} of {expected} bytes")
        actual_md5 = base64.b64encode(md5.digest()).decode("ascii")
        if expected_md5 is not None and actual_md5 != expected_md5:
            raise TransientError(
                f"{what}: MD5 mismatch (got {actual_md5}, expected {expected_md5})"
            )
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    log.info("downloaded %s (%d bytes)", dest.name, size)


def _md5_from_headers(headers: Any) -> str | None:
    """The base64 MD5 of a Google Cloud Storage ``x-goog-hash`` header, if any."""
    for part in (headers.get("x-goog-hash") or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "md5" and value:
            return value
    return None


def _as_utc(moment: datetime | None) -> datetime | None:
    """kagglesdk parses ``...Z`` timestamps into naive datetimes: they are UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)

