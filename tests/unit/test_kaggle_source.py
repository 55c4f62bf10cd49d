"""KaggleSource through the real kagglesdk client, against a fake Kaggle on 127.0.0.1.

How the real client reaches the fake: kagglesdk takes its endpoint from
``KAGGLE_API_ENVIRONMENT`` only (PROD ``https://api.kaggle.com``, LOCALHOST
``http://localhost``, TEST ``http://localhost:7777``; there is no endpoint URL variable),
so the tests set ``KAGGLE_API_ENVIRONMENT=LOCALHOST`` and the standard proxy variables
``http_proxy``/``https_proxy`` to the fake, which requests honours. Every request then
arrives at the fake in absolute form (``POST http://localhost/api/v1/...``), the fake
answers as Kaggle does, and nothing can leave the machine. The archive redirect goes to
another host (``storage.kaggle.test``), as Kaggle's goes to Google Cloud Storage.

The fake implements exactly what kagglesdk 0.x calls for this source:

* ``POST /api/v1/datasets.DatasetApiService/GetDataset`` with JSON
  ``{"ownerSlug", "datasetSlug"}`` -> JSON ``ApiDataset`` (``currentVersionNumber``,
  ``lastUpdated``);
* ``POST /api/v1/datasets.DatasetApiService/DownloadDataset`` with JSON
  ``{"ownerSlug", "datasetSlug", "datasetVersionNumber"}`` -> ``302`` to the archive;
* ``GET http://storage.kaggle.test/<owner>/<slug>/<version>/archive.zip`` -> the zip.

Errors are answered as Kaggle does: the HTTP status with ``{"code", "message"}``.
The fake itself is in ``tests/kaggle_fake.py`` (shared with the reliability tests).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import subprocess
import sys
import threading
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from kaggle_fake import (
    API_HOST,
    OWNER,
    SLUG,
    FakeKaggle,
    cached_files,
    csv_bytes,
    zip_bytes,
)

from movie_ratings.errors import ConfigurationError, DataError, TransientError, is_transient
from movie_ratings.schema import KAGGLE_FILE
from movie_ratings.sources.base import Snapshot, Source
from movie_ratings.sources.kaggle import DatasetVersion, KagglehubClient, KaggleSource

SECRET = "s3cr3t-token-do-not-print"


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def version_file(version: int) -> str:
    return f"kaggle/{OWNER}/{SLUG}/v{version}/{KAGGLE_FILE}"


# --------------------------------------------------------------------------------------
# Success and caching
# --------------------------------------------------------------------------------------


def test_fetch_downloads_then_reuses_the_cached_version(
    fake_kaggle: FakeKaggle, cache_dir: Path, tmp_path: Path
) -> None:
    snapshot = KaggleSource(cache_dir).fetch()

    assert snapshot == Snapshot(
        path=cache_dir / version_file(3),
        as_of=date(2025, 11, 24),
        source="kaggle",
        version="3",
        is_demo=False,
    )
    assert snapshot.path.read_bytes() == csv_bytes(3)
    assert cached_files(cache_dir) == {version_file(3), version_file(3) + ".json"}
    sidecar = json.loads((cache_dir / (version_file(3) + ".json")).read_text())
    assert sidecar["size"] == len(csv_bytes(3))
    assert sidecar["sha256"] == hashlib.sha256(csv_bytes(3)).hexdigest()
    assert [r.kind for r in fake_kaggle.requests] == ["GetDataset", "DownloadDataset", "storage"]
    get, download, storage = fake_kaggle.requests
    assert get.body == {"ownerSlug": OWNER, "datasetSlug": SLUG}
    assert download.body == {"ownerSlug": OWNER, "datasetSlug": SLUG, "datasetVersionNumber": 3}
    assert storage.method == "GET"
    assert all("Authorization" not in r.headers for r in fake_kaggle.requests)  # anonymous

    again = KaggleSource(cache_dir).fetch()  # a new instance: the cache is on disk

    assert again == snapshot
    assert fake_kaggle.count("GetDataset") == 2
    assert fake_kaggle.count("DownloadDataset") == 1
    assert fake_kaggle.count("storage") == 1
    assert not (tmp_path / "kagglehub-cache").exists()  # kagglehub's own cache unused


def test_new_version_is_downloaded_and_old_ones_pruned(
    fake_kaggle: FakeKaggle, cache_dir: Path
) -> None:
    source = KaggleSource(cache_dir, keep_versions=2)
    source.fetch()
    for number in (4, 5):
        fake_kaggle.archives[number] = zip_bytes({KAGGLE_FILE: csv_bytes(number)})
        fake_kaggle.version = number
        snapshot = source.fetch()
        assert snapshot.version == str(number)
        assert snapshot.path.read_bytes() == csv_bytes(number)

    assert fake_kaggle.count("storage") == 3
    assert {f for f in cached_files(cache_dir) if f.endswith(".csv")} == {
        version_file(4),
        version_file(5),
    }


def test_cached_file_not_matching_its_record_is_downloaded_again(
    fake_kaggle: FakeKaggle, cache_dir: Path
) -> None:
    path = KaggleSource(cache_dir).fetch().path
    tampered = bytearray(path.read_bytes())
    tampered[-2] ^= 0x01  # same size, other content
    path.write_bytes(bytes(tampered))

    snapshot = KaggleSource(cache_dir).fetch()

    assert snapshot.path.read_bytes() == csv_bytes(3)
    assert fake_kaggle.count("storage") == 2


def test_file_in_a_subfolder_of_the_archive(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    fake_kaggle.archives[3] = zip_bytes({f"TMDB/{KAGGLE_FILE}": csv_bytes(3)})
    assert KaggleSource(cache_dir).fetch().path.read_bytes() == csv_bytes(3)


def test_as_of_given_is_kept(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    assert KaggleSource(cache_dir).fetch(date(2025, 1, 2)).as_of == date(2025, 1, 2)


def test_as_of_defaults_to_today_utc_without_last_updated(
    fake_kaggle: FakeKaggle, cache_dir: Path
) -> None:
    fake_kaggle.last_updated = None
    before = datetime.now(UTC).date()
    as_of = KaggleSource(cache_dir).fetch().as_of
    assert before <= as_of <= datetime.now(UTC).date()


# --------------------------------------------------------------------------------------
# Credentials
# --------------------------------------------------------------------------------------


def test_api_token_from_env_is_sent(
    fake_kaggle: FakeKaggle, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_API_TOKEN", SECRET)
    KaggleSource(cache_dir).fetch()
    api_calls = [r for r in fake_kaggle.requests if r.host == API_HOST]
    assert {r.headers.get("Authorization") for r in api_calls} == {f"Bearer {SECRET}"}
    # as with GCS, the credentials are not forwarded to the storage host
    assert all(
        "Authorization" not in r.headers for r in fake_kaggle.requests if r.kind == "storage"
    )


def test_username_and_key_from_env_are_sent(
    fake_kaggle: FakeKaggle, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    KaggleSource(cache_dir).fetch()
    expected = "Basic " + base64.b64encode(f"someone:{SECRET}".encode()).decode()
    assert fake_kaggle.requests[0].headers.get("Authorization") == expected


@pytest.mark.parametrize(
    ("env", "source_named"),
    [
        ({"KAGGLE_API_TOKEN": SECRET}, "KAGGLE_API_TOKEN"),
        ({"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": SECRET}, "KAGGLE_USERNAME/KAGGLE_KEY"),
        ({}, "anonymous"),
    ],
)
@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_are_a_configuration_error_without_the_secret(
    fake_kaggle: FakeKaggle,
    cache_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    source_named: str,
    status: int,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fake_kaggle.fail["GetDataset"] = (status, {})

    with caplog.at_level("DEBUG"), pytest.raises(ConfigurationError) as caught:
        KaggleSource(cache_dir).fetch()

    message = str(caught.value)
    assert source_named in message
    assert "KAGGLE_API_TOKEN" in message
    assert "KAGGLE_USERNAME" in message and "KAGGLE_KEY" in message
    chain = [caught.value, caught.value.__cause__, caught.value.__context__]
    assert all(SECRET not in repr(e) and SECRET not in str(e) for e in chain)
    out = capsys.readouterr()
    assert SECRET not in caplog.text + out.out + out.err
    assert not is_transient(caught.value)


def test_malformed_kaggle_json_is_a_configuration_error(
    fake_kaggle: FakeKaggle, cache_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "home" / ".kaggle" / "kaggle.json").write_text(f'{{"key": "{SECRET}"}}')
    with pytest.raises(ConfigurationError, match="KAGGLE_USERNAME") as caught:
        KaggleSource(cache_dir).fetch()
    assert SECRET not in str(caught.value)
    assert fake_kaggle.requests == []


# --------------------------------------------------------------------------------------
# Transient and data errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [
        ("GetDataset", 500, TransientError),
        ("GetDataset", 503, TransientError),
        ("GetDataset", 429, TransientError),
        ("DownloadDataset", 502, TransientError),
        ("DownloadDataset", 429, TransientError),
        ("storage", 500, TransientError),
        ("storage", 408, TransientError),
        ("GetDataset", 404, DataError),
        ("DownloadDataset", 404, DataError),
        ("storage", 404, DataError),
        ("GetDataset", 400, DataError),
    ],
)
def test_http_errors_are_mapped(
    fake_kaggle: FakeKaggle, cache_dir: Path, kind: str, status: int, error: type[Exception]
) -> None:
    fake_kaggle.fail[kind] = (status, {"Retry-After": "30"} if status == 429 else {})
    with pytest.raises(error, match=f"HTTP {status}") as caught:
        KaggleSource(cache_dir).fetch()
    assert is_transient(caught.value) is (error is TransientError)
    if status == 429:
        assert "Retry-After 30" in str(caught.value)
    assert cached_files(cache_dir) == set()


def test_unknown_dataset_is_a_data_error(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        KaggleSource(cache_dir, dataset="someone/else").fetch()


def test_missing_version_number_is_a_data_error(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    fake_kaggle.version = 0
    with pytest.raises(DataError, match="version number"):
        KaggleSource(cache_dir).fetch()


def test_truncated_download_is_transient_and_leaves_no_file(
    fake_kaggle: FakeKaggle, cache_dir: Path
) -> None:
    fake_kaggle.archives[3] = zip_bytes({KAGGLE_FILE: csv_bytes(3) * 200})
    fake_kaggle.truncate = True
    with pytest.raises(TransientError):
        KaggleSource(cache_dir).fetch()
    assert not any(cache_dir.rglob("*.*"))  # no csv, sidecar, zip or temp file
    assert not (cache_dir / version_file(3)).parent.exists()

    fake_kaggle.truncate = False  # what Prefect's retry would see next
    assert KaggleSource(cache_dir).fetch().path.read_bytes() == csv_bytes(3) * 200


def test_checksum_mismatch_in_transit_is_transient(
    fake_kaggle: FakeKaggle, cache_dir: Path
) -> None:
    fake_kaggle.md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(TransientError, match="MD5"):
        KaggleSource(cache_dir).fetch()
    assert cached_files(cache_dir) == set()


def test_connection_refused_is_transient(
    fake_kaggle: FakeKaggle, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{port}")
    with pytest.raises(TransientError, match="Connection refused") as caught:
        KaggleSource(cache_dir).fetch()
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


def test_stalled_download_times_out_as_transient(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    fake_kaggle.stall = threading.Event()
    source = KaggleSource(cache_dir, client=KagglehubClient(timeout=(2.0, 0.3)))
    with pytest.raises(TransientError, match="Timeout"):
        source.fetch()
    assert cached_files(cache_dir) == set()


def test_archive_without_the_file_is_a_data_error(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    fake_kaggle.archives[3] = zip_bytes({"tmdb_all_movies.csv": csv_bytes(3)})
    with pytest.raises(DataError, match=KAGGLE_FILE):
        KaggleSource(cache_dir).fetch()
    assert cached_files(cache_dir) == set()


@pytest.mark.parametrize(
    "archive",
    [
        b"<html>not a zip</html>",
        zip_bytes({KAGGLE_FILE: csv_bytes(3) * 50})[:-300],  # central directory cut off
    ],
    ids=["not-a-zip", "cut"],
)
def test_corrupt_archive_is_a_data_error(
    fake_kaggle: FakeKaggle, cache_dir: Path, archive: bytes
) -> None:
    fake_kaggle.archives[3] = archive
    with pytest.raises(DataError):
        KaggleSource(cache_dir).fetch()
    assert cached_files(cache_dir) == set()


def test_bad_crc_is_a_data_error(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(KAGGLE_FILE, csv_bytes(3))
    raw = buf.getvalue().replace(b"Inception", b"Inceptiom", 1)
    fake_kaggle.archives[3] = raw
    with pytest.raises(DataError, match="corrupt"):
        KaggleSource(cache_dir).fetch()
    assert cached_files(cache_dir) == set()


@pytest.mark.parametrize("bad", ["../evil.csv", "../../evil.csv", "/etc/x", "/tmp/evil.csv"])
def test_unsafe_member_names_are_refused(
    fake_kaggle: FakeKaggle, cache_dir: Path, tmp_path: Path, bad: str
) -> None:
    fake_kaggle.archives[3] = zip_bytes({KAGGLE_FILE: csv_bytes(3), bad: b"pwned"})
    with pytest.raises(DataError, match="refused"):
        KaggleSource(cache_dir).fetch()
    assert cached_files(cache_dir) == set()
    assert {p.name for p in tmp_path.iterdir()} <= {"cache", "home"}
    assert not list(tmp_path.rglob("evil.csv"))
    assert not Path("/tmp/evil.csv").exists() and not Path("/etc/x").exists()


# --------------------------------------------------------------------------------------
# Without HTTP: the SDK boundary, import and construction
# --------------------------------------------------------------------------------------


class FakeClient:
    """A client handing back a plain file, as a KaggleClient may."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.downloads = 0

    def latest_version(self, dataset: str) -> DatasetVersion:
        return DatasetVersion(7, datetime(2025, 3, 1, 23, 30, tzinfo=UTC))

    def download(self, dataset: str, version: int, dest_dir: Path) -> Path:
        self.downloads += 1
        path = dest_dir / KAGGLE_FILE
        path.write_bytes(self.data)
        return path


