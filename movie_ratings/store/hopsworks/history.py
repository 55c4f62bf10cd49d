"""History groups (predictions) in Hopsworks: merged on primary key + event time."""

from __future__ import annotations

import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.hopsworks_connection import translate_errors
from movie_ratings.schema import FeatureGroupSpec
from movie_ratings.store.history_rows import (
    history_keys,
    history_spec,
    rows_to_merge,
    with_added_columns,
)
from movie_ratings.store.hopsworks.groups import SdkGroups
from movie_ratings.store.hopsworks.layout import offline_type


class HistoryGroups(SdkGroups):
    """History-group merges and reads of :class:`~movie_ratings.store.hopsworks.HopsworksFeatureStore`."""

    def merge_rows(self, name: str, version: int, table: pa.Table) -> int:
        spec, table = rows_to_merge(name, table)
        self._append_missing_features(name, version, spec)
        # Hopsworks upserts offline rows on primary key + event time: other keys are kept.
        self.insert_rows(name, version, table)
        handle = self._created(name, version)
        with translate_errors(f"reading the commits of {name} v{version}"):
            details = handle.commit_details(limit=1)
        return max((int(k) for k in details), default=0)

    def _saved_feature_names(self, name: str, version: int) -> list[str] | None:
        """Names of a saved group's features (None when the group does not exist)."""
        handle = self._group(name, version, create=False)
        if handle is None:
            return None
        return [f.name for f in handle.columns]

    def _append_missing_features(self, name: str, version: int, spec: FeatureGroupSpec) -> None:
        """A history group saved before this code's schema gained a column (``rating_low``,
        ``rating_high``) gets it appended, null in its older rows, so the insert's columns
        match; a missing key or event time is a different group, refused."""
        handle = self._group(name, version, create=False)
        if handle is None:
            return
        present = {f.name for f in handle.columns}
        missing = [f for f in spec.features if f.name not in present]
        keys = set(history_keys(spec))
        if any(f.name in keys for f in missing):
            raise DataError(f"feature group {name} v{version} in Hopsworks lacks key columns "
                            f"{[f.name for f in missing if f.name in keys]}: it is not this code's {name}")
        if not missing:
            return
        feature = self._feature()
        with translate_errors(f"adding {[f.name for f in missing]} to feature group {name} v{version}"):
            handle.append_features(
                [feature(name=f.name, type=offline_type(f.dtype), description=f.description) for f in missing])

    def read_all_rows(self, name: str, version: int) -> pa.Table:
        spec = history_spec(name)
        present = self._saved_feature_names(name, version)
        absent = [c for c in spec.column_names if present is not None and c not in present]
        if not absent:
            return self.read_rows(name, version)
        # a group from before a column was added (no insert by this code since): null there
        rows = self.read_rows(name, version, columns=[c for c in spec.column_names if c not in absent])
        return with_added_columns(rows, spec)
