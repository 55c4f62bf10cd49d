"""The store folder: where each table lives, the commit records, the writer lock, and the
roll-back of a run that died before its commit record."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from movie_ratings.durable import atomic_create
from movie_ratings.errors import DataError, TransientError
from movie_ratings.schema import FeatureGroupSpec
from movie_ratings.store.base import GroupState, StoreCommit, group_key
from movie_ratings.store.changes import DELETED
from movie_ratings.store.local.delta import DeltaTable, delta_dataset
from movie_ratings.timing import timed


class StoreLockedError(TransientError):
    """Another writer holds the store; retrying later may succeed."""


class StoreFolder:
    """Paths, commits and the writer lock of a store under ``root`` (see
    :class:`~movie_ratings.store.local.LocalFeatureStore`)."""

    def __init__(self, root: Path, *, lock_timeout: float = 600.0) -> None:
        self.root = Path(root)
        self.lock_timeout = lock_timeout

    # ----------------------------------------------------------------------------------
    # paths
    # ----------------------------------------------------------------------------------

    def _group_path(self, name: str, version: int) -> Path:
        return self.root / "groups" / group_key(name, version)

    @property
    def _rejects_path(self) -> Path:
        return self.root / "rejects"

    @property
    def _commits_dir(self) -> Path:
        return self.root / "_commits"

    def _view_path(self, name: str, version: int) -> Path:
        return self.root / "_views" / f"{group_key(name, version)}.json"

    # ----------------------------------------------------------------------------------
    # commits
    # ----------------------------------------------------------------------------------

    def _commit_numbers(self) -> list[int]:
        if not self._commits_dir.is_dir():
            return []
        return sorted(int(p.stem) for p in self._commits_dir.glob("*.json") if p.stem.isdigit())

    def latest_commit(self) -> StoreCommit | None:
        numbers = self._commit_numbers()
        return self.commit(numbers[-1]) if numbers else None

    def commit(self, number: int) -> StoreCommit:
        path = self._commits_dir / f"{number:012d}.json"
        try:
            return StoreCommit.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise DataError(f"store commit {number} does not exist in {self.root}") from None

    def commits(self) -> list[StoreCommit]:
        return [self.commit(n) for n in self._commit_numbers()]

    def _resolve(self, commit: int | None) -> StoreCommit:
        found = self.latest_commit() if commit is None else self.commit(commit)
        if found is None:
            raise DataError(f"the feature store at {self.root} is empty: run a backfill first")
        return found

    @timed("upsert.write_commit")
    def _write_commit(self, commit: StoreCommit) -> None:
        self._commits_dir.mkdir(parents=True, exist_ok=True)
        final = self._commits_dir / f"{commit.number:012d}.json"
        atomic_create(final, json.dumps(commit.to_json(), indent=2, sort_keys=True))

    # ----------------------------------------------------------------------------------
    # locking and recovery
    # ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the store's write lock (waits up to ``lock_timeout`` seconds).

        Raises:
            StoreLockedError: another writer kept the lock for too long.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".write.lock", "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreLockedError(
                            f"another run is writing to the feature store at {self.root} "
                            f"(waited {self.lock_timeout:.0f} s)"
                        ) from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _roll_back_uncommitted(self, latest: StoreCommit | None) -> list[str]:
        """Undo table writes of a run that died before its commit record; returns what was undone."""
        undone = []
        groups_dir = self.root / "groups"
        committed = latest.groups if latest else {}
        tables: list[tuple[Path, GroupState | int | None]] = (
            [(p, committed.get(p.name)) for p in groups_dir.iterdir()] if groups_dir.is_dir() else []
        )
        rejects_version = latest.rejects_table_version if latest else None
        if self._rejects_path.exists():
            tables.append((self._rejects_path, rejects_version))
        for path, state in tables:
            version = state.table_version if isinstance(state, GroupState) else state
            if version is None:
                shutil.rmtree(path)
                undone.append(f"removed uncommitted table {path.name}")
                continue
            table = DeltaTable(path)
            if table.version() > version:
                table.restore(version)
                undone.append(f"restored {path.name} to version {version}")
        return undone

    def _log_dataset(self, spec: FeatureGroupSpec, version: int, table_version: int) -> ds.Dataset:
        # Arrow's dataset scanner reads the Delta version's files in parallel, faster than
        # DeltaTable.to_pyarrow_table.
        return delta_dataset(self._group_path(spec.name, version), table_version)


def _as_stored_types(table: pa.Table, spec: FeatureGroupSpec) -> pa.Table:
    """Columns of a group's log with the group's declared types (cast only if they differ)."""
    target = pa.schema(
        [spec.arrow_schema.field(n) if n != DELETED else pa.field(DELETED, pa.bool_())
         for n in table.column_names]
    )
    return table if table.schema.equals(target) else table.cast(target)