def test_plain_file_from_the_client_is_used_as_is(cache_dir: Path) -> None:
    client = FakeClient(csv_bytes(7))
    source: Source = KaggleSource(cache_dir, client=client)
    snapshot = source.fetch()
    assert snapshot.version == "7" and snapshot.as_of == date(2025, 3, 1)
    assert snapshot.path.read_bytes() == csv_bytes(7)
    source.fetch()
    assert client.downloads == 1


def test_empty_plain_file_is_a_data_error(cache_dir: Path) -> None:
    with pytest.raises(DataError, match="empty"):
        KaggleSource(cache_dir, client=FakeClient(b"")).fetch()
    assert cached_files(cache_dir) == set()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dataset": "no-slash"},
        {"dataset": "a/b/c"},
        {"dataset": "../x"},
        {"file_name": "dir/TMDB_all_movies.csv"},
        {"file_name": ".."},
        {"keep_versions": 0},
    ],
)
def test_bad_arguments_are_refused(cache_dir: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        KaggleSource(cache_dir, **kwargs)


def test_import_and_construction_touch_neither_sdk_nor_network(tmp_path: Path) -> None:
    code = """
import socket, sys
from pathlib import Path

def refuse(*args, **kwargs):
    raise AssertionError("network call")

socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse

from movie_ratings.sources.kaggle import KaggleSource

source = KaggleSource(Path(sys.argv[1]) / "cache")
assert source.name == "kaggle"
assert not (Path(sys.argv[1]) / "cache").exists()
loaded = [m for m in sys.modules if m.split(".")[0] in {"kaggle", "kagglehub", "kagglesdk", "requests"}]
assert not loaded, loaded
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_fetch_never_imports_the_kaggle_package(fake_kaggle: FakeKaggle, cache_dir: Path) -> None:
    had_kaggle = "kaggle" in sys.modules
    KaggleSource(cache_dir).fetch()
    assert had_kaggle or "kaggle" not in sys.modules


def test_unknown_kaggle_environment_is_a_configuration_error(
    fake_kaggle: FakeKaggle, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "NOWHERE")
    with pytest.raises(ConfigurationError, match="KAGGLE_API_ENVIRONMENT"):
        KaggleSource(cache_dir).fetch()
    assert fake_kaggle.requests == []


# --------------------------------------------------------------------------------------
# Size cap and free space
# --------------------------------------------------------------------------------------


def test_a_download_over_the_size_cap_is_refused_and_nothing_is_kept(
    fake_kaggle: FakeKaggle, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from movie_ratings.sources import kaggle_client

    monkeypatch.setattr(kaggle_client, "MAX_DOWNLOAD_BYTES", 100)
    with pytest.raises(DataError, match=r"over the 100 byte download limit"):
        KaggleSource(cache_dir).fetch()
    assert not cached_files(cache_dir)


def test_no_room_for_the_download_or_the_extraction_is_a_clear_error(
    fake_kaggle: FakeKaggle, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    from movie_ratings.sources import archive

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 10**6, 10**6))
    with pytest.raises(ConfigurationError, match=r"needs .* MB .* which has 1 MB free"):
        KaggleSource(cache_dir).fetch()
    assert not cached_files(cache_dir)
    # the extraction checks too (a download without Content-Length is only capped)
    monkeypatch.setattr(archive, "FREE_SPACE_MARGIN", 10**9)
    with pytest.raises(ConfigurationError, match="extracting"):
        archive.ensure_free_space(cache_dir.parent, 1, "extracting x.csv from y.zip")
