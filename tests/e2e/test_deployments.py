"""The deployments on a real Prefect server, a real worker and the real UI, as an operator runs them.

A Prefect server is started (``deployments.local``, what ``make server`` runs) on a free
loopback port with a temporary PREFECT_HOME and MOVIE_RATINGS_HOME. Then, as ``make
deploy`` does: the work pool and the store-writes limit are created, ``prefect deploy --all
--no-prompt`` deploys prefect.yaml; a worker is started (``make worker``), each step of
:data:`STEPS` is triggered with ``prefect deployment run ... --watch`` and must end
Completed and change what it writes. Headless Chromium then finds every deployment, with
its schedule, in the UI. ``make serve``'s process is checked against the same server. Every
process started here is stopped by PID at the end, also when a test fails.

The server runs as ``make server`` starts it: with an auth string, CSRF protection and CORS
limited to its own origin; the processes and the ``prefect`` command get the credentials
from the environment ``deployments.local`` gives them or from the profile it activates,
and the browser logs in through the UI's own login form.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deployments.config import ROOT, load_deployments
from deployments.local import Local
from deployments.processes import alive
from tasks.policies import STORE_WRITES_TAG

PREFECT = str(Path(sys.executable).with_name("prefect"))
DEPLOYMENTS = load_deployments()


@dataclass(frozen=True)
class Step:
    """One deployment run of the end-to-end scenario.

    Attributes:
        deployment: deployment name (the flow has the same name).
        parameters: given with ``-p name=value``.
        changes: folders under MOVIE_RATINGS_HOME the run must change.
        triggered: not run by the test: the run a trigger of prefect.yaml creates when
            the previous step Completes is awaited and checked instead (``changes`` are
            then counted from before the previous step).
    """

    deployment: str
    parameters: dict[str, Any] = field(default_factory=dict)
    changes: tuple[str, ...] = ("store",)
    triggered: bool = False


#: The scenario, in order. Inference is started by its triggers (on training's and on
#: daily-features' completion), so it follows each of them as a triggered step.
STEPS = [
    Step("backfill", {"source": "demo", "as_of": "2026-03-01"}),
    Step("training", {"split": "temporal"}, changes=("registry",)),
    Step("inference", changes=("store", "site"), triggered=True),
    Step("daily-features", {"source": "demo", "as_of": "2026-03-02"}),
    Step("inference", changes=("store", "site"), triggered=True),
]
RUN_TIMEOUT = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    """The few REST calls the checks need (the Prefect client would start its own loops).

    Like Prefect's client, it retries what the server answers when it is busy (SQLite
    locked under load: 503) a few times with backoff.
    """

    RETRY_STATUSES = frozenset({408, 429, 502, 503})

    def __init__(self, url: str, auth_string: str | None = None) -> None:
        self.url = url
        self.headers = {}
        if auth_string is not None:
            self.headers["Authorization"] = "Basic " + base64.b64encode(auth_string.encode()).decode()

    def get(self, path: str) -> Any:
        return self._call(urllib.request.Request(f"{self.url}{path}", headers=self.headers))

    def post(self, path: str, body: dict | None = None, headers: dict[str, str] | None = None) -> Any:
        return self._call(urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body or {}).encode(), method="POST",
            headers={"Content-Type": "application/json", **self.headers, **self._csrf(), **(headers or {})},
        ))

    def _csrf(self) -> dict[str, str]:
        """CSRF protection is on: a POST carries a token, as Prefect's client sends it."""
        if "Authorization" not in self.headers:
            return {}
        if not hasattr(self, "_csrf_headers"):
            client = "e2e-test-client"
            token = self.get(f"/csrf-token?client={client}")["token"]
            self._csrf_headers = {"Prefect-Csrf-Token": token, "Prefect-Csrf-Client": client}
        return self._csrf_headers

    def _call(self, request: urllib.request.Request, attempts: int = 5) -> Any:
        for attempt in range(attempts):
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                if exc.code not in self.RETRY_STATUSES or attempt == attempts - 1:
                    raise
                time.sleep(2**attempt)
        raise AssertionError("unreachable")

    def deployment(self, name: str) -> dict:
        return self.get(f"/deployments/name/{name}/{name}")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    """A Prefect server on a free port with a temporary home; all processes stopped at the end."""
    tmp = tmp_path_factory.mktemp("deployments")
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    env.update(
        PREFECT_HOME=str(tmp / "prefect"),
        MOVIE_RATINGS_HOME=str(tmp / "home"),
        MOVIE_RATINGS_DEMO_SIZE="2000",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="2",  # the worker looks for runs every 2 s, not 10
    )
    env.pop("PREFECT_API_AUTH_STRING", None)
    local = Local(state=tmp / "var", port=_free_port(), base_env=env)
    pids: list[int] = []
    try:
        pids.append(local.start_server())
        local.activate_profile()  # as `make server` does
        yield local
    finally:
        for name in ("serve", "worker", "server"):
            if (pid := local.running(name)) is not None:
                pids.append(pid)
        print("\n".join(local.stop_all()))
        local.deactivate_profile()
        assert not [pid for pid in pids if alive(pid)], "a process survived make stop"


