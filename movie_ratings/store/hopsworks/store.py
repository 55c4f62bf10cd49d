"""The Hopsworks feature store's class: its parts put together, the doctor checks, status,
and opening the store of a project."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.hopsworks_connection import HopsworksSession, connect, translate_errors
from movie_ratings.schema import DOCTOR_SCRATCH, MOVIE_RATINGS_VIEW
from movie_ratings.settings import Settings
from movie_ratings.store.hopsworks.history import HistoryGroups
from movie_ratings.store.hopsworks.reads import Reads
from movie_ratings.store.hopsworks.writes import SnapshotWrites
from movie_ratings.store.status import store_status


class HopsworksFeatureStore(SnapshotWrites, Reads, HistoryGroups):
    """Feature groups, the view, commits and rejects in a Hopsworks project.

    Args:
        feature_store: the SDK's feature store (``project.get_feature_store()``).
        feature_cls: the SDK's ``hsfs.feature.Feature`` class (imported when omitted).
        address: where the store is, for status output.
        bookkeeping_version: version of the bookkeeping groups (``store_commits``,
            ``snapshot_rejects``, ``model_promotions``); 1 unless a test isolates itself.
    """

    backend = "hopsworks"

    # -------------------------------------------------------------------------------------
    # `movie-ratings doctor`: a write, a read through the Query Service, a delete
    # -------------------------------------------------------------------------------------

    def doctor_write(self, check_id: int) -> str:
        """Insert one row into the scratch group (delta-rs write from this client)."""
        row = pa.Table.from_pylist(
            [{"check_id": check_id, "checked_at": datetime.now(UTC), "note": "movie-ratings doctor"}],
            schema=DOCTOR_SCRATCH.arrow_schema)
        self.insert_rows(DOCTOR_SCRATCH.name, 1, row)
        return f"wrote a row to scratch group {DOCTOR_SCRATCH.name} v1"

    def doctor_read(self, check_id: int) -> str:
        """Read the scratch group back (offline reads go through the Query Service)."""
        rows = self.read_rows(DOCTOR_SCRATCH.name, 1)
        if check_id not in rows["check_id"].to_pylist():
            raise DataError(f"the row written to {DOCTOR_SCRATCH.name} v1 was not read back")
        return f"read {rows.num_rows} row(s) back through the Query Service"

    def doctor_delete(self) -> str:
        """Delete the scratch group."""
        handle = self._group(DOCTOR_SCRATCH.name, 1, create=False)
        if handle is not None:
            with translate_errors(f"deleting scratch group {DOCTOR_SCRATCH.name} v1"):
                handle.delete()
        self._groups.pop((DOCTOR_SCRATCH.name, 1), None)
        return f"deleted scratch group {DOCTOR_SCRATCH.name} v1"

    def status(self) -> dict[str, Any]:
        latest = self.latest_commit()
        if latest is None:
            return store_status(self.backend, self.address, None)
        rejects_total = self.read_rejects(commit=latest.number).num_rows
        with translate_errors(f"listing feature views {MOVIE_RATINGS_VIEW.name}"):
            found_views = self._fs.get_feature_views(name=MOVIE_RATINGS_VIEW.name) or []
            views = sorted(
                ({"name": v.name, "version": v.version, "label": MOVIE_RATINGS_VIEW.label,
                  "groups": {fg.name: fg.version for fg in v.query.featuregroups}}
                 for v in found_views),
                key=lambda v: v["version"],
            )
        return store_status(self.backend, self.address, latest, commits=len(self.commits()),
                            rejects_total=rejects_total, views=views)


def open_hopsworks_store(settings: Settings, *, sdk: Any | None = None) -> HopsworksFeatureStore:
    """Log in (once per process) and open the project's feature store.

    Args:
        settings: the project's :class:`~movie_ratings.settings.Settings`.
        sdk: the ``hopsworks`` module (imported when omitted; tests pass a fake).

    Raises:
        ConfigurationError: settings missing (named), extra not installed, key refused.
        TransientError: Hopsworks could not be reached.
    """
    return feature_store_of(connect(settings, sdk=sdk))


def feature_store_of(session: HopsworksSession) -> HopsworksFeatureStore:
    """The feature store of a logged-in project."""
    with translate_errors(f"opening the feature store of project {session.config.project}"):
        feature_store = session.project.get_feature_store()
    feature_cls = getattr(session.sdk, "Feature", None)  # a fake's; the real one comes from hsfs
    return HopsworksFeatureStore(feature_store, feature_cls=feature_cls, address=session.config.address)
