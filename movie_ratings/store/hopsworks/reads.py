"""Reading Hopsworks as of a store commit: groups, the feature view, training data, rejects."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.hopsworks_connection import translate_errors
from movie_ratings.schema import (
    FEATURE_GROUPS,
    HELPER_COLUMNS,
    HELPER_FEATURES,
    MOVIE_GENRES,
    MOVIE_RATINGS_VIEW,
    MOVIE_SIGNALS,
    MOVIES,
    PRIMARY_KEY,
    SNAPSHOT_REJECTS,
    STORE_COMMIT,
    TOMBSTONE,
)
from movie_ratings.schema import group_versions as every_group_version
from movie_ratings.store.changes import join_on_key
from movie_ratings.store.hopsworks.frames import frame_to_table
from movie_ratings.store.hopsworks.groups import SdkGroups
from movie_ratings.store.hopsworks.rows import _current_rejects, latest_rows, view_schema


class Reads(SdkGroups):
    """Group, view and rejects reads of :class:`~movie_ratings.store.hopsworks.HopsworksFeatureStore`."""

    def read_group(
        self, name: str, version: int, *, commit: int | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        spec = FEATURE_GROUPS.get(name)
        if spec is None:
            raise DataError(f"unknown feature group {name!r}")
        resolved = self._resolve(commit)
        resolved.group(name, version)  # must exist at that commit
        needed = None if columns is None else list(dict.fromkeys(
            [PRIMARY_KEY, spec.event_time, STORE_COMMIT, TOMBSTONE, *columns]))
        log = self.read_rows(name, version, needed)
        current = latest_rows(log, PRIMARY_KEY, spec.event_time, upto_commit=resolved.number)
        return current.select(columns if columns is not None else list(spec.column_names))

    def _view_query(self, group_versions: dict[str, int]) -> Any:
        movies = self._created(MOVIES.name, group_versions[MOVIES.name])
        genres = self._created(MOVIE_GENRES.name, group_versions[MOVIE_GENRES.name])
        signals = self._created(MOVIE_SIGNALS.name, group_versions[MOVIE_SIGNALS.name])
        genre_values = [n for n in MOVIE_GENRES.column_names
                        if n not in (PRIMARY_KEY, *MOVIE_RATINGS_VIEW.exclude)]
        with translate_errors("building the movie_ratings query"):
            # The signals (and the label) joined here are those of each movies row's date;
            # reads replace them with the signals as of the commit read (_with_signals).
            return movies.select_all().join(
                genres.select(genre_values), on=[PRIMARY_KEY, STORE_COMMIT], join_type="left"
            ).join(signals.select(list(MOVIE_SIGNALS.value_columns)), on=[PRIMARY_KEY],
                   join_type="left")

    def ensure_feature_view(self, name: str, version: int, group_versions: dict[str, int]) -> None:
        if name != MOVIE_RATINGS_VIEW.name:
            raise DataError(f"unknown feature view {name!r}")
        group_versions = every_group_version(group_versions)
        wanted = {g: group_versions[g] for g in MOVIE_RATINGS_VIEW.groups}
        with translate_errors(f"looking up feature view {name} v{version}"):
            existing = self._fs.get_feature_view(name=name, version=version)
        if existing is not None:
            with translate_errors(f"reading feature view {name} v{version}"):
                found = {fg.name: fg.version for fg in existing.query.featuregroups}
            if found != wanted:
                raise DataError(
                    f"feature view {name} version {version} already exists with groups "
                    f"{found}; create a new view version for {wanted}"
                )
            return
        query = self._view_query(wanted)
        with translate_errors(f"creating feature view {name} v{version}"):
            self._fs.get_or_create_feature_view(
                name=name,
                version=version,
                query=query,
                labels=[MOVIE_RATINGS_VIEW.label],
                description=(f"{MOVIE_RATINGS_VIEW.description} Groups: "
                             + ", ".join(f"{g} v{v}" for g, v in wanted.items())),
                inference_helper_columns=list(HELPER_COLUMNS),
                training_helper_columns=list(HELPER_COLUMNS),
            )

    def feature_view_handle(self, name: str, version: int) -> Any:
        """The SDK's feature view (for the registry's model lineage).

        Raises:
            DataError: no such view.
        """
        with translate_errors(f"looking up feature view {name} v{version}"):
            view = self._fs.get_feature_view(name=name, version=version)
        if view is None:
            raise DataError(f"feature view {name} version {version} does not exist: run a backfill")
        return view

    def _current_view_rows(self, frame: pd.DataFrame, upto_commit: int, what: str,
                           signals_version: int) -> pa.Table:
        schema = view_schema()
        full = pa.schema([*schema, *(f for f in _HELPER_FEATURES_SCHEMA)])
        table = frame_to_table(frame, full, what)
        current = latest_rows(table, PRIMARY_KEY, MOVIES.event_time, upto_commit=upto_commit)
        return self._with_signals(current.select(schema.names), signals_version, upto_commit)

    def _with_signals(self, rows: pa.Table, version: int, upto_commit: int) -> pa.Table:
        """The view's rows with each film's signals as of the commit read.

        The query's point-in-time join pairs a movies row with the signals of its own
        date, but the signals (the label among them) move daily without a movies row: the
        signals group is read as of the commit and its values replace the joined ones.
        """
        log = self.read_rows(MOVIE_SIGNALS.name, version)
        signals = latest_rows(log, PRIMARY_KEY, MOVIE_SIGNALS.event_time, upto_commit=upto_commit)
        values = list(MOVIE_SIGNALS.value_columns)
        joined = join_on_key(rows.drop_columns(values), signals.select([PRIMARY_KEY, *values]),
                             PRIMARY_KEY)
        return joined.select(rows.column_names)

    def read_feature_view(self, name: str, version: int, *, commit: int | None = None) -> pa.Table:
        view = self.feature_view_handle(name, version)
        resolved = self._resolve(commit)
        with translate_errors(f"reading feature view {name} v{version}"):
            frame = view.query.read(dataframe_type="pandas")
        return self._current_view_rows(frame, resolved.number, f"view {name} v{version}",
                                       _view_group_version(view, MOVIE_SIGNALS.name))

    def create_training_data(
        self, name: str, version: int, *, commit: int | None = None, description: str = ""
    ) -> tuple[pa.Table, int]:
        """Training data through the view, registered in Hopsworks as a training dataset.

        ``feature_view.training_data`` records an in-memory training-dataset version (the
        view, the filter and statistics) that a model can point to; the rows are reduced to
        one current row per film as of ``commit``, exactly like :meth:`read_feature_view`.
        The split (temporal by release date, or random) is applied by the training code on
        these rows, the same on every backend: Hopsworks' own ``train_test_split`` splits
        on event time (when a row was written), which is not the release-date split.

        Args:
            name: view name.
            version: view version.
            commit: store commit (latest if None).
            description: recorded with the training dataset.

        Returns:
            The rows and the training-dataset version to record in the model card.
        """
        view = self.feature_view_handle(name, version)
        resolved = self._resolve(commit)
        movies_version = _view_movies_version(view)
        resolved.group(MOVIES.name, movies_version)  # must exist at that commit
        movies = self._group(MOVIES.name, movies_version, create=False)
        if movies is None:
            raise DataError(f"feature group {MOVIES.name} v{movies_version} does not exist: run a backfill")
        with translate_errors(f"creating training data from view {name} v{version}"):
            # Explicit bounds: without them the SDK keeps only event_time < now
            # (FeatureViewEngine._set_event_time), dropping a snapshot dated later today.
            features, labels = view.training_data(
                start_time=date(1970, 1, 2),
                end_time=resolved.snapshot_date + timedelta(days=1),
                description=description or f"store commit {resolved.number}",
                extra_filter=movies.get_feature(STORE_COMMIT) <= resolved.number,
                primary_key=True,
                event_time=True,
                training_helper_columns=True,
                dataframe_type="pandas",
            )
            td_version = view.get_last_accessed_training_dataset()
        frame = pd.concat([features.reset_index(drop=True), labels.reset_index(drop=True)], axis=1)
        rows = self._current_view_rows(frame, resolved.number, f"training data of {name} v{version}",
                                       _view_group_version(view, MOVIE_SIGNALS.name))
        return rows, int(td_version)

    def read_rejects(self, *, commit: int | None = None) -> pa.Table:
        resolved = self._resolve(commit)
        stored = self.read_rows(SNAPSHOT_REJECTS.name, self.bookkeeping_version)
        return _current_rejects(stored, resolved.number)


_HELPER_FEATURES_SCHEMA = pa.schema([pa.field(f.name, f.dtype) for f in HELPER_FEATURES])


def _view_movies_version(view: Any) -> int:
    return _view_group_version(view, MOVIES.name)


def _view_group_version(view: Any, group: str) -> int:
    for fg in view.query.featuregroups:
        if fg.name == group:
            return int(fg.version)
    raise DataError(f"feature view {view.name} does not read the {group} group (created "
                    "before the signals group existed: create a new view version)")
