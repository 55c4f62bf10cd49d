"""The feature-store interface shared by the local (Delta Lake) and Hopsworks backends."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    from movie_ratings.store.upsert import KnownUnchanged


def group_key(name: str, version: int) -> str:
    """Storage name of a feature group version, as Hopsworks names its tables."""
    return f"{name}_{version}"


@dataclass(frozen=True)
class GroupState:
    """A feature group as of a store commit.

    Attributes:
        name: feature group name.
        version: feature group (schema) version.
        table_version: version of the underlying table (Delta version, Hopsworks commit).
        rows: live rows, one per film.
    """

    name: str
    version: int
    table_version: int
    rows: int


@dataclass(frozen=True)
class StoreCommit:
    """One atomic, numbered state of the whole store.

    Every write of a snapshot ends with a new commit naming the table version of each
    group; readers read groups at those versions, so a crash between two table writes
    is never visible.
    """

    number: int
    created_at: str
    snapshot_date: date
    source: str
    source_version: str | None
    is_demo: bool
    groups: dict[str, GroupState]
    rejects_table_version: int | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def group(self, name: str, version: int) -> GroupState:
        try:
            return self.groups[group_key(name, version)]
        except KeyError:
            raise KeyError(
                f"feature group {name} version {version} is not in store commit {self.number}"
            ) from None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["snapshot_date"] = self.snapshot_date.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoreCommit:
        return cls(
            number=data["number"],
            created_at=data["created_at"],
            snapshot_date=date.fromisoformat(data["snapshot_date"]),
            source=data["source"],
            source_version=data.get("source_version"),
            is_demo=data.get("is_demo", False),
            groups={k: GroupState(**v) for k, v in data["groups"].items()},
            rejects_table_version=data.get("rejects_table_version"),
            counts=dict(data.get("counts", {})),
        )


@dataclass(frozen=True)
class SnapshotInfo:
    """Where a snapshot came from, recorded with the commit that stores it."""

    snapshot_date: date
    source: str
    source_version: str | None = None
    is_demo: bool = False


@dataclass(frozen=True)
class UpsertResult:
    """What writing a snapshot did.

    Attributes:
        commit: the store commit after the write (the previous one when nothing changed).
        created_commit: False when the snapshot changed nothing and no commit was made.
        new, changed, unchanged, deleted: film counts (a film counts as changed when any of
            its groups changed).
        per_group: the same counts per feature group.
    """

    commit: StoreCommit
    created_commit: bool
    new: int
    changed: int
    unchanged: int
    deleted: int
    per_group: dict[str, dict[str, int]]


class FeatureStore(Protocol):
    """Feature groups with explicit versions, atomic commits and a joined feature view."""

    def latest_commit(self) -> StoreCommit | None:
        """The newest commit, or None for an empty store."""
        ...

    def commit(self, number: int) -> StoreCommit:
        """A given commit (for time travel)."""
        ...

    def upsert_snapshot(
        self,
        groups: dict[str, pa.Table],
        versions: dict[str, int],
        info: SnapshotInfo,
        rejects: pa.Table,
        *,
        max_delete_fraction: float = 1.0,
        max_descriptive_change_fraction: float = 1.0,
        unchanged: KnownUnchanged | None = None,
    ) -> UpsertResult:
        """Write a full snapshot: new and changed rows are stored, missing films deleted.

        Every backend decides what to write with :func:`movie_ratings.store.upsert.plan_upsert`:
        a film whose record is among ``rejects`` is not missing (it keeps its last good
        row); a snapshot that would delete more than ``max_delete_fraction`` of a group's
        films, or change the descriptive fields of more than
        ``max_descriptive_change_fraction`` of the stored films, is refused
        (``BrokenSourceError``) before anything is written. Idempotent: writing the same
        snapshot again changes nothing. ``unchanged`` names films of a prefiltered daily
        that are left out of the description groups' rows (stored already).
        """
        ...

    def read_group(
        self, name: str, version: int, *, commit: int | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        """Current rows (one per film) of a feature group as of a commit (latest if None)."""
        ...

    def ensure_feature_view(self, name: str, version: int, group_versions: dict[str, int]) -> None:
        """Create the feature view if missing; refuse a different definition of the same version."""
        ...

    def read_feature_view(self, name: str, version: int, *, commit: int | None = None) -> pa.Table:
        """The view's groups joined on the primary key, as of a commit."""
        ...

    def read_rejects(self, *, commit: int | None = None) -> pa.Table:
        """Quarantined records as of a commit."""
        ...

    def merge_rows(self, name: str, version: int, table: pa.Table) -> int:
        """Insert or replace rows of a history group by primary key + event time.

        Rows with other keys are kept (history); writing the same rows again adds no
        rows. Returns the group's table version after the write.
        """
        ...

    def read_all_rows(self, name: str, version: int) -> pa.Table:
        """Every row of a history group (empty with the declared schema when none)."""
        ...

    def status(self) -> dict[str, Any]:
        """A JSON-ready summary: commit, groups with versions and row counts, rejects."""
        ...
