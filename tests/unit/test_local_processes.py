"""deployments.local: background processes with pidfiles, stopped by PID and only by PID.

Stand-ins for the server are small Python processes whose command line carries the
server's marker arguments ("server", "start"), so these tests never start Prefect.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deployments.local import Local, LocalError
from deployments.processes import alive

# Prints "ready" once its signal handlers are set, so tests never signal it too early.
IGNORES_SIGINT = (
    "import signal, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(120)"
)
STOPS_ON_SIGINT = "import time; print('ready', flush=True); time.sleep(120)"
# A parent whose child ignores SIGINT: stopping the parent alone would leave the child.
LEAVES_A_CHILD = (
    "import subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-c', "
    f"{IGNORES_SIGINT!r}]); open(sys.argv[1], 'w').write(str(child.pid)); "
    "time.sleep(0.5); print('ready', flush=True); time.sleep(120)"
)


def _server(local: Local, code: str, *extra: str) -> int:
    pid = local.start("server", [sys.executable, "-c", code, *extra, "server", "start"])
    deadline = time.monotonic() + 20
    while "ready" not in local.tail("server"):
        assert time.monotonic() < deadline, local.tail("server")
        time.sleep(0.05)
    return pid


@pytest.fixture
def local(tmp_path: Path) -> Local:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return Local(state=tmp_path / "state", port=port, base_env=dict(os.environ))


def test_start_writes_a_pidfile_and_a_log_and_stop_uses_sigint_first(local: Local) -> None:
    pid = _server(local, STOPS_ON_SIGINT)

    record = json.loads(local.pidfile("server").read_text())
    assert record["pid"] == pid and record["port"] == local.port
    assert local.running("server") == pid
    assert local.stop("server") == f"server: stopped (pid {pid}, SIGINT)"
    assert not alive(pid)
    assert not local.pidfile("server").exists()
    assert local.stop("server") == "server: not running"


def test_a_process_that_ignores_ctrl_c_gets_sigterm(local: Local) -> None:
    pid = _server(local, IGNORES_SIGINT)
    assert local.stop("server", grace_seconds=1) == f"server: stopped (pid {pid}, SIGTERM)"
    assert not alive(pid)


def test_the_whole_process_group_is_stopped(local: Local, tmp_path: Path) -> None:
    child_file = tmp_path / "child.pid"
    pid = _server(local, LEAVES_A_CHILD, str(child_file))
    child = int(child_file.read_text())
    assert alive(child)

    assert local.stop("server", grace_seconds=1).startswith(f"server: stopped (pid {pid}")
    assert not alive(pid) and not alive(child)


def test_a_stale_pidfile_is_removed_and_nothing_is_signalled(local: Local) -> None:
    # The pid of a live process that is not the server (this test itself).
    local.write_pidfile("server", os.getpid(), ["prefect", "server", "start"])
    assert local.running("server") is None
    assert local.stop("server") == "server: not running (stale pidfile removed)"
    assert not local.pidfile("server").exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    local.write_pidfile("server", dead.pid, ["prefect", "server", "start"])
    assert local.stop("server") == "server: not running (stale pidfile removed)"


def test_starting_twice_is_refused(local: Local) -> None:
    _server(local, STOPS_ON_SIGINT)
    try:
        with pytest.raises(LocalError, match="already running"):
            local.start("server", [sys.executable, "-c", STOPS_ON_SIGINT, "server", "start"])
    finally:
        local.stop("server")


def test_a_server_that_exits_at_once_is_reported_with_its_log(local: Local, monkeypatch) -> None:
    monkeypatch.setattr("deployments.local._prefect", lambda: sys.executable)
    # `python server start` fails at once: no such file "server".
    with pytest.raises(LocalError, match="server exited before being healthy") as error:
        local.start_server(timeout=30)
    assert "server" in str(error.value).splitlines()[-1]
    assert not local.pidfile("server").exists()


def test_the_environment_points_every_process_at_the_same_server(local: Local) -> None:
    env = local.env()
    assert env["PREFECT_API_URL"] == env["PREFECT_UI_API_URL"] == f"http://127.0.0.1:{local.port}/api"
    assert env["PREFECT_SERVER_API_PORT"] == str(local.port)
    assert env["PREFECT_SERVER_API_HOST"] == "127.0.0.1"
    assert Path(env["PREFECT_HOME"]).is_absolute()


def test_the_auth_string_is_made_once_and_private(tmp_path: Path) -> None:
    local = Local(state=tmp_path / "state", port=4999, base_env={"PREFECT_HOME": str(tmp_path / "home")})
    first = local.auth_string()
    assert first.startswith("admin:") and len(first) > 30
    assert local.auth_file.stat().st_mode & 0o777 == 0o600
    assert Local(state=tmp_path / "other", port=5000, base_env={"PREFECT_HOME": str(tmp_path / "home")}).auth_string() == first
    env = local.env()
    assert env["PREFECT_API_AUTH_STRING"] == env["PREFECT_SERVER_API_AUTH_STRING"] == first
    assert env["PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED"] == "true"
    assert env["PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS"] == "http://127.0.0.1:4999"


def test_the_profile_is_activated_then_removed_keeping_other_profiles(tmp_path: Path) -> None:
    import tomllib

    local = Local(state=tmp_path / "state", port=4999, base_env={"PREFECT_HOME": str(tmp_path / "home")})
    local.profiles_file.parent.mkdir(parents=True)
    local.profiles_file.write_text('active = "mine"\n\n[profiles.mine]\nPREFECT_LOGGING_LEVEL = "DEBUG"\n')
    local.activate_profile()
    profiles = tomllib.loads(local.profiles_file.read_text())
    assert profiles["active"] == "movie-ratings-local"
    assert profiles["profiles"]["movie-ratings-local"] == {
        "PREFECT_API_URL": "http://127.0.0.1:4999/api", "PREFECT_API_AUTH_STRING": local.auth_string()}
    assert profiles["profiles"]["mine"] == {"PREFECT_LOGGING_LEVEL": "DEBUG"}
    assert local.profiles_file.stat().st_mode & 0o777 == 0o600
    assert local.deactivate_profile()
    assert tomllib.loads(local.profiles_file.read_text()) == {  # the one active before is again
        "active": "mine", "profiles": {"mine": {"PREFECT_LOGGING_LEVEL": "DEBUG"}}}
    assert not local.deactivate_profile()
    local.profiles_file.unlink()
    local.activate_profile()
    local.deactivate_profile()
    assert not local.profiles_file.exists()  # nothing of ours left: Prefect's defaults again


def test_prefect_toml_points_the_repository_at_the_profile_make_server_writes() -> None:
    import tomllib

    from deployments.local import ROOT

    settings = tomllib.loads((ROOT / "prefect.toml").read_text())
    assert ROOT / settings["profiles_path"] == Local(base_env={}).profiles_file
    assert ROOT / settings["home"] == Local(base_env={}).prefect_home
