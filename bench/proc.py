"""Run one worker job in a fresh interpreter and measure the whole process.

``os.wait4`` returns the resource usage of exactly that child (user and system CPU, page
faults), unlike ``getrusage(RUSAGE_CHILDREN)``, which sums all children. The peak RSS is
the child's own ``VmHWM``, read by the child as it finishes: Linux carries a parent's peak
RSS at fork into the child's ``ru_maxrss``.
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
        maxrss_bytes: peak resident set size of the process: its own ``VmHWM`` when the job
            reports it (``ru_maxrss`` of a child includes the parent's peak at fork time).
        sys_s: system CPU of the whole process (page faults show up here).
        minflt: minor page faults of the process.
        result: what the job returned.
    """

    wall_s: float
    cpu_s: float
    maxrss_bytes: int
    sys_s: float = 0.0
    minflt: int = 0
    result: dict[str, Any] = field(default_factory=dict)


def child_env(home: Path, pycache: Path | None = None) -> dict[str, str]:
    """Environment for children: all Prefect and project state under ``home``.

    Args:
        home: scratch folder for ``MOVIE_RATINGS_HOME`` and ``PREFECT_HOME``.
        pycache: where children keep compiled bytecode (``PYTHONPYCACHEPREFIX``). Without
            it, a ``PYTHONDONTWRITEBYTECODE`` environment recompiles Prefect, pandas and the
            rest from source in every child (seconds per process); with it, only once.
    """
    prefect_home = home / "prefect"
    prefect_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
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


def warm_memory(gb: float) -> None:
    """Touch and free ``gb`` GB, so the next process starts on memory the host has backed.

    On a VM whose host backs guest memory lazily and takes freed memory back (virtio
    balloon free page reporting), the first touch of a page costs microseconds of host
    work: a run that happens to start after an idle pause pays seconds of page faults
    that the code under test did not cause. Warming right before a measured run makes
    runs comparable. Done in a separate process (a forked child inherits its parent's
    peak RSS in ``ru_maxrss``), not timed.
    """
    if gb <= 0:
        return
    subprocess.run(
        [sys.executable, "-c", f"import numpy; numpy.ones({int(gb * 1e9) // 8})"],
        check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


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
        result = json.loads(out_file.read_text())
        return ChildRun(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_bytes=result.get("hwm_bytes") or usage.ru_maxrss * 1024,
            sys_s=usage.ru_stime,
            minflt=usage.ru_minflt,
            result=result,
        )
