"""The store summary ``movie-ratings status`` prints, the same for every backend."""

from __future__ import annotations

from typing import Any

from movie_ratings.store.base import StoreCommit


def store_status(
    backend: str,
    path: str,
    latest: StoreCommit | None,
    *,
    commits: int = 0,
    rejects_total: int = 0,
    views: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A JSON-ready summary: commit, groups with versions and row counts, views, rejects.

    Args:
        backend: the backend's name.
        path: where the store is (a folder, a Hopsworks address).
        latest: the newest commit; None for an empty store.
        commits: how many commits the store holds.
        rejects_total: quarantined records as of ``latest``.
        views: feature views (name, version, label, groups), in version order.

    Returns:
        The summary.
    """
    out: dict[str, Any] = {"backend": backend, "path": path}
    if latest is None:
        return out | {"commit": None, "feature_groups": [], "feature_views": []}
    return out | {
        "commit": latest.number,
        "commits": commits,
        "snapshot_date": latest.snapshot_date.isoformat(),
        "source": latest.source,
        "source_version": latest.source_version,
        "is_demo": latest.is_demo,
        "created_at": latest.created_at,
        "feature_groups": [
            {"name": g.name, "version": g.version, "rows": g.rows, "table_version": g.table_version}
            for g in sorted(latest.groups.values(), key=lambda g: (g.name, g.version))
        ],
        "feature_views": [{"name": v["name"], "version": v["version"], "label": v["label"],
                           "groups": v["groups"]} for v in views or []],
        "last_run": latest.counts,
        "rejects": {"last_snapshot": latest.counts.get("rejected", 0), "total": rejects_total},
    }
