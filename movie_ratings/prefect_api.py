"""Which Prefect API a command from the CLI talks to, chosen before Prefect is imported.

* ``PREFECT_API_URL`` in the environment, or a process that has already imported Prefect
  with an API URL set (tests): that API, nothing is started.
* The active profile's server (``make server`` writes it) when it answers its health check.
* Otherwise a temporary API server, started at once in a child process so that its start
  (mostly Prefect's server imports, see bench/RESULTS.md "Fixed cost") overlaps the CLI's
  own imports. Prefect would start the same server itself, but only when the flow is
  called, and its launcher lives in the server module, which then costs the CLI process
  the same imports a second time.

Only the standard library is imported here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from movie_ratings.errors import MovieRatingsError

#: Environment of the temporary server, as Prefect's own ephemeral server sets it: no UI,
#: ephemeral services only.
_TEMPORARY_SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1",
                         "PREFECT__SERVER_FINAL": "1"}


def profile_api_url(profiles_path: Path) -> str | None:
    """``PREFECT_API_URL`` of the active profile in ``profiles_path`` (None when there is none)."""
    try:
        profiles = tomllib.loads(profiles_path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return None
    active = os.environ.get("PREFECT_PROFILE") or profiles.get("active")
    url = profiles.get("profiles", {}).get(active, {}).get("PREFECT_API_URL") if active else None
    return str(url) if url else None


def healthy(api_url: str, timeout: float = 1.0) -> bool:
    """Whether the API at ``api_url`` answers its health check (no credentials needed)."""
    try:
        with urllib.request.urlopen(f"{api_url.rstrip('/')}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass
class TemporaryServer:
    """Prefect's API server in a child process on a loopback socket bound here.

    The socket is bound and listening before the child starts, and handed to it (uvicorn
    ``--fd``), so the URL is known at once and no other process can take the port.
    """

    process: subprocess.Popen[bytes]
    api_url: str
    log: Path | None = None

    @classmethod
    def start(cls, log: Path | None = None) -> TemporaryServer:
        """Start it; its output goes to ``log`` (appended) rather than the terminal when given.

        (Its services can log a cancelled flush when it is stopped as the command ends.)
        """
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
        output = open(log, "ab") if log is not None else None  # noqa: SIM115  (the child keeps it)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            port = sock.getsockname()[1]
            env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | _TEMPORARY_SERVER_ENV
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
                 "--fd", str(sock.fileno()), "--log-level", "error", "--lifespan", "on"],
                env=env, pass_fds=(sock.fileno(),), stdin=subprocess.DEVNULL,
                stdout=output, stderr=subprocess.STDOUT if output else None,
            )
        finally:
            sock.close()  # the child holds its own copy
            if output is not None:
                output.close()
        return cls(process, f"http://127.0.0.1:{port}/api", log)

    def wait_ready(self, timeout: float) -> None:
        """Block until the server answers (connections queue on the socket meanwhile)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                where = f"its log {self.log}" if self.log else "its output above"
                raise MovieRatingsError(
                    f"the temporary Prefect server exited with code {self.process.returncode} "
                    f"before it answered (see {where}); `make server` starts a lasting one")
            if healthy(self.api_url, timeout=max(0.1, min(5.0, deadline - time.monotonic()))):
                return
            time.sleep(0.05)
        self.stop()
        raise MovieRatingsError(
            f"the temporary Prefect server did not answer within {timeout:.0f} s "
            "(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS); run `make server` and retry")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def choose_api(prefect_home: Path, log: Path | None = None) -> TemporaryServer | None:
    """Point this process at a Prefect API before Prefect is imported (see the module doc).

    Returns the temporary server this process must stop at the end (its output in ``log``),
    or None.
    """
    if os.environ.get("PREFECT_API_URL"):
        return None
    if "prefect.context" in sys.modules:  # Prefect is imported and keeps its own choice
        return None
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home / "profiles.toml")
    url = profile_api_url(profiles)
    if url and healthy(url):
        return None
    if url:
        print(f"movie-ratings: the Prefect server of the active profile ({url}) does not answer; "
              "running on a temporary server (`make server` starts it again)", file=sys.stderr)
    server = TemporaryServer.start(log)
    # Above the profile's URL, if any; the server requires no credentials.
    os.environ["PREFECT_API_URL"] = server.api_url
    return server
