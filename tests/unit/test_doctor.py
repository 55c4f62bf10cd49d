"""`movie-ratings doctor`: every check passes on a ready backend; each missing precondition
of a Hopsworks cluster (simulated in the SDK fake) fails its check with the fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hopsworks_fake import FakeHopsworks, RestAPIError, forget_logins, select_fake_hopsworks

from movie_ratings.cli import main as cli


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, str]]:
    capsys.readouterr()
    code = cli(["doctor", *args])
    lines = capsys.readouterr().out.splitlines()
    checks = {}
    for line in lines[:-1]:
        status, rest = line.split(None, 1)
        name, detail = rest.split(": ", 1)
        checks[name] = f"{status} {detail}"
    return code, checks


def test_every_check_passes_on_the_local_backend(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = _doctor(capsys, "--source", "kaggle")
    assert code == 0, checks
    assert list(checks) == ["settings", "login", "feature store", "read", "scratch write and delete",
                            "model registry", "kaggle credentials"]
    assert all(v.startswith("ok ") for v in checks.values())
    assert not list((home / "store").glob(".doctor-*"))  # the scratch table is gone


def test_an_unwritable_local_store_fails_with_the_fix(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir(parents=True)
    (home / "store").write_text("a file where the store folder should be")
    code, checks = _doctor(capsys)
    assert code == 1
    assert checks["scratch write and delete"].startswith("FAIL cannot write to the feature store folder")
    assert "MOVIE_RATINGS_HOME" in checks["scratch write and delete"]


@pytest.fixture
def hopsworks(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHopsworks]:
    fake = FakeHopsworks(tmp_path / "hopsworks")
    select_fake_hopsworks(fake, monkeypatch)
    yield fake
    forget_logins()
    fake.close()


def test_every_check_passes_on_a_ready_hopsworks_project(
    hopsworks: FakeHopsworks, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = _doctor(capsys)
    assert code == 0, checks
    assert list(checks) == ["settings", "login", "feature store", "scratch write",
                            "read through the Query Service", "scratch delete", "model registry"]
    assert all(v.startswith("ok ") for v in checks.values()), checks
    assert ("movie_ratings_doctor", 1) not in hopsworks.feature_store.groups  # deleted again


def test_missing_settings_are_named_and_the_rest_is_skipped(
    hopsworks: FakeHopsworks, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOPSWORKS_HOST")
    code, checks = _doctor(capsys)
    assert code == 1
    assert checks["settings"].startswith("FAIL") and "HOPSWORKS_HOST" in checks["settings"]
    assert checks["login"] == "skipped needs settings"
    assert checks["read through the Query Service"] == "skipped needs scratch write"


@pytest.mark.parametrize(
    ("break_it", "check", "says"),
    [
        (lambda f: f.login_failures.append(RestAPIError(401, "unauthorized")), "login",
         "check HOPSWORKS_API_KEY and HOPSWORKS_PROJECT"),
        (lambda f: f.login_failures.append(requests.exceptions.ConnectionError("refused")), "login",
         "Fix: check HOPSWORKS_HOST, HOPSWORKS_PORT"),
        (lambda f: setattr(f.cluster, "query_service", False), "read through the Query Service",
         "The cluster must run the Feature Query Service (Arrow Flight)"),
        (lambda f: setattr(f.cluster, "datanode_load_balancer", False), "scratch write",
         "The cluster must expose its HopsFS namenode and datanode load balancers"),
        (lambda f: setattr(f.cluster, "model_registry", False), "model registry",
         "Fix: enable the model registry for the project"),
    ],
    ids=["key refused", "unreachable", "no query service", "no datanode load balancer",
         "no model registry"],
)
def test_each_missing_precondition_prints_its_fix(
    hopsworks: FakeHopsworks, capsys: pytest.CaptureFixture[str], break_it, check: str, says: str
) -> None:
    break_it(hopsworks)
    code, checks = _doctor(capsys)
    assert code == 1
    assert checks[check].startswith("FAIL"), checks
    assert says in checks[check]
    failed = [name for name, v in checks.items() if v.startswith("FAIL")]
    assert failed == [check]  # one cause, one failure; what depends on it is skipped


def test_unreadable_kaggle_credentials_fail(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "kaggle"
    config.mkdir()
    (config / "kaggle.json").write_text("{not json")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, checks = _doctor(capsys, "--source", "kaggle")
    assert code == 1 and checks["kaggle credentials"].startswith("FAIL")
