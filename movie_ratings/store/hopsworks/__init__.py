"""The Hopsworks feature store backend: the :class:`FeatureStore` interface over the hsfs SDK.

Every Hopsworks feature-store call of this project sits in this package.

**What is created in the project** (every group declared in :mod:`movie_ratings.schema`;
names and versions explicit; versions of the data groups and of the view come from the
flows' parameters, like the local store):

* ``movies`` and ``movie_genres`` (feature groups, v1 by default): the schema.py features
  plus two bookkeeping columns, ``store_commit`` (the store commit that wrote the row) and
  ``is_tombstone`` (the film left the feed on this snapshot date). Primary key
  (``id``, ``store_commit``), event time ``snapshot_date``, offline only, time travel format
  DELTA (the format the Python client writes directly, without a Spark job).
* ``movies_current`` and ``movie_genres_current`` (same versions): the current row of every
  film (tombstones included), primary key ``id`` and no event time, so an insert replaces a
  film's row; a daily upsert reads these (only the key and compared columns), not the logs.
* ``movie_predictions`` (v1): primary key (``id``, ``model_version``), event time
  ``prediction_date``; an insert upserts on primary key + event time, which is exactly the
  history semantics of :meth:`merge_rows`.
* ``store_commits`` (v1, bookkeeping): one row per store commit, with the commit record.
* ``snapshot_rejects`` (v1, bookkeeping): quarantined records, tagged with their commit.
* ``movie_ratings`` (feature view): ``movies`` joined with ``movie_genres`` on
  (``id``, ``store_commit``), label ``imdb_rating``; the bookkeeping columns are training
  and inference helper columns, never model features.

**One current row per film.** Hopsworks merges offline inserts on primary key + event time,
so a group keyed by ``id`` with event time ``snapshot_date`` is a log with one row per film
and changed day, like the local store's. Here the store commit is also part of the key, so
rows are never overwritten: every store commit only *adds* rows (new and changed films, and
a tombstone for each film that left the feed). A film's current row as of commit ``n`` is
its row with the greatest (``snapshot_date``, ``store_commit``) among rows with
``store_commit <= n``, unless that row is a tombstone; :func:`latest_rows` does this after
every read, for groups, the view and training data alike.

**Both groups are written in lock step**: a film that changed in either group gets a row in
both, with the same snapshot date and store commit, so the view's point-in-time join of
``movie_genres`` onto ``movies`` always finds the genres row written with the movies row
(without it, a film whose genres changed after its other features would be joined with
stale genres).

**What to write** is decided by :mod:`movie_ratings.store.upsert`, the same code as the
embedded store's: this package reads the current rows and writes the plan.

**Store commits** are rows of ``store_commits``, written last: readers only read rows whose
``store_commit`` is at most the commit they read, so rows of a run that died before its
commit record are invisible; the next writer finds them with a filter on ``store_commit``
(read by the Query Service, so only those rows) and removes them (``remove_rows``) before
writing. Rows such a run wrote to a current-rows group are recognised the same way and
restored from the log.
Hopsworks' own time travel (``as_of``) is not used: its Python client refuses time-travel
queries on HUDI and ICEBERG and its Arrow Flight reader does not serve them, so reads as of
an earlier commit filter on ``store_commit`` instead, which works on every format and gives
exactly the rows the commit saw (same-day reruns included). One writer at a time is assumed
(the deployments run one ingest at a time).

Modules: :mod:`.layout` (how each group is laid out: schema, key, statistics, types),
:mod:`.frames` (Arrow tables to and from the SDK's frames), :mod:`.rows` (log rows,
tombstones and their reductions), :mod:`.groups` (SDK handles, commits), :mod:`.writes`
(the snapshot upsert), :mod:`.reads` (groups, the view, training data, rejects),
:mod:`.history` (history groups); :mod:`.store` puts the class together.
"""

from movie_ratings.store.hopsworks.frames import frame_to_table, table_to_frame
from movie_ratings.store.hopsworks.layout import (
    STATISTICS,
    current_group_name,
    hopsworks_group,
    offline_type,
)
from movie_ratings.store.hopsworks.store import (
    HopsworksFeatureStore,
    feature_store_of,
    open_hopsworks_store,
)

__all__ = [
    "STATISTICS",
    "HopsworksFeatureStore",
    "current_group_name",
    "feature_store_of",
    "frame_to_table",
    "hopsworks_group",
    "offline_type",
    "open_hopsworks_store",
    "table_to_frame",
]
