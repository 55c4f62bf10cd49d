"""Model-independent features of the ``movies``, ``movie_genres`` and ``movie_signals`` groups.

Only what can be computed from one snapshot row lives here. Encodings that depend on
the training data (label encoders, target encoding, vectorisers) are fitted in training.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.cleaning.parse import ROW
from movie_ratings.cleaning.snapshot import Prefiltered
from movie_ratings.schema import (
    EVENT_TIME,
    GENRES,
    MOVIE_GENRES,
    MOVIE_SIGNALS,
    MOVIES,
    SOURCE_HASH,
    TOP_CAST,
    FeatureGroupSpec,
)
from movie_ratings.store.upsert import KnownUnchanged


@dataclass(frozen=True)
class FeatureTables:
    """Rows for each feature group, keyed by group name.

    ``unchanged``: films of a prefiltered daily whose description rows are left out of
    ``movies`` and ``movie_genres`` (they are stored already); None when every film's
    rows are here.
    """

    tables: dict[str, pa.Table]
    unchanged: KnownUnchanged | None = None

    @property
    def num_rows(self) -> int:
        """Films: every film has a signals row (a prefiltered daily's description groups
        hold only the films whose description changed)."""
        return int(self.tables[MOVIE_SIGNALS.name].num_rows)


def first_item(lists: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """First element of each list; null for null or empty lists."""
    if isinstance(lists, pa.ChunkedArray):
        return pa.chunked_array([first_item(chunk) for chunk in lists.chunks],
                                lists.type.value_type)
    # Taken straight from the items at each list's start offset: no copy of the lists.
    starts = lists.offsets.to_numpy()[:-1]
    missing = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False) == 0
    return lists.values.take(pa.array(starts, pa.int64(), mask=missing))


def list_count(lists: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Number of items per list as int32; 0 for null."""
    return pc.cast(pc.fill_null(pc.list_value_length(lists), 0), pa.int32())


def one_hots(lists: pa.ChunkedArray | pa.Array, values: tuple[str, ...]) -> list[pa.Array]:
    """1 where the list contains the value, else 0 (int8), for each of ``values``, from one
    pass over the lists' items.

    Each item is looked up once in ``values`` (instead of compared with every value in
    turn: 19 passes over 3M genre items for the 1.2M-film snapshot).
    """
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    flat = pc.list_flatten(lists)
    if not pa.types.is_string(flat.type):
        flat = flat.cast(pa.string())
    parents = pc.list_parent_indices(lists).to_numpy()
    codes = pc.fill_null(pc.index_in(flat, value_set=pa.array(values, pa.string())), -1)
    codes = codes.to_numpy(zero_copy_only=False)
    hits = codes >= 0
    out = np.zeros((len(values), len(lists)), dtype=np.int8)
    out[codes[hits], parents[hits]] = 1
    return [pa.array(row) for row in out]


def build_movies(clean: pa.Table, as_of: date) -> pa.Table:
    """Rows of the ``movies`` feature group from a cleaned snapshot.

    Args:
        clean: cleaned snapshot (typed, list columns split, one row per id).
        as_of: snapshot date, the event time of these rows.

    Returns:
        A new table with exactly the columns of :data:`MOVIES`, in order.
    """
    release = clean["release_date"]
    columns = {
        "id": clean["id"],
        EVENT_TIME: event_times(clean.num_rows, as_of),
        "title": clean["title"],
        "original_title": clean["original_title"],
        "status": clean["status"],
        "release_date": release,
        "release_year": pc.cast(pc.year(release), pa.int32()),
        "release_month": pc.cast(pc.month(release), pa.int32()),
        "runtime": clean["runtime"],
        "budget": clean["budget"],
        "original_language": clean["original_language"],
        "first_producer": first_item(clean["producers"]),
        "first_actor": first_item(clean["cast"]),
        "first_company": first_item(clean["production_companies"]),
        "directors": clean["director"],
        "writers": clean["writers"],
        "producers": clean["producers"],
        "top_cast": pc.list_slice(clean["cast"], 0, TOP_CAST),
        "companies": clean["production_companies"],
        "countries": clean["production_countries"],
        "spoken_languages": clean["spoken_languages"],
        "composers": clean["music_composer"],
        "cinematographers": clean["director_of_photography"],
        "n_cast": list_count(clean["cast"]),
        "n_directors": list_count(clean["director"]),
        "n_writers": list_count(clean["writers"]),
        "n_producers": list_count(clean["producers"]),
        "n_companies": list_count(clean["production_companies"]),
        "n_countries": list_count(clean["production_countries"]),
        "n_spoken_languages": list_count(clean["spoken_languages"]),
        "overview": clean["overview"],
        "tagline": clean["tagline"],
        "imdb_id": clean["imdb_id"],
        "poster_path": clean["poster_path"],
        "revenue": clean["revenue"],
        SOURCE_HASH: (clean[SOURCE_HASH] if SOURCE_HASH in clean.column_names
                      else pa.nulls(clean.num_rows, pa.int64())),
    }
    columns["content_hash"] = content_hash({n: columns[n] for n in MOVIES.hashed_columns})
    return _conform(columns, MOVIES)


