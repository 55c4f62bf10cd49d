"""Kaggle credentials: taken from the environment or Kaggle's own files, and never written out.

A fake credential is planted, the whole ``backfill`` command runs against the loopback
fake Kaggle (once successfully, once refused with HTTP 401, once with a broken archive
after the credential was sent), and then every place the secret could end up is read:
the console output, every log record, the flow and task runs and logs kept by the Prefect
server, the error message of each exception, and every file under
``MOVIE_RATINGS_HOME`` and ``PREFECT_HOME``. The secret must appear in none of them, while
the fake must have received it (so the test is not vacuous).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import traceback
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kaggle_fake import FakeKaggle, zip_bytes
from store_checks import DAY0

from movie_ratings.cli import main as cli
from movie_ratings.errors import MovieRatingsError
from movie_ratings.schema import KAGGLE_FILE
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.sources.kaggle import KaggleSource

REPO = Path(__file__).resolve().parents[2]


def _prefect_records(since: datetime) -> str:
    """Every log, flow run and task run the Prefect server holds from ``since`` on, as text."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterStartTime,
        LogFilter,
        LogFilterTimestamp,
        TaskRunFilter,
        TaskRunFilterStartTime,
    )
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # send every log still queued in this process
    reads = {
        "logs": lambda c, offset: c.read_logs(
            LogFilter(timestamp=LogFilterTimestamp(after_=since)), limit=200, offset=offset),
        "flow runs": lambda c, offset: c.read_flow_runs(
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(after_=since)),
            limit=200, offset=offset),
        "task runs": lambda c, offset: c.read_task_runs(
            task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=since)),
            limit=200, offset=offset),
    }
    records = {name: [] for name in reads}
    # The sync client: the browser tests may leave an event loop running in this thread.
    with get_client(sync_client=True) as client:
        for name, read in reads.items():
            while page := read(client, len(records[name])):
                records[name].extend(page)
    assert records["logs"] and records["flow runs"] and records["task runs"]
    return "\n".join(r.model_dump_json() for found in records.values() for r in found)


def _files_containing(secret: str, *roots: Path) -> list[str]:
    needles = [secret.encode(), base64.b64encode(secret.encode())]
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                if any(n in data for n in needles):
                    found.append(str(path))
    return found


@pytest.fixture
def kaggle(fake_kaggle: FakeKaggle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeKaggle:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # Prefect's own API calls skip the proxy
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    csv = write_snapshot_csv(demo_snapshot(DAY0, size=500), tmp_path / "snap.csv").read_bytes()
    fake_kaggle.archives[fake_kaggle.version] = zip_bytes({KAGGLE_FILE: csv})
    return fake_kaggle


def _plant(how: str, secret: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Put the secret where Kaggle looks for it; returns the Authorization header expected."""
    if how == "KAGGLE_API_TOKEN":
        monkeypatch.setenv("KAGGLE_API_TOKEN", secret)
        return f"Bearer {secret}"
    basic = "Basic " + base64.b64encode(f"someone:{secret}".encode()).decode()
    if how == "KAGGLE_KEY":
        monkeypatch.setenv("KAGGLE_USERNAME", "someone")
        monkeypatch.setenv("KAGGLE_KEY", secret)
    else:  # kaggle.json in KAGGLE_CONFIG_DIR (the fake_kaggle fixture points it at tmp)
        config = tmp_path / "home" / ".kaggle" / "kaggle.json"
        config.write_text(json.dumps({"username": "someone", "key": secret}))
        config.chmod(0o600)
    return basic


@pytest.mark.usefixtures("prefect_test_server")
@pytest.mark.parametrize(
    ("how", "outcome"),
    [
        ("KAGGLE_API_TOKEN", "ok"),
        ("KAGGLE_API_TOKEN", "refused"),
        ("KAGGLE_KEY", "refused"),
        ("kaggle.json", "broken archive"),
    ],
)
def test_the_kaggle_secret_appears_in_no_output_log_record_or_file(
    how: str,
    outcome: str,
    kaggle: FakeKaggle,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret = f"fake-secret-{uuid.uuid4().hex}"
    started = datetime.now(UTC) - timedelta(seconds=1)
    header = _plant(how, secret, monkeypatch, tmp_path)
    if outcome == "refused":
        kaggle.fail["GetDataset"] = (401, {})
    elif outcome == "broken archive":
        kaggle.archives[kaggle.version] = b"PK\x03\x04 not really a zip"

    with caplog.at_level("DEBUG"):
        code = cli(["backfill", "--source", "kaggle", "--as-of", DAY0.isoformat()])
        errors: list[BaseException] = []
        if outcome != "ok":  # the same failure once more, to look at the exception itself
            from flows.backfill import backfill

            with pytest.raises(MovieRatingsError) as caught:
                backfill(source="kaggle", as_of=DAY0)
            errors = [caught.value, caught.value.__cause__, caught.value.__context__]
    output = capfd.readouterr()

    assert code == (0 if outcome == "ok" else 1)
    api_calls = [r for r in kaggle.requests if r.kind != "storage"]
    assert api_calls and all(r.headers.get("Authorization") == header for r in api_calls)
    message = output.out + output.err
    if outcome == "refused":
        assert "rejected the credentials" in message
    assert secret not in message
    assert secret not in caplog.text
    assert all(secret not in str(r.__dict__) for r in caplog.records)
    for error in errors:
        if error is not None:
            text = "".join(traceback.format_exception(error))
            assert secret not in text and secret not in repr(error)
    assert secret not in _prefect_records(started)
    assert _files_containing(secret, home, Path(os.environ["PREFECT_HOME"])) == []


def test_a_dotenv_file_does_not_feed_kaggle_credentials(
    fake_kaggle: FakeKaggle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials come from the environment or Kaggle's files only, as documented."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".env").write_text("KAGGLE_API_TOKEN=from-dotenv\nKAGGLE_USERNAME=u\nKAGGLE_KEY=k\n")
    monkeypatch.chdir(work)
    KaggleSource(tmp_path / "cache").fetch()
    assert all("Authorization" not in r.headers for r in fake_kaggle.requests)


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30)


SECRET_FILES = [".env", ".env.local", ".env.production", "kaggle.json", ".hw_api_key",
                "deployments/.env", "flows/kaggle.json", "var/secrets/.hw_api_key"]


@pytest.mark.skipif(_git("rev-parse").returncode != 0, reason="not a git checkout")
@pytest.mark.parametrize("path", SECRET_FILES)
def test_secret_files_are_ignored_by_git(path: str) -> None:
    assert _git("check-ignore", "--quiet", "--no-index", path).returncode == 0, path


@pytest.mark.skipif(_git("rev-parse").returncode != 0, reason="not a git checkout")
def test_the_example_settings_are_not_ignored_and_no_secret_file_is_tracked() -> None:
    assert _git("check-ignore", "--quiet", "--no-index", ".env.example").returncode == 1
    tracked = _git("ls-files").stdout.splitlines()
    names = {Path(p).name for p in tracked}
    assert not names & {".env", "kaggle.json", ".hw_api_key", "access_token"}
    assert not [p for p in tracked if Path(p).name.startswith(".env.") and p != ".env.example"]
