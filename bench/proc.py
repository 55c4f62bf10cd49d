"""Run one worker job in a fresh interpreter and measure the whole process.

``os.wait4`` returns the resource usage of exactly that child (user and system CPU, peak
RSS), unlike ``getrusage(RUSAGE_CHILDREN)``, whose ``ru_maxrss`` is the largest of all
children ever waited for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The repository root: children run from here so ``bench``, ``tasks`` and ``flows`` import.
REPO = Path(__file__).resolve().parents[1]


class ChildFailed(RuntimeError):
    """A worker process exited with an error."""


@dataclass(frozen=True)
class ChildRun:
    """One finished child process.

    Attributes:
        wall_s: wall time of the whole process (interpreter start and imports included).
        cpu_s: user + system CPU of the whole process, all threads.
        maxrss_bytes: peak resident set size of the process.
        result: what the job returned.
    """

    wall_s: float
    cpu_s: float
    maxrss_bytes: int
    result: dict[str, Any] = field(default_factory=dict)


def child_env(home: Path) -> dict[str, str]:
    """Environment for children: all Prefect and project state under ``home``."""
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "MOVIE_RATINGS_HOME": str(home / "movie-ratings"),
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    })
    env.pop("PREFECT_API_URL", None)
    return env


def run_child(job: str, args: dict[str, Any], env: dict[str, str],
              timeout: float = 3600.0) -> ChildRun:
    """Run ``bench.worker`` with one job and wait for it.

    Args:
        job: name of the job in :data:`bench.worker.JOBS`.
        args: the job's arguments (JSON-serialisable).
        env: environment of the child.
        timeout: seconds before the child is killed.

    Returns:
        The measured run.

    Raises:
        ChildFailed: the child exited non-zero or timed out (its stderr is included).
    """
    with tempfile.TemporaryDirectory(prefix="bench-job-") as tmp:
        job_file, out_file, err_file = (Path(tmp) / n for n in ("job.json", "out.json", "err"))
        job_file.write_text(json.dumps({"job": job, "args": args}))
        with open(err_file, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.worker", str(job_file), str(out_file)],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err,
            )
            deadline = start + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.02)
            wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode != 0 or not out_file.exists():
            tail = err_file.read_text(errors="replace")[-4000:]
            raise ChildFailed(f"bench worker {job!r} exited with {proc.returncode}:\n{tail}")
        return ChildRun(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_bytes=usage.ru_maxrss * 1024,
            result=json.loads(out_file.read_text()),
        )
