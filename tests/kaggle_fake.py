"""A fake Kaggle on 127.0.0.1 for tests of the real kagglesdk client (unit and flow level).

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
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from movie_ratings.schema import KAGGLE_DATASET, KAGGLE_FILE, RAW_COLUMN_NAMES

OWNER, SLUG = KAGGLE_DATASET.split("/")
API_HOST = "localhost"
STORAGE_HOST = "storage.kaggle.test"
API = "/api/v1/datasets.DatasetApiService/"


def csv_bytes(version: int) -> bytes:
    rows = [
        ",".join(RAW_COLUMN_NAMES),
        f"27205,Inception v{version},8.4,38000,Released,2010-07-15" + ",x" * 22,
        "1001,Upcoming,0,0,Post Production,2026-05-01" + ",x" * 22,
    ]
    assert all(len(r.split(",")) == 28 for r in rows)
    return ("\n".join(rows) + "\n").encode()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# The fake Kaggle
# --------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    host: str
    path: str
    headers: dict[str, str]
    body: dict | None

    @property
    def kind(self) -> str:
        if self.host == API_HOST and self.path.startswith(API):
            return self.path.removeprefix(API)
        if self.host == STORAGE_HOST:
            return "storage"
        return f"unexpected {self.method} {self.host}{self.path}"


@dataclass
class FakeKaggle:
    """State of the fake; tests change it between calls."""

    port: int = 0
    version: int = 3
    last_updated: str | None = "2025-11-24T05:06:07.123Z"
    archives: dict[int, bytes] = field(default_factory=dict)
    #: kind ("GetDataset", "DownloadDataset", "storage") -> (status, extra headers)
    fail: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    truncate: bool = False
    #: truncate only the next this many archive downloads (a transient fault)
    truncate_next: int = 0
    md5: str | None = None
    stall: threading.Event | None = None
    requests: list[Request] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(r.kind == kind for r in self.requests)


def _handler(fake: FakeKaggle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            self._safely()

        def do_POST(self) -> None:
            self._safely()

        def _safely(self) -> None:
            # The client may have hung up already (timeout test): not the fake's problem.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._handle()

        def _handle(self) -> None:
            url = urlsplit(self.path)  # absolute form: we are the proxy
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                host=url.hostname or "",
                path=url.path,
                headers=dict(self.headers.items()),
                body=json.loads(raw) if raw else None,
            )
            fake.requests.append(request)
            kind = request.kind
            if kind in fake.fail:
                status, headers = fake.fail[kind]
                return self._json(status, {"code": status, "message": f"fake {status}"}, headers)
            if kind == "GetDataset" and self.command == "POST":
                return self._get_dataset(request.body or {})
            if kind == "DownloadDataset" and self.command == "POST":
                return self._download_dataset(request.body or {})
            if kind == "storage" and self.command == "GET":
                return self._storage(url.path)
            return self._json(404, {"code": 404, "message": "no such endpoint"})

        def _known(self, body: dict) -> bool:
            return body.get("ownerSlug") == OWNER and body.get("datasetSlug") == SLUG

        def _get_dataset(self, body: dict) -> None:
            if not self._known(body):
                return self._json(404, {"code": 404, "message": "Dataset not found"})
            payload: dict = {"ref": KAGGLE_DATASET, "title": "TMDB", "isPrivate": False}
            if fake.version:
                payload["currentVersionNumber"] = fake.version
            if fake.last_updated:
                payload["lastUpdated"] = fake.last_updated
            return self._json(200, payload)

        def _download_dataset(self, body: dict) -> None:
            number = body.get("datasetVersionNumber")
            if not self._known(body) or number not in fake.archives:
                return self._json(404, {"code": 404, "message": "Version not found"})
            self.send_response(302)
            self.send_header(
                "Location", f"http://{STORAGE_HOST}/{OWNER}/{SLUG}/{number}/archive.zip"
            )
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _storage(self, path: str) -> None:
            number = int(path.split("/")[3])
            data = fake.archives[number]
            if fake.stall is not None:
                fake.stall.wait(5)
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(data)))
            md5 = fake.md5 or base64.b64encode(hashlib.md5(data).digest()).decode()
            self.send_header("x-goog-hash", f"crc32c=AAAAAA==,md5={md5}")
            self.end_headers()
            cut = fake.truncate or fake.truncate_next > 0
            fake.truncate_next = max(fake.truncate_next - 1, 0)
            self.wfile.write(data[: len(data) // 2] if cut else data)

        def _json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def fake_kaggle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKaggle]:
    """A fake Kaggle on 127.0.0.1, with the environment pointing kagglesdk at it."""
    fake = FakeKaggle(archives={3: zip_bytes({KAGGLE_FILE: csv_bytes(3), "README.md": b"x"})})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()

    proxy = f"http://127.0.0.1:{fake.port}"
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(var, proxy)
    for var in (
        "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "REQUEST_METHOD",
        "KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_KERNEL_RUN_TYPE",
    ):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "home"
    (home / ".kaggle").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))  # no ~/.kaggle/kaggle.json of the machine
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(home / ".kaggle"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub-cache"))
    try:
        yield fake
    finally:
        if fake.stall is not None:
            fake.stall.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def cached_files(cache_dir: Path) -> set[str]:
    """Every file under ``cache_dir``, relative to it."""
    return {str(p.relative_to(cache_dir)) for p in cache_dir.rglob("*") if p.is_file()}