def build_movie_signals(clean: pa.Table, as_of: date) -> pa.Table:
    """Rows of the ``movie_signals`` group: what the feed recomputes daily (votes, popularity,
    the IMDb rating), apart from what a film is.

    Args:
        clean: cleaned snapshot.
        as_of: snapshot date, the event time of these rows.

    Returns:
        A new table with exactly the columns of :data:`MOVIE_SIGNALS`, in order.
    """
    columns = {
        "id": clean["id"],
        EVENT_TIME: event_times(clean.num_rows, as_of),
        **{n: clean[n] for n in MOVIE_SIGNALS.value_columns},
    }
    return _conform(columns, MOVIE_SIGNALS)


#: Separators of the text a content hash reads: control characters, which cleaning
#: quarantines in any text, so no value can contain them (no two rows join alike).
_ITEM_SEP, _NULL, _FIELD_SEP = "\x1f", "\x00", "\x1e"
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (splitmix64): every input bit moves about half of the output bits."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def content_hash(columns: dict[str, pa.Array | pa.ChunkedArray]) -> pa.Array:
    """A 53-bit hash per row of the given columns, stable across processes and days.

    Texts and lists are joined into one byte string per row (a null is a marker of its
    own, a list's items are kept apart, in order, with their count) and hashed with pandas'
    SipHash; numbers and dates are mixed in by their bits. Equal rows give equal hashes; a
    change in any column changes the hash except with probability about 2**-53. Rows are
    hashed :data:`HASH_CHUNK` at a time, so the joined text never exists for all rows at once.

    Args:
        columns: equally long columns, by name (the order of the dict is part of the hash).

    Returns:
        An int64 array.
    """
    n = len(next(iter(columns.values())))
    chunks = [{k: v.slice(start, HASH_CHUNK) for k, v in columns.items()}
              for start in range(0, n, HASH_CHUNK)]
    # Arrow's joins and the SipHash loop run without the GIL: two chunks at a time.
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        parts = list(pool.map(_content_hash, chunks))
    return pa.array(np.concatenate(parts) if parts else np.array([], np.int64))


#: Rows hashed at once: bounds the joined text and its Python bytes objects (at 1.2M
#: films, hashing every row at once held ~1.3 GB more at the peak).
HASH_CHUNK = 65_536
HASH_THREADS = 2
HASH_MASK = np.uint64((1 << 53) - 1)