@pytest.fixture(scope="module")
def api(local: Local) -> Api:
    return Api(local.api_url, local.auth_string())


def test_the_server_requires_credentials_and_refuses_other_origins(local: Local, api: Api) -> None:
    anonymous = Api(local.api_url)
    with pytest.raises(urllib.error.HTTPError) as refused:
        anonymous.get("/work_pools/movie-ratings")
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as refused:
        anonymous.post("/flow_runs/filter", {})
    assert refused.value.code in (401, 403)
    with pytest.raises(urllib.error.HTTPError) as refused:
        Api(local.api_url, "admin:wrong").get("/work_pools/movie-ratings")
    assert refused.value.code == 401
    # A page of another origin in the operator's browser: without the credentials (the UI
    # keeps them in its own origin's storage) or a CSRF token (only an authenticated GET of
    # the server's own origin gets one) its POST is refused, and no CORS header lets it read
    # an answer; a JSON POST's preflight is refused outright.
    forged = {"Origin": "https://evil.example", "Content-Type": "application/json"}
    for headers in (forged, {**forged, "Authorization": api.headers["Authorization"]}):
        request = urllib.request.Request(f"{local.api_url}/flow_runs/filter", data=b"{}", method="POST",
                                         headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code in (401, 403), headers.keys()
        assert refused.value.headers.get("access-control-allow-origin") is None
    preflight = urllib.request.Request(f"{local.api_url}/flow_runs/filter", method="OPTIONS", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(preflight, timeout=10)
    assert refused.value.headers.get("access-control-allow-origin") is None
    # the state files are the owner's only
    for path in (local.auth_file, local.profiles_file, local.prefect_home / "prefect.db"):
        assert path.stat().st_mode & 0o077 == 0, path
    # `prefect` with no PREFECT_API_URL or auth string in its environment reaches the
    # server through the active profile (prefect.toml points the repository's at var/prefect)
    bare = {k: v for k, v in local.env().items()
            if not k.startswith(("PREFECT_API_", "PREFECT_SERVER_", "PREFECT_UI_"))}
    bare["PREFECT_PROFILES_PATH"] = str(local.profiles_file)
    done = subprocess.run([PREFECT, "config", "view"], cwd=ROOT, env=bare, capture_output=True,
                          text=True, timeout=120)
    assert f"PREFECT_API_URL='{local.api_url}' (from profile)" in done.stdout, done.stdout + done.stderr
    done = subprocess.run([PREFECT, "work-pool", "ls"], cwd=ROOT, env=bare, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "temporary server" not in done.stdout + done.stderr, done.stderr


def _run(argv: list[str], local: Local, timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, cwd=ROOT, env=local.env(), stdin=subprocess.DEVNULL, capture_output=True,
        text=True, timeout=timeout,
    )
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_deploy_then_each_deployment_runs_on_a_worker_and_shows_in_the_ui(
    local: Local, api: Api, page: Any, screenshot_dir: Path, tree: Callable[[Path], dict]
) -> None:
    home = Path(local.env()["MOVIE_RATINGS_HOME"])

    # make deploy: pool and limit when missing, then every deployment, without a prompt
    # (stdin is closed: a prompt would fail the command).
    t0 = time.monotonic()
    setup = _run([sys.executable, "-m", "deployments.server_setup"], local, 120)
    assert "work pool 'movie-ratings' (process): created" in setup.stdout
    worker = local.start_worker(wait=False)  # make worker; it starts while deploy runs
    t1 = time.monotonic()
    _run([PREFECT, "deploy", "--all", "--no-prompt"], local, 300)
    t2 = time.monotonic()
    local.wait_for_worker(worker)
    print(f"server_setup {t1 - t0:.0f} s, prefect deploy {t2 - t1:.0f} s, "
          f"then worker ready after {time.monotonic() - t2:.0f} s")

    pool = api.get("/work_pools/movie-ratings")
    assert pool["type"] == "process"
    assert api.get(f"/concurrency_limits/tag/{STORE_WRITES_TAG}")["concurrency_limit"] == 1
    for spec in DEPLOYMENTS:
        deployed = api.deployment(spec["name"])
        assert deployed["work_pool_name"] == "movie-ratings"
        assert deployed["parameters"] == spec["parameters"]
        assert sorted(deployed["tags"]) == sorted(spec["tags"])
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"], s["active"])
                for s in deployed["schedules"]] == [
            (s["cron"], s["timezone"], s["active"]) for s in spec["schedules"]
        ]
        assert deployed["global_concurrency_limit"]["limit"] == 1
        assert deployed["concurrency_options"]["collision_strategy"] == "ENQUEUE"
        # Deployed from this checkout, wherever it is: the worker runs the flows from here.
        assert deployed["pull_steps"] == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
        ]
        automations = api.get(f"/automations/related-to/prefect.deployment.{deployed['id']}")
        assert len(automations) == len(spec.get("triggers") or [])

    previous_end, previous_before = None, {}
    for number, step in enumerate(STEPS):
        before = {folder: tree(home / folder) for folder in ("store", "registry", "site")}
        started = time.monotonic()
        if step.triggered:
            assert previous_end is not None, "a triggered step needs a step before it"
            flow_run_id = _triggered_run(api, step.deployment, previous_end)
            before = previous_before
        elif number == 0:  # the first as an operator would, the others straight through the API
            flow_run_id = _run_with_cli(local, step.deployment, step.parameters)
        else:
            flow_run_id = _run_with_api(api, step.deployment, step.parameters)
        run = api.get(f"/flow_runs/{flow_run_id}")
        assert run["state"]["type"] == "COMPLETED", (step, run["state"], local.tail("worker"))
        assert run["name"].startswith(step.deployment)  # "daily-features 2026-03-02 demo"
        for folder in step.changes:
            assert tree(home / folder) != before[folder], f"{step.deployment} did not change {folder}/"
        print(f"{step.deployment}: Completed in {time.monotonic() - started:.0f} s ({run['name']})")
        children = api.post("/flow_runs/filter", {
            "flow_runs": {"parent_flow_run_id": {"any_": [flow_run_id]}}
        })  # subflows (main runs backfill and daily-features as subflows)
        writes = api.post("/task_runs/filter", {
            "flow_runs": {"id": {"any_": [flow_run_id, *(c["id"] for c in children)]}},
            "task_runs": {"tags": {"all_": [STORE_WRITES_TAG]}},
        })
        if "store" in step.changes:  # store writes ran under the store-writes limit
            assert writes and all(t["state"]["type"] == "COMPLETED" for t in writes)
        previous_end, previous_before = run["end_time"], before

    _wait_until_idle(api)  # runs that triggers started must not outlive the worker
    _check_ui(page, local, screenshot_dir / "prefect-deployments.png")
    assert local.stop("worker").startswith("worker: stopped")  # make stop, for the worker


def _run_with_cli(local: Local, deployment: str, parameters: dict[str, Any]) -> str:
    """``prefect deployment run NAME -p ... --watch``; returns the flow run's id."""
    argv = [PREFECT, "deployment", "run", f"{deployment}/{deployment}",
            "--watch", "--watch-timeout", str(RUN_TIMEOUT)]
    for name, value in parameters.items():
        argv += ["-p", f"{name}={value}"]
    done = _run(argv, local, RUN_TIMEOUT + 60)
    return re.search(r"UUID: ([0-9a-f-]{36})", done.stdout).group(1)


def _run_with_api(api: Api, deployment: str, parameters: dict[str, Any]) -> str:
    """Create a run of the deployment and wait until it is final; returns its id."""
    deployment_id = api.deployment(deployment)["id"]
    run = api.post(f"/deployments/{deployment_id}/create_flow_run", {"parameters": parameters})
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        state = api.get(f"/flow_runs/{run['id']}")["state"]
        if state and state["type"] in FINAL:
            return run["id"]
        time.sleep(0.5)
    raise AssertionError(f"{deployment}: run {run['id']} not final after {RUN_TIMEOUT} s")


FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _triggered_run(api: Api, deployment: str, after: str) -> str:
    """The first run of ``deployment`` created after ``after`` (ISO time), once final."""
    deployment_id = api.deployment(deployment)["id"]
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        runs = api.post("/flow_runs/filter", {
            "deployments": {"id": {"any_": [deployment_id]}},
            "sort": "EXPECTED_START_TIME_ASC",
        })
        runs = [r for r in runs if r["created"] >= after]
        if runs and runs[0]["state"] and runs[0]["state"]["type"] in FINAL:
            return runs[0]["id"]
        time.sleep(1)
    raise AssertionError(f"no run of {deployment} was triggered and finished after {after}")


def _wait_until_idle(api: Api, timeout: float = RUN_TIMEOUT) -> None:
    """Wait until no flow run is pending, running or due (future cron runs do not count)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = api.post("/flow_runs/filter", {"flow_runs": {"state": {"type": {
            "any_": ["PENDING", "RUNNING", "CANCELLING"]}}}})
        due = api.post("/flow_runs/filter", {"flow_runs": {
            "state": {"type": {"any_": ["SCHEDULED"]}},
            "expected_start_time": {"before_": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        }})
        if not busy and not due:
            return
        time.sleep(1)
    raise AssertionError(f"runs still going after {timeout} s: {[r['name'] for r in busy + due]}")


def _check_ui(page: Any, local: Local, screenshot: Path) -> None:
    """Every deployment is listed in the UI, each cron schedule with its time of day."""
    page.set_viewport_size({"width": 1600, "height": 900})  # narrower, schedules fold into "+1"
    page.goto(f"{local.url}/deployments")
    password = page.locator("input[type=password]")
    password.wait_for(timeout=60_000)  # the UI asks for the credentials first
    password.fill(local.auth_string())
    page.get_by_role("button", name="Login").click()
    page.goto(f"{local.url}/deployments")
    for spec in DEPLOYMENTS:
        row = page.locator("tr").filter(has=page.get_by_text(spec["name"], exact=True))
        row.first.wait_for(timeout=60_000)
        text = row.first.inner_text()
        for schedule in spec["schedules"]:
            minute, hour = schedule["cron"].split()[:2]
            assert f"{int(hour):02d}:{int(minute):02d}" in text, (spec["name"], text)
    page.screenshot(path=str(screenshot), full_page=True)


def test_make_serve_serves_every_deployment_and_stops_on_ctrl_c(
    local: Local, api: Api, page: Any, screenshot_dir: Path
) -> None:
    log = local.logfile("serve-test")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "deployments.local", "--state", str(local.state),
             "--port", str(local.port), "serve"],
            cwd=ROOT, env=local.env(), stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        names = [spec["name"] for spec in DEPLOYMENTS]
        while True:  # served deployments have no work pool: the serve process runs them
            served = [n for n in names if _served(api, n)]
            if served == names:
                break
            assert serve.poll() is None, log.read_text()
            assert time.monotonic() < deadline, (served, log.read_text()[-3000:])
            time.sleep(1)
        assert local.running("serve") == serve.pid
        for spec in DEPLOYMENTS:
            deployed = api.deployment(spec["name"])
            assert [s["schedule"]["cron"] for s in deployed["schedules"]] == [
                s["cron"] for s in spec["schedules"]
            ]
            assert deployed["global_concurrency_limit"]["limit"] == 1

        # A run through the served deployment (the store is already at 2026-03-02 after
        # the worker test, or empty when this test runs alone: Completed either way).
        flow_run_id = _run_with_api(api, "backfill", {"source": "demo", "as_of": "2026-03-02"})
        assert api.get(f"/flow_runs/{flow_run_id}")["state"]["type"] == "COMPLETED", log.read_text()[-3000:]
        _check_ui(page, local, screenshot_dir / "prefect-deployments-served.png")

        os.killpg(serve.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's process group
        assert serve.wait(timeout=60) == 0, log.read_text()[-3000:]
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    assert not local.pidfile("serve").exists()
    # On the way out Prefect paused what it served: no run piles up with nobody to run it.
    daily = api.deployment("daily-features")
    assert daily["paused"] or not any(s["active"] for s in daily["schedules"])


def _served(api: Api, name: str) -> bool:
    try:
        deployed = api.deployment(name)
    except urllib.error.HTTPError:
        return False
    # Served: no work pool and no pull step (the serve process runs it), and polled (READY).
    return (deployed["work_pool_name"], deployed["pull_steps"], deployed["status"]) == (
        None, None, "READY"
    )
