"""Run one worker job in a fresh interpreter and measure the whole process tree.

``os.wait4`` returns the resource usage of exactly that child and of the processes it
waited for (user and system CPU, page faults), unlike ``getrusage(RUSAGE_CHILDREN)`` in
the parent, which sums all children. The peak memory is the larger of the child's own
``VmHWM`` (read by the child as it finishes: Linux carries a parent's peak RSS at fork
into the child's ``ru_maxrss``) and the largest sum of the resident sets of the child
and all its descendants, sampled every 20 ms while it runs (a job that starts
processes, such as Prefect's API server, counts them too).
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

from movie_ratings.runtime import configure_process

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
        maxrss_bytes: peak resident set size of the process tree: the larger of the child's
            own ``VmHWM`` and the largest sampled sum over the child and its descendants
            (``ru_maxrss`` of a child includes the parent's peak at fork time).
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


def child_env(home: Path, pycache: Path | None = None, *,
              prefect_api_url: str | None = None) -> dict[str, str]:
    """Environment for children: all Prefect and project state under ``home``.

    Args:
        home: scratch folder for ``MOVIE_RATINGS_HOME`` and ``PREFECT_HOME``.
        pycache: where children keep compiled bytecode (``PYTHONPYCACHEPREFIX``). Without
            it, a ``PYTHONDONTWRITEBYTECODE`` environment recompiles Prefect, pandas and the
            rest from source in every child (seconds per process); with it, only once.
        prefect_api_url: a running Prefect API for the flows (default: none, so each job
            that runs a flow starts its own ephemeral server).
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
    if prefect_api_url:
        env["PREFECT_API_URL"] = prefect_api_url
    configure_process(env)  # as the CLI and the deployment processes start
    return env


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from ``/proc/<pid>/task/*/children``)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except (OSError, ValueError):
                continue
    return out


def tree_rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` and its descendants, summed (0 when it is gone)."""
    total = 0
    for member in _descendants(pid):
        try:
            with open(f"/proc/{member}/statm") as handle:
                total += int(handle.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


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


#: Set by :func:`use_fork_server`: jobs run in a fork of this process (``--quick``).
_FORK = False

#: Modules a forked job would otherwise import itself (imported once, before any fork).
PRELOAD = (
    "pandas", "pyarrow.csv", "pyarrow.compute", "pyarrow.dataset", "deltalake", "sklearn.ensemble",
    "sklearn.svm", "xgboost", "matplotlib.figure", "prefect.server.api.server", "flows.backfill",
    "flows.daily_features", "flows.training", "flows.inference", "tasks.clean", "tasks.features",
    "tasks.insert", "tasks.training_data", "tasks.train", "tasks.parity", "tasks.evaluate",
    "tasks.register", "tasks.predict", "tasks.publish", "movie_ratings.store.local",
    "movie_ratings.registry.local", "movie_ratings.site", "movie_ratings.sources.demo",
    "bench.steps", "bench.worker",
)


def use_fork_server(env: dict[str, str]) -> None:
    """Run every later job in a fork of this process, after importing its modules once.

    For ``--quick`` only: a fresh interpreter costs seconds of imports per job, which is
    most of a small run. The job code and the measurement (``wait4``, process-tree RSS)
    are the same; a fork's peak RSS includes the preloaded modules (as a fresh process's
    includes its own imports). This process takes the children's environment first, so
    that settings read at import time see it; no thread may exist when forking.
    """
    global _FORK
    import importlib
    import threading

    os.environ.clear()
    os.environ.update(env)
    os.chdir(REPO)
    for name in PRELOAD:
        importlib.import_module(name)
    if threading.active_count() != 1:
        raise RuntimeError(f"cannot fork jobs: threads are running ({threading.enumerate()})")
    _FORK = True


def _fork_job(job_file: Path, out_file: Path, err_file: Path) -> int:
    """Fork; the child runs the job and exits without returning. Returns the child's pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        err = os.open(err_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(err, 2)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        from bench import worker

        code = worker.main([str(job_file), str(out_file)])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def run_child(job: str, args: dict[str, Any], env: dict[str, str],
              timeout: float = 3600.0) -> ChildRun:
    """Run ``bench.worker`` with one job in a fresh process and wait for it.

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
        start = time.perf_counter()
        popen = None
        if _FORK:
            child = _fork_job(job_file, out_file, err_file)
        else:
            with open(err_file, "wb") as err:
                popen = subprocess.Popen(
                    [sys.executable, "-m", "bench.worker", str(job_file), str(out_file)],
                    cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err,
                )
            child = popen.pid
        deadline = start + timeout
        tree_peak = 0
        while True:
            pid, status, usage = os.wait4(child, os.WNOHANG)
            if pid:
                break
            tree_peak = max(tree_peak, tree_rss_bytes(child))
            if time.perf_counter() > deadline:
                os.kill(child, 9)
                pid, status, usage = os.wait4(child, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if popen is not None:
            popen.returncode = code  # reaped here, not by Popen
        if code != 0 or not out_file.exists():
            tail = err_file.read_text(errors="replace")[-4000:]
            raise ChildFailed(f"bench worker {job!r} exited with {code}:\n{tail}")
        result = json.loads(out_file.read_text())
        return ChildRun(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            maxrss_bytes=max(result.get("hwm_bytes") or usage.ru_maxrss * 1024, tree_peak),
            sys_s=usage.ru_stime,
            minflt=usage.ru_minflt,
            result=result,
        )