def _content_hash(columns: dict[str, pa.Array | pa.ChunkedArray]) -> np.ndarray:
    import pandas as pd

    texts: list[pa.ChunkedArray | pa.Array] = []
    numbers: list[np.ndarray] = []
    for values in columns.values():
        kind = values.type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            items = pc.cast(values, pa.list_(pa.large_string()))
            texts.append(pc.binary_join(items, pa.scalar(_ITEM_SEP, pa.large_string())))
            # with its length, so that [""] and [] differ
            numbers.append(pc.fill_null(pc.list_value_length(values), -1)
                           .to_numpy(zero_copy_only=False).astype(np.uint64))
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            texts.append(pc.cast(values, pa.large_string()))
        else:
            if pa.types.is_date32(kind):
                values = pc.cast(values, pa.int32())
            bits = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False).view(np.uint64)
            missing = pc.is_null(values).to_numpy(zero_copy_only=False)
            numbers.append(np.where(missing, np.uint64(0xFFF8_DEAD_BEEF_0001), bits))
    joined = pc.binary_join_element_wise(*texts, pa.scalar(_FIELD_SEP, pa.large_string()),
                                         null_handling="replace",
                                         null_replacement=_NULL)
    raw = pc.cast(joined, pa.large_binary()).to_numpy(zero_copy_only=False)
    out = pd.util.hash_array(raw, categorize=False)
    for bits in numbers:
        with np.errstate(over="ignore"):
            out = _splitmix(out * _MIX ^ bits)
    # 53 bits: exact through a float64, as the Hopsworks client returns a bigint column
    # with nulls (tombstone rows have no hash) as float64.
    return (out & HASH_MASK).view(np.int64)


def build_movie_genres(clean: pa.Table, as_of: date) -> pa.Table:
    """Rows of the ``movie_genres`` feature group: the genre list and 19 one-hot columns.

    Args:
        clean: cleaned snapshot.
        as_of: snapshot date, the event time of these rows.

    Returns:
        A new table with exactly the columns of :data:`MOVIE_GENRES`, in order.
    """
    genres = clean["genres"]
    columns = {
        "id": clean["id"],
        EVENT_TIME: event_times(clean.num_rows, as_of),
        "genres": genres,
        "n_genres": list_count(genres),
    }
    for col, hot in zip(GENRES.values(), one_hots(genres, tuple(GENRES)), strict=True):
        columns[col] = hot
    return _conform(columns, MOVIE_GENRES)


def event_times(rows: int, as_of: date) -> pa.Array:
    """The event-time column of a snapshot's rows: its date, on every row."""
    return pa.array(np.full(rows, np.datetime64(as_of, "D"))).cast(pa.date32())


def _conform(columns: dict, spec: FeatureGroupSpec) -> pa.Table:
    arrays = []
    for f in spec.features:
        values = columns[f.name]
        arrays.append(values if values.type == f.dtype else pc.cast(values, f.dtype))
    return pa.Table.from_arrays(arrays, schema=spec.arrow_schema)


def build_features(clean: pa.Table, as_of: date, prefiltered: Prefiltered | None = None
                   ) -> FeatureTables:
    """Rows of every feature group from one cleaned snapshot.

    With ``prefiltered`` (a daily's films whose description is stored already, see
    :mod:`movie_ratings.cleaning.prefilter`), ``clean`` holds the other films: the
    description groups get their rows only, the signals group every film's, in file order.
    """
    tables = {
        MOVIES.name: build_movies(clean, as_of),
        MOVIE_GENRES.name: build_movie_genres(clean, as_of),
        MOVIE_SIGNALS.name: build_movie_signals(clean, as_of),
    }
    if prefiltered is None:
        return FeatureTables(tables)
    signals = pa.concat_tables([
        tables[MOVIE_SIGNALS.name],
        build_movie_signals(prefiltered.signals, as_of),
    ])
    order = np.argsort(np.concatenate([prefiltered.cleaned_rows,
                                       prefiltered.signals[ROW].to_numpy()]), kind="stable")
    tables[MOVIE_SIGNALS.name] = signals.take(pa.array(order, pa.int64()))
    return FeatureTables(tables, KnownUnchanged.of(prefiltered.ids, prefiltered.source_hashes,
                                                   prefiltered.commit))


@task(name="build-features", cache_policy=NO_CACHE, timeout_seconds=1800)
def build_features_task(clean: pa.Table, as_of: date, prefiltered: Prefiltered | None = None
                        ) -> FeatureTables:
    """Build the feature-group rows; logs how many."""
    features = build_features(clean, as_of, prefiltered)
    get_run_logger().info(
        "built features for %s films (%s)",
        f"{features.num_rows:,}",
        ", ".join(f"{k}: {v.num_columns} columns" for k, v in features.tables.items()),
    )
    return features
