"""Helpers of the reliability tests: what a store holds, and a fault-driver subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from movie_ratings.schema import FEATURE_GROUPS, PRIMARY_KEY
from movie_ratings.store.local import LocalFeatureStore, delta_dataset

DAY0 = date(2026, 3, 1)
DAY1 = date(2026, 3, 2)
DRIVER = Path(__file__).with_name("fault_driver.py")
VERSIONS = {name: 1 for name in FEATURE_GROUPS}


@dataclass(frozen=True)
class CleanRuns:
    """A backfill of DAY0 then a daily of DAY1 that nothing interrupted.

    Attributes:
        states: :func:`store_state` after ``backfill`` and after ``daily``.
        backfilled_store: a copy of the store right after the backfill.
    """

    states: dict[str, dict[str, Any]]
    backfilled_store: Path


def store_state(root: Path) -> dict[str, Any]:
    """Everything a reader of the store can see, at every commit.

    Table versions and creation times are left out: a rolled-back store reaches the same
    contents through other Delta versions. Rows are sorted by id so that two stores that
    hold the same data compare equal.
    """
    store = LocalFeatureStore(root)
    commits = store.commits()
    state: dict[str, Any] = {
        "commits": [
            (c.number, c.snapshot_date, c.source, c.source_version, c.is_demo, c.counts,
             {key: g.rows for key, g in sorted(c.groups.items())}, c.rejects_table_version is None)
            for c in commits
        ],
    }
    for commit in commits:
        for name, version in VERSIONS.items():
            table = store.read_group(name, version, commit=commit.number)
            state[f"{name}@{commit.number}"] = table.sort_by(PRIMARY_KEY)
        rejects = store.read_rejects(commit=commit.number)
        state[f"rejects@{commit.number}"] = rejects.sort_by(
            [("snapshot_date", "ascending"), ("record", "ascending"), ("reason", "ascending")]
        )
    views = root / "_views"
    state["views"] = sorted(p.read_text() for p in views.glob("*.json")) if views.is_dir() else []
    return state


def assert_same_state(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Compare two :func:`store_state` results key by key (readable failures)."""
    assert sorted(actual) == sorted(expected)
    for key in expected:
        if isinstance(expected[key], pa.Table):
            assert actual[key].equals(expected[key]), f"{key} differs"
        else:
            assert actual[key] == expected[key], f"{key} differs"


def log_duplicates(root: Path) -> dict[str, int]:
    """Per group log, how many (id, snapshot_date) pairs occur more than once."""
    out = {}
    for path in sorted((root / "groups").iterdir()):
        table = DeltaTable(path)
        keys = delta_dataset(path, table.version()).to_table(columns=[PRIMARY_KEY, "snapshot_date"])
        pairs = pc.binary_join_element_wise(
            pc.cast(keys[PRIMARY_KEY], pa.string()), pc.cast(keys["snapshot_date"], pa.string()), "/"
        )
        out[path.name] = keys.num_rows - len(pc.unique(pairs))
    return out


def table_versions(root: Path) -> dict[str, int]:
    """The newest Delta version of every table in the store (committed or not)."""
    paths = [*sorted((root / "groups").glob("*")), root / "rejects"]
    return {p.name: DeltaTable(p).version() for p in paths if DeltaTable.is_deltatable(str(p))}


@dataclass
class DriverRun:
    """A ``fault_driver.py`` subprocess and its signal folder."""

    proc: subprocess.Popen[bytes]
    signals: Path
    out: Path
    err: Path
    released: set[str] = field(default_factory=set)

    def output(self) -> str:
        return self.out.read_text(errors="replace") + self.err.read_text(errors="replace")

    def wait_at(self, point: str, timeout: float = 240) -> None:
        """Wait until the driver reaches ``point``; fail if it exits first."""
        deadline = time.monotonic() + timeout
        while not (self.signals / f"at-{point}").exists():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"driver exited ({self.proc.returncode}) before {point}:\n{self.output()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"driver did not reach {point} in {timeout} s")
            time.sleep(0.05)

    def release(self, point: str) -> None:
        (self.signals / f"go-{point}").touch()

    def kill(self) -> int:
        """SIGKILL the driver; returns its exit status (``-SIGKILL``)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=60)

    def finish(self, timeout: float = 300) -> int:
        return self.proc.wait(timeout=timeout)


def start_driver(
    work: Path,
    api_url: str,
    cli_args: Iterable[str],
    *,
    hold: Iterable[str] = (),
    mark: Iterable[str] = (),
    env: dict[str, str] | None = None,
    name: str = "driver",
) -> DriverRun:
    """Start the CLI under ``fault_driver.py`` against the session's Prefect server.

    The child inherits the environment (``MOVIE_RATINGS_HOME`` included) and runs in
    ``work``, away from the repository's ``.env`` and ``prefect.toml``.
    """
    signals = work / f"{name}-signals"
    signals.mkdir(parents=True)
    argv = [sys.executable, str(DRIVER), "--signals", str(signals)]
    argv += [arg for point in hold for arg in ("--hold", point)]
    argv += [arg for point in mark for arg in ("--mark", point)]
    argv += ["--", *cli_args]
    out, err = work / f"{name}.out", work / f"{name}.err"
    child_env = os.environ | {"PREFECT_API_URL": api_url} | (env or {})
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(argv, cwd=work, env=child_env, stdout=stdout, stderr=stderr)
    return DriverRun(proc, signals, out, err)
