"""Local operation: start the Prefect server, a worker or the serve process, and stop them by PID.

The Makefile's ``server``, ``worker``, ``serve`` and ``stop`` targets call this module; the
end-to-end tests call the same functions with a temporary state folder and a free port.

* Every process it starts in the background gets its own session (so its children can be
  stopped with it), a log file ``<state>/log/<name>.log`` and a pidfile
  ``<state>/run/<name>.pid`` (JSON: pid, command, port).
* ``stop`` only signals a process whose pidfile it finds and whose command line still
  matches the pidfile (a stale pidfile whose pid was reused is removed, nothing is killed):
  SIGINT first (what Ctrl-C sends), SIGTERM after a grace period, SIGKILL last.
* The server's port is given through Prefect's settings (``PREFECT_SERVER_API_PORT``,
  ``PREFECT_UI_API_URL``), not ``--port``: the UI then calls the API on the same port.
* The server requires credentials: an auth string generated once into
  ``<PREFECT_HOME>/auth_string`` (mode 0600), CSRF protection on, CORS limited to the
  server's own origin. Every process started here gets the auth string; ``server`` also
  writes a Prefect profile (``<PREFECT_HOME>/profiles.toml``, 0600) with the API URL and the
  auth string and makes it active, so ``prefect`` and ``movie-ratings`` run from the
  repository reach the server without any export; ``stop`` removes it again (serverless).
* Files are created with umask 077: state, logs and pidfiles are not world-readable.

Only the standard library (and :mod:`movie_ratings.runtime`, which needs nothing else) is
imported here, so ``make stop`` works without the venv.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployments import profiles
from deployments.processes import alive, command_line, group_of, send_signal, wait_gone
from movie_ratings.runtime import configure_process

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE = ROOT / "var"
DEFAULT_PORT = 4200
HOST = "127.0.0.1"
WORK_POOL = "movie-ratings"
#: Stopped in this order: whatever runs flows first, the server last.
PROCESSES = ("serve", "worker", "server")
#: Arguments the command line of each process contains (checked before it is signalled).
MARKERS = {
    "server": ("server", "start"),
    "worker": ("worker", "start"),
    "serve": ("deployments.local", "serve"),
}
#: Name of the Prefect profile `make server` activates and `make stop` removes
#: (:mod:`deployments.profiles`).
PROFILE = "movie-ratings-local"
AUTH_USER = "admin"


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C stops it, even when we were started with SIGINT
    ignored (a `nohup` or `&` in a script), which a child would inherit and `stop` relies on.
    Its files (the server's database, flow-run files) are not world-readable."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.umask(0o077)


class LocalError(RuntimeError):
    """A local process could not be started, or did not become ready."""


@dataclass(frozen=True)
class Local:
    """Where the local processes keep their pidfiles and logs, and which port the server uses.

    Attributes:
        state: folder of ``run/`` (pidfiles) and ``log/`` (logs); ``var/`` by default.
        port: port of the Prefect server on 127.0.0.1.
        base_env: environment the processes start with (``os.environ`` when None).
    """

    state: Path = DEFAULT_STATE
    port: int = DEFAULT_PORT
    base_env: Mapping[str, str] | None = field(default=None, compare=False)

    @property
    def url(self) -> str:
        """The server's address (the UI is at its root)."""
        return f"http://{HOST}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def prefect_home(self) -> Path:
        base = os.environ if self.base_env is None else self.base_env
        # prefect.toml's home, made absolute: a worker starts flow runs in other folders.
        return Path(base.get("PREFECT_HOME") or ROOT / "var" / "prefect")

    @property
    def auth_file(self) -> Path:
        return self.prefect_home / "auth_string"

    @property
    def profiles_file(self) -> Path:
        return self.prefect_home / "profiles.toml"

    def auth_string(self) -> str:
        """The server's ``user:password``, generated once into :attr:`auth_file` (0600)."""
        with contextlib.suppress(FileNotFoundError):
            text = self.auth_file.read_text().strip()
            if text:
                return text
        self.auth_file.parent.mkdir(parents=True, exist_ok=True)
        value = f"{AUTH_USER}:{secrets.token_urlsafe(24)}"
        try:
            fd = os.open(self.auth_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created meanwhile by another `make` target
            return self.auth_file.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
        return value

    def env(self) -> dict[str, str]:
        """Environment of the processes: the base one plus where the server is and its
        credentials (the server's settings are harmless in a client and the reverse)."""
        env = dict(os.environ if self.base_env is None else self.base_env)
        env["PREFECT_HOME"] = str(self.prefect_home)
        auth = self.auth_string()
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_API_AUTH_STRING=auth,
            PREFECT_SERVER_API_AUTH_STRING=auth,
            PREFECT_SERVER_API_CSRF_PROTECTION_ENABLED="true",
            PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS=self.url,
            PREFECT_SERVER_API_HOST=HOST,
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_UI_API_URL=self.api_url,
        )
        env.pop("PREFECT_API_KEY", None)  # it would take precedence over the auth string
        configure_process(env)  # the worker's flow runs train and predict
        return env

    def activate_profile(self) -> None:
        """Make a profile with the API URL and auth string the active one in PREFECT_HOME."""
        profiles.activate(self.profiles_file, PROFILE, {
            "PREFECT_API_URL": self.api_url, "PREFECT_API_AUTH_STRING": self.auth_string(),
        })

    def deactivate_profile(self) -> bool:
        """Remove the profile of :meth:`activate_profile`; Prefect is serverless again."""
        return profiles.deactivate(self.profiles_file, PROFILE)

    def request(self, path: str, *, timeout: float = 5) -> Any:
        """A JSON GET from the API, with the credentials."""
        token = base64.b64encode(self.auth_string().encode()).decode()
        request = urllib.request.Request(f"{self.api_url}{path}", headers={"Authorization": f"Basic {token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def pidfile(self, name: str) -> Path:
        return self.state / "run" / f"{name}.pid"

    def logfile(self, name: str) -> Path:
        return self.state / "log" / f"{name}.log"

    # ---------------------------------------------------------------------------------
    # Processes
    # ---------------------------------------------------------------------------------

    def running(self, name: str) -> int | None:
        """The pid of ``name`` if its pidfile names a live process that is still ``name``."""
        record = self._record(name)
        if record is None:
            return None
        pid = int(record["pid"])
        if not alive(pid) or not set(MARKERS[name]) <= set(command_line(pid)):
            return None
        return pid

    def start(self, name: str, argv: Sequence[str]) -> int:
        """Start ``argv`` in the background in its own session, logging to its log file.

        Args:
            name: ``server``, ``worker`` (a key of :data:`MARKERS`).
            argv: the command.

        Returns:
            The pid (also written to the pidfile).

        Raises:
            LocalError: when ``name`` is already running.
        """
        if (pid := self.running(name)) is not None:
            raise LocalError(f"{name} is already running (pid {pid}); `make stop` stops it")
        log = self.logfile(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            process = subprocess.Popen(
                list(argv), cwd=ROOT, env=self.env(), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_default_sigint,
            )
        self.write_pidfile(name, process.pid, argv)
        return process.pid

    def write_pidfile(self, name: str, pid: int, argv: Sequence[str]) -> None:
        path = self.pidfile(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": pid, "argv": list(argv), "port": self.port}))

    def stop(self, name: str, grace_seconds: float = 20.0) -> str:
        """Stop ``name`` by the pid in its pidfile: SIGINT, then SIGTERM, then SIGKILL.

        A process started by :meth:`start` leads its own process group, and the whole
        group is signalled (a worker's flow runs, the server's children); a process that
        wrote its own pidfile in a terminal (``make serve``) is signalled alone.

        Returns:
            What happened, in one line.
        """
        record = self._record(name)
        if record is None:
            return f"{name}: not running"
        pid = self.running(name)
        self.pidfile(name).unlink(missing_ok=True)
        if pid is None:
            return f"{name}: not running (stale pidfile removed)"
        group = group_of(pid) == pid
        for sig, wait in ((signal.SIGINT, grace_seconds), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            send_signal(pid, sig, group=group)
            if wait_gone(pid, wait, group=group):
                return f"{name}: stopped (pid {pid}, {signal.Signals(sig).name})"
        return f"{name}: pid {pid} did not stop"

    def stop_all(self) -> list[str]:
        return [self.stop(name) for name in PROCESSES]

    # ---------------------------------------------------------------------------------
    # Server and worker
    # ---------------------------------------------------------------------------------

    def healthy(self) -> bool:
        """Whether the server answers its health check."""
        try:
            with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def start_server(self, timeout: float = 240.0) -> int:
        """Start ``prefect server start`` and wait until it is healthy.

        Returns:
            The server's pid.

        Raises:
            LocalError: it is already running, the port is taken, it exited or it did not
                become healthy in time (with the end of its log).
        """
        if self.running("server") is None and self.healthy():
            raise LocalError(f"something else already answers on {self.url}; pick another PREFECT_PORT")
        home = self.prefect_home
        home.mkdir(parents=True, exist_ok=True)  # Prefect makes no parents
        _make_private(home)
        pid = self.start("server", [_prefect(), "server", "start"])
        self._wait(lambda: self.healthy(), "server", pid, timeout, f"healthy at {self.api_url}")
        return pid

    def start_worker(self, pool: str = WORK_POOL, timeout: float = 120.0, wait: bool = True) -> int:
        """Start a process worker for ``pool`` and (unless ``wait`` is False) wait until the pool sees it.

        Returns:
            The worker's pid.
        """
        if not self.healthy():
            raise LocalError(f"no Prefect server at {self.url}: `make server` first")
        if self.running("serve") is not None:
            raise LocalError("`make serve` is running: a worker would compete with it for runs")
        pid = self.start("worker", [_prefect(), "worker", "start", "--pool", pool, "--type", "process"])
        if wait:
            self.wait_for_worker(pid, pool, timeout)
        return pid

    def wait_for_worker(self, pid: int, pool: str = WORK_POOL, timeout: float = 120.0) -> None:
        """Wait until ``pool`` is READY (a worker polls it); fail if the worker exits first."""
        self._wait(lambda: self.pool_status(pool) == "READY", "worker", pid, timeout, f"pool {pool} READY")

    def pool_status(self, pool: str) -> str | None:
        """The work pool's status (``READY`` once a worker polls it), None if unknown."""
        try:
            return self.request(f"/work_pools/{pool}").get("status")
        except (OSError, urllib.error.URLError, ValueError):
            return None

    def _wait(
        self, ready: Callable[[], bool], name: str, pid: int, timeout: float, what: str
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if not alive(pid):
                self.pidfile(name).unlink(missing_ok=True)
                raise LocalError(f"{name} exited before being {what}; its log ends:\n{self.tail(name)}")
            time.sleep(0.5)
        raise LocalError(f"{name} not {what} after {timeout:.0f} s; its log ends:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 30) -> str:
        """The last lines of ``name``'s log."""
        try:
            text = self.logfile(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _record(self, name: str) -> dict | None:
        try:
            return json.loads(self.pidfile(name).read_text())
        except (OSError, ValueError):
            return None


def _make_private(folder: Path) -> None:
    """Owner-only permissions on ``folder`` and what is in it (a database made before)."""
    for path in [folder, *folder.rglob("*")]:
        with contextlib.suppress(OSError):
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & 0o700)


def _prefect() -> str:
    """The ``prefect`` command of the running Python (the project's venv)."""
    candidate = Path(sys.executable).with_name("prefect")
    return str(candidate) if candidate.exists() else "prefect"


# -------------------------------------------------------------------------------------
# Command line (the Makefile)
# -------------------------------------------------------------------------------------


def _serve(local: Local) -> int:
    """Serve all deployments in the foreground until Ctrl-C; start the server if needed."""
    if (pid := local.running("worker")) is not None:
        raise LocalError(
            f"a worker is running (pid {pid}): it would compete with serve for the same runs; "
            "`make stop` first (and `make deploy` again when you go back to the worker)"
        )
    if not local.healthy():
        print(f"starting the Prefect server on {local.url} ...", flush=True)
        local.start_server()
        local.activate_profile()
    os.environ.update(local.env())  # before Prefect is imported: it reads its settings once
    local.write_pidfile("serve", os.getpid(), sys.argv)
    print(f"serving the deployments of prefect.yaml; UI: {local.url}/deployments; Ctrl-C stops", flush=True)
    try:
        from deployments.serve import main as serve_main

        return serve_main()
    finally:
        record = local._record("serve")
        if record and record.get("pid") == os.getpid():
            local.pidfile("serve").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m deployments.local {server,worker,serve,stop,status}``."""
    parser = argparse.ArgumentParser(prog="python -m deployments.local", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("server", "worker", "serve", "deploy", "stop", "status"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PREFECT_PORT", DEFAULT_PORT)))
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="folder of run/ and log/")
    args = parser.parse_args(argv)
    # Started in the background by a script, a process inherits SIGINT ignored, and Python
    # then never turns Ctrl-C into KeyboardInterrupt: make it the default again for `serve`,
    # which runs in this process (the server and worker get it from Local.start).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.umask(0o077)  # pidfiles, logs, the auth string and the profile: owner only
    local = Local(state=args.state, port=args.port)
    try:
        if args.command == "server":
            if (pid := local.running("server")) is not None:
                print(f"Prefect server already running (pid {pid}) on {local.url}")
            else:
                pid = local.start_server()
                print(f"Prefect server running (pid {pid}); UI {local.url}; log {local.logfile('server')}")
            local.activate_profile()
            print(f"it requires credentials: the UI asks for the auth string in {local.auth_file}; "
                  f"`prefect` and `movie-ratings` run from {ROOT} use it through the active profile "
                  f"{PROFILE!r} ({local.profiles_file}); `make stop` deactivates it")
        elif args.command == "worker":
            pid = local.start_worker()
            print(f"worker for pool {WORK_POOL!r} running (pid {pid}); log {local.logfile('worker')}")
        elif args.command == "serve":
            return _serve(local)
        elif args.command == "deploy":
            if not local.healthy():
                raise LocalError(f"no Prefect server at {local.url}: `make server` first")
            for argv in ([sys.executable, "-m", "deployments.server_setup"],
                         [_prefect(), "deploy", "--all", "--no-prompt"]):
                done = subprocess.run(argv, cwd=ROOT, env=local.env(), stdin=subprocess.DEVNULL)
                if done.returncode:
                    return done.returncode
        elif args.command == "stop":
            for line in local.stop_all():
                print(line)
            if local.deactivate_profile():
                print(f"profile {PROFILE!r} removed: prefect commands are serverless again")
        else:
            for name in PROCESSES:
                pid = local.running(name)
                print(f"{name}: " + (f"running (pid {pid})" if pid else "not running"))
    except LocalError as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
