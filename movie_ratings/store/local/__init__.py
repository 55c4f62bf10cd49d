"""The embedded feature store: Delta Lake tables on local disk.

Layout under the store root::

    groups/<name>_<version>/   one Delta table per feature group version (a log keyed by
                               id + snapshot_date; see :mod:`movie_ratings.store.changes`)
    rejects/                   Delta table of quarantined records
    _commits/<n>.json          store commits: the Delta version of every group, atomically
    _views/<name>_<version>.json  feature view definitions
    history/<name>_<version>/  history groups (predictions): Delta tables merged on primary
                               key + event time, outside store commits (one table per write)
    .write.lock                one writer at a time (flock; released if the process dies)

Why Delta Lake: a real open table format with atomic commits, time travel to any version,
merge by key, and cheap appends (a daily update writes only the changed rows). A write is
made visible by one atomic file creation (the commit record), so a process killed half way
leaves the store readable at its previous commit; the next writer rolls the tables back.
A table whose daily writes have left many small files is compacted within the write that
crosses :data:`~movie_ratings.store.local.delta.COMPACT_AFTER_FILES`, so reads do not slow
down day after day.

Modules: :mod:`.folder` (paths, commit records, the writer lock, roll-back), :mod:`.writes`
(the snapshot upsert), :mod:`.reads` (groups, views, rejects), :mod:`.history` (history
groups), :mod:`.delta` (Delta table files); :mod:`.store` puts the class together.
"""

from movie_ratings.store.local.delta import delta_dataset
from movie_ratings.store.local.folder import StoreLockedError
from movie_ratings.store.local.store import LocalFeatureStore

__all__ = ["LocalFeatureStore", "StoreLockedError", "delta_dataset"]
