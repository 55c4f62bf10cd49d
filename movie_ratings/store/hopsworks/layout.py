"""How each group is laid out in Hopsworks: stored schema, key, event time, statistics,
and the offline types of its columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from movie_ratings.errors import DataError
from movie_ratings.schema import (
    BOOKKEEPING_GROUPS,
    DOCTOR_SCRATCH,
    FEATURE_GROUPS,
    HELPER_FEATURES,
    HISTORY_GROUPS,
    MODEL_PROMOTIONS,
    MOVIE_GENRES,
    MOVIE_PREDICTIONS,
    MOVIE_SIGNALS,
    MOVIES,
    SNAPSHOT_REJECTS,
    STORE_COMMIT,
    STORE_COMMITS,
    FeatureGroupSpec,
)

#: Time travel format of every group: written directly by the Python client (delta-rs).
TIME_TRAVEL_FORMAT = "DELTA"

#: Statistics are computed by Hopsworks on every insert: only where they are worth it.
#: Numeric columns of the data groups (drift of ratings, budgets, counts); none on text
#: and list columns (costly, meaningless) or on bookkeeping groups.
STATISTICS: dict[str, dict[str, Any] | bool] = {
    MOVIES.name: {
        "enabled": True,
        "histograms": True,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": [
            "release_year", "release_month", "runtime", "budget", "n_cast", "n_directors",
            "n_writers", "n_producers", "n_companies", "n_countries", "n_spoken_languages",
            "revenue",
        ],
    },
    MOVIE_SIGNALS.name: {
        "enabled": True,
        "histograms": True,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": list(MOVIE_SIGNALS.value_columns),
    },
    MOVIE_GENRES.name: {
        "enabled": True,
        "histograms": False,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": ["n_genres", *(f.name for f in MOVIE_GENRES.features if f.dtype == pa.int8())],
    },
    MOVIE_PREDICTIONS.name: {
        "enabled": True,
        "histograms": True,
        "correlations": False,
        "exact_uniqueness": False,
        "columns": ["predicted_rating"],
    },
    STORE_COMMITS.name: False,
    SNAPSHOT_REJECTS.name: False,
    MODEL_PROMOTIONS.name: False,
    DOCTOR_SCRATCH.name: False,
}

#: Suffix of the current-rows group kept beside each data group (``movies_current``).
CURRENT_SUFFIX = "_current"


@dataclass(frozen=True)
class HopsworksGroup:
    """How a group is laid out in Hopsworks.

    Attributes:
        spec: the group as declared in schema.py (what readers get back).
        stored: the group as stored (with bookkeeping columns, the Hopsworks key).
        log: True for the data groups stored as a commit-tagged log.
        event_time: the event time Hopsworks is told about: None for a current-rows
            group, so that an insert replaces a film's row instead of adding one per date
            (``DeltaEngine._generate_merge_query`` merges on primary key + event time).
    """

    spec: FeatureGroupSpec
    stored: FeatureGroupSpec
    log: bool
    event_time: str | None

    @property
    def merge_keys(self) -> list[str]:
        """Columns an insert upserts on (and ``remove_rows`` matches)."""
        return list(dict.fromkeys([*self.stored.primary_key,
                                   *([self.event_time] if self.event_time else [])]))


def current_group_name(name: str) -> str:
    """The current-rows group of a data group (``movies`` -> ``movies_current``)."""
    return f"{name}{CURRENT_SUFFIX}"


def hopsworks_group(name: str) -> HopsworksGroup:
    """The Hopsworks layout of a feature group, history group or bookkeeping group.

    Raises:
        DataError: unknown group.
    """
    if name in FEATURE_GROUPS:
        spec = FEATURE_GROUPS[name]
        stored = replace(
            spec,
            features=(*spec.features, *HELPER_FEATURES),
            primary_key=(*spec.primary_key, STORE_COMMIT),
        )
        return HopsworksGroup(spec, stored, log=True, event_time=stored.event_time)
    if name.endswith(CURRENT_SUFFIX) and name[: -len(CURRENT_SUFFIX)] in FEATURE_GROUPS:
        spec = FEATURE_GROUPS[name[: -len(CURRENT_SUFFIX)]]
        stored = replace(
            spec,
            name=name,
            description=(f"Current row of every film in {spec.name} (one row per film, "
                         "replaced on change; a cache of the log's newest rows)."),
            features=(*spec.features, *HELPER_FEATURES),
        )
        return HopsworksGroup(spec, stored, log=False, event_time=None)
    if name in HISTORY_GROUPS:
        spec = HISTORY_GROUPS[name]
        return HopsworksGroup(spec, spec, log=False, event_time=spec.event_time)
    if name in BOOKKEEPING_GROUPS:
        spec = BOOKKEEPING_GROUPS[name]
        return HopsworksGroup(spec, spec, log=False, event_time=spec.event_time)
    raise DataError(f"unknown feature group {name!r}")


_OFFLINE_TYPES: list[tuple[Callable[[pa.DataType], bool], str]] = [
    (pa.types.is_int64, "bigint"),
    (pa.types.is_int32, "int"),
    # The SDK infers "int" for int8/int16 columns and refuses an insert whose types differ
    # from the group's, so the small integers (the one-hot genres) are declared "int".
    (pa.types.is_int16, "int"),
    (pa.types.is_int8, "int"),
    (pa.types.is_float64, "double"),
    (pa.types.is_float32, "float"),
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_date32, "date"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_string, "string"),
]


def offline_type(dtype: pa.DataType) -> str:
    """Hopsworks offline (Hive) type of an Arrow type.

    Raises:
        DataError: a type with no Hopsworks equivalent here.
    """
    if pa.types.is_list(dtype):
        return f"array<{offline_type(dtype.value_type)}>"
    for test, name in _OFFLINE_TYPES:
        if test(dtype):
            return name
    raise DataError(f"no Hopsworks type for Arrow type {dtype}")
