"""The one place where columns, types, keys and allowed ranges are declared.

Three layers are described here:

* the **raw snapshot**: the 28 columns of Kaggle's ``TMDB_all_movies.csv``, in file order;
* the **feature groups** ``movies``, ``movie_genres`` (what a film is) and ``movie_signals``
  (what moves daily) written to the feature store;
* the **feature view** ``movie_ratings`` that joins them and names the label;
* the **bookkeeping groups** a backend keeps beside them (store commits, rejects, the
  registry's production pointer), and the history group of predictions.

Everything else (cleaning, features, stores, sources) imports from here instead of
repeating column names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import pyarrow as pa

# --------------------------------------------------------------------------------------
# Raw snapshot (Kaggle schema)
# --------------------------------------------------------------------------------------

KAGGLE_DATASET = "alanvourch/tmdb-movies-daily-updates"
KAGGLE_FILE = "TMDB_all_movies.csv"

#: Raw columns in file order, with the type each is coerced to during cleaning.
#: List columns stay strings here (``"A, B"``); cleaning splits them.
RAW_COLUMNS: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "title": pa.string(),
    "vote_average": pa.float64(),
    "vote_count": pa.float64(),
    "status": pa.string(),
    "release_date": pa.date32(),
    "revenue": pa.float64(),
    "runtime": pa.float64(),
    "budget": pa.float64(),
    "imdb_id": pa.string(),
    "original_language": pa.string(),
    "original_title": pa.string(),
    "overview": pa.string(),
    "popularity": pa.float64(),
    "tagline": pa.string(),
    "genres": pa.string(),
    "production_companies": pa.string(),
    "production_countries": pa.string(),
    "spoken_languages": pa.string(),
    "cast": pa.string(),
    "director": pa.string(),
    "director_of_photography": pa.string(),
    "writers": pa.string(),
    "producers": pa.string(),
    "music_composer": pa.string(),
    "imdb_rating": pa.float64(),
    "imdb_votes": pa.float64(),
    "poster_path": pa.string(),
}
RAW_COLUMN_NAMES: tuple[str, ...] = tuple(RAW_COLUMNS)

#: Columns a snapshot must have to be ingested. Every raw column is used by a feature.
REQUIRED_INGEST_COLUMNS: tuple[str, ...] = RAW_COLUMN_NAMES
#: Columns known only after release: never model inputs for a pre-release prediction.
POST_RELEASE_COLUMNS: tuple[str, ...] = (
    "imdb_votes",
    "vote_average",
    "vote_count",
    "popularity",
    "revenue",
)
#: Comma-separated list columns in the raw file (``"Drama, Crime"``).
LIST_COLUMNS: tuple[str, ...] = (
    "genres",
    "production_companies",
    "production_countries",
    "spoken_languages",
    "cast",
    "director",
    "director_of_photography",
    "writers",
    "producers",
    "music_composer",
)
LIST_SEPARATOR = ", "
#: In the raw file 0 means "unknown" for these columns; cleaning turns 0 into null.
ZERO_MEANS_UNKNOWN: tuple[str, ...] = ("budget", "revenue", "runtime", "vote_average")

STATUSES: tuple[str, ...] = (
    "Released",
    "Post Production",
    "In Production",
    "Planned",
    "Rumored",
    "Canceled",
)
UPCOMING_STATUSES: tuple[str, ...] = ("Post Production", "In Production", "Planned")

IMDB_ID_PATTERN = re.compile(r"^tt\d{1,10}$")
POSTER_PATH_PATTERN = re.compile(r"^/[A-Za-z0-9_\-]{1,100}\.(?:jpg|jpeg|png|webp)$")


@dataclass(frozen=True)
class Range:
    """Inclusive bounds a non-null value must fall in; outside them a row is quarantined."""

    low: float | None = None
    high: float | None = None

    def describe(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"[{low}, {high}]"


#: Allowed ranges of raw numeric values, checked after zeros became null.
RAW_RANGES: dict[str, Range] = {
    "id": Range(1, None),
    "vote_average": Range(0, 10),
    "vote_count": Range(0, None),
    "revenue": Range(0, 1e11),
    "runtime": Range(1, 1000),
    "budget": Range(0, 1e10),
    "popularity": Range(0, None),
    "imdb_rating": Range(1, 10),
    "imdb_votes": Range(0, None),
}
EARLIEST_RELEASE_YEAR = 1870
#: Release dates further than this many years after the snapshot date are absurd.
MAX_YEARS_AHEAD = 15

#: If more than this share of a snapshot's rows is quarantined, the source is broken:
#: the run fails and writes nothing.
DEFAULT_MAX_REJECT_FRACTION = 0.10
#: If a snapshot would delete more than this share of the films a feature group holds,
#: it is taken as truncated or broken (a cut file, a partial export): the run fails and
#: writes nothing. The real feed deletes a handful of films a day.
DEFAULT_MAX_DELETE_FRACTION = 0.10
#: If a daily snapshot changes the title, release date, people or genres of more than this
#: share of the stored films, it is taken as broken (a shifted column, a corrupted export):
#: the run fails and writes nothing. Signals the feed recomputes daily (popularity, votes)
#: do not count.
DEFAULT_MAX_DESCRIPTIVE_CHANGE_FRACTION = 0.20

# --------------------------------------------------------------------------------------
# Genres
# --------------------------------------------------------------------------------------

#: The 19 TMDB genres and their one-hot feature names (as in the old notebook).
GENRES: dict[str, str] = {
    "Action": "action",
    "Adventure": "adventure",
    "Animation": "animation",
    "Comedy": "comedy",
    "Crime": "crime",
    "Documentary": "documentary",
    "Drama": "drama",
    "Family": "family",
    "Fantasy": "fantasy",
    "History": "history",
    "Horror": "horror",
    "Music": "music",
    "Mystery": "mystery",
    "Romance": "romance",
    "Science Fiction": "science_fiction",
    "TV Movie": "tv_movie",
    "Thriller": "thriller",
    "War": "war",
    "Western": "western",
}
GENRE_FEATURES: tuple[str, ...] = tuple(GENRES.values())

# --------------------------------------------------------------------------------------
# Feature groups and the feature view
# --------------------------------------------------------------------------------------

PRIMARY_KEY = "id"
EVENT_TIME = "snapshot_date"
LABEL = "imdb_rating"
TOP_CAST = 10

_STR_LIST = pa.list_(pa.string())


@dataclass(frozen=True)
class Feature:
    """One column of a feature group."""

    name: str
    dtype: pa.DataType
    description: str
    #: The stored feature this one is computed from alone (``release_year`` from
    #: ``release_date``): when the source is unchanged, so is this feature.
    derived_from: str | None = None


@dataclass(frozen=True)
class FeatureGroupSpec:
    """Name, keys and columns of a feature group (mirrors a Hopsworks feature group)."""

    name: str
    description: str
    features: tuple[Feature, ...]
    primary_key: tuple[str, ...] = (PRIMARY_KEY,)
    event_time: str = EVENT_TIME
    #: A column holding a hash of every other compared column (see
    #: ``tasks.features.content_hash``): when set, a change is found by this one column.
    content_hash: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def value_columns(self) -> tuple[str, ...]:
        """Columns compared to tell whether a row changed (all but keys and event time)."""
        keys = {*self.primary_key, self.event_time}
        return tuple(n for n in self.column_names if n not in keys)

    @property
    def compared_columns(self) -> tuple[str, ...]:
        """Value columns a change can show up in: derived features follow their source."""
        if self.content_hash is not None:
            return (self.content_hash,)
        return self.hashed_columns

    @property
    def hashed_columns(self) -> tuple[str, ...]:
        """The source value columns (derived ones follow their source), without the hash."""
        derived = {f.name for f in self.features if f.derived_from is not None}
        return tuple(n for n in self.value_columns if n not in derived and n != self.content_hash)

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.name, f.dtype) for f in self.features])


MOVIES = FeatureGroupSpec(
    name="movies",
    description="One row per TMDB film and snapshot date on which its features changed.",
    features=(
        Feature("id", pa.int64(), "TMDB movie id (primary key)."),
        Feature("snapshot_date", pa.date32(), "Date of the snapshot that first showed this version of the row (event time)."),
        Feature("title", pa.string(), "Title as shown on TMDB."),
        Feature("original_title", pa.string(), "Title in the original language."),
        Feature("status", pa.string(), "TMDB production status."),
        Feature("release_date", pa.date32(), "Release date; null when unknown."),
        Feature("release_year", pa.int32(), "Year of release_date.", "release_date"),
        Feature("release_month", pa.int32(), "Month of release_date (1-12).", "release_date"),
        Feature("runtime", pa.float64(), "Runtime in minutes; null when unknown (0 in the raw file)."),
        Feature("budget", pa.float64(), "Budget in USD; null when unknown (0 in the raw file)."),
        Feature("original_language", pa.string(), "ISO 639-1 code of the original language."),
        Feature("first_producer", pa.string(), "First listed producer (as in the old notebook).", "producers"),
        Feature("first_actor", pa.string(), "First billed cast member (as in the old notebook).", "top_cast"),
        Feature("first_company", pa.string(), "First listed production company (as in the old notebook).", "companies"),
        Feature("directors", _STR_LIST, "Directors, in listed order."),
        Feature("writers", _STR_LIST, "Writers, in listed order."),
        Feature("producers", _STR_LIST, "Producers, in listed order."),
        Feature("top_cast", _STR_LIST, f"First {TOP_CAST} billed cast members."),
        Feature("companies", _STR_LIST, "Production companies."),
        Feature("countries", _STR_LIST, "Production countries."),
        Feature("spoken_languages", _STR_LIST, "Spoken languages."),
        Feature("composers", _STR_LIST, "Music composers."),
        Feature("cinematographers", _STR_LIST, "Directors of photography."),
        Feature("n_cast", pa.int32(), "Number of listed cast members."),
        Feature("n_directors", pa.int32(), "Number of listed directors.", "directors"),
        Feature("n_writers", pa.int32(), "Number of listed writers.", "writers"),
        Feature("n_producers", pa.int32(), "Number of listed producers.", "producers"),
        Feature("n_companies", pa.int32(), "Number of production companies.", "companies"),
        Feature("n_countries", pa.int32(), "Number of production countries.", "countries"),
        Feature("n_spoken_languages", pa.int32(), "Number of spoken languages.", "spoken_languages"),
        Feature("overview", pa.string(), "Plot overview text."),
        Feature("tagline", pa.string(), "Tagline text."),
        Feature("imdb_id", pa.string(), "IMDb title id (tt1234567); null when missing or malformed."),
        Feature("poster_path", pa.string(), "TMDB poster path (/abc.jpg); null when missing or malformed."),
        Feature("revenue", pa.float64(), "Revenue in USD (post-release signal); null when unknown."),
        Feature("source_hash", pa.int64(), "Hash of the snapshot record's description fields as read (every raw column but id and the signals): a daily compares it first and cleans only the records whose hash is not the stored one; null in rows written without it."),
        Feature("content_hash", pa.int64(), "Hash of every other column but id and snapshot_date: equal iff they are equal (how a daily update finds unchanged films)."),
    ),
    content_hash="content_hash",
)

#: Column of ``movies`` holding the hash of a film's raw description fields (see
#: :mod:`movie_ratings.cleaning.prefilter`).
SOURCE_HASH = "source_hash"

#: What the feed recomputes every day for a large share of films: kept apart from the
#: films' descriptions, so such a day writes narrow rows here and leaves ``movies`` alone.
MOVIE_SIGNALS = FeatureGroupSpec(
    name="movie_signals",
    description="Daily signals of each film (votes, popularity, IMDb rating): one row per film and snapshot date on which they moved.",
    features=(
        Feature("id", pa.int64(), "TMDB movie id (primary key)."),
        Feature("snapshot_date", pa.date32(), "Date of the snapshot that first showed these values (event time)."),
        Feature("vote_average", pa.float64(), "TMDB vote average (post-release signal)."),
        Feature("vote_count", pa.float64(), "TMDB vote count (post-release signal)."),
        Feature("popularity", pa.float64(), "TMDB popularity (post-release signal)."),
        Feature("imdb_votes", pa.float64(), "IMDb vote count (post-release signal; the old notebook's leak)."),
        Feature("imdb_rating", pa.float64(), "IMDb rating, the label; null until the film is rated."),
    ),
)

MOVIE_GENRES = FeatureGroupSpec(
    name="movie_genres",
    description="Genres of each film: the list and one 0/1 column per TMDB genre.",
    features=(
        Feature("id", pa.int64(), "TMDB movie id (primary key)."),
        Feature("snapshot_date", pa.date32(), "Date of the snapshot that first showed this version of the row (event time)."),
        Feature("genres", _STR_LIST, "Genres, in listed order."),
        Feature("n_genres", pa.int32(), "Number of genres.", "genres"),
        *(Feature(col, pa.int8(), f"1 if the film is tagged {name}, else 0.", "genres")
          for name, col in GENRES.items()),
    ),
)

FEATURE_GROUPS: dict[str, FeatureGroupSpec] = {
    g.name: g for g in (MOVIES, MOVIE_GENRES, MOVIE_SIGNALS)
}
#: Groups describing a film (written in lock step on Hopsworks), as opposed to its signals.
DESCRIPTION_GROUPS: tuple[str, ...] = (MOVIES.name, MOVIE_GENRES.name)


def group_versions(versions: dict[str, int]) -> dict[str, int]:
    """Every feature group's version: the signals, split off ``movies``, follow its version
    unless given (callers name the versions of ``movies`` and ``movie_genres``)."""
    return {MOVIE_SIGNALS.name: versions[MOVIES.name]} | dict(versions)

MOVIE_PREDICTIONS = FeatureGroupSpec(
    name="movie_predictions",
    description=(
        "Every prediction made: which model version predicted what rating, when, for which "
        "film, from which store commit. History is kept: one row per film, model version and "
        "prediction date."
    ),
    features=(
        Feature("id", pa.int64(), "TMDB movie id."),
        Feature("model_version", pa.int32(), "Registry version of the model that predicted."),
        Feature("prediction_date", pa.date32(), "Snapshot date the prediction was made on (event time)."),
        Feature("predicted_rating", pa.float64(), "Predicted IMDb rating (1-10)."),
        Feature("status", pa.string(), "TMDB status of the film when predicted."),
        Feature("release_date", pa.date32(), "Release date known when predicted; null when unknown."),
        Feature("rated_when_predicted", pa.bool_(), "Whether the film already had an IMDb rating when predicted (only unrated ones count in the live score)."),
        Feature("store_commit", pa.int64(), "Feature store commit the features were read at."),
        Feature("predicted_at", pa.timestamp("us", tz="UTC"), "Wall-clock time of the inference run."),
        Feature("rating_low", pa.float64(), "Lower end of the prediction's 80% interval; null when the model had no interval calibration (and in rows written before intervals existed)."),
        Feature("rating_high", pa.float64(), "Upper end of the prediction's 80% interval; null like rating_low."),
    ),
    primary_key=("id", "model_version"),
    event_time="prediction_date",
)

#: Groups written as an append-only history (merge on primary key + event time), not as
#: snapshots: nothing is ever deleted from them.
HISTORY_GROUPS: dict[str, FeatureGroupSpec] = {MOVIE_PREDICTIONS.name: MOVIE_PREDICTIONS}


@dataclass(frozen=True)
class FeatureViewSpec:
    """A join of feature groups on the primary key, with a label (mirrors a Hopsworks view)."""

    name: str
    description: str
    groups: tuple[str, ...]
    label: str
    join_key: str = PRIMARY_KEY
    #: Columns of later groups that repeat a column of an earlier group are dropped.
    exclude: tuple[str, ...] = field(default=(EVENT_TIME,))


MOVIE_RATINGS_VIEW = FeatureViewSpec(
    name="movie_ratings",
    description="Movies joined with their genres and their signals as of the read; label imdb_rating.",
    groups=(MOVIES.name, MOVIE_GENRES.name, MOVIE_SIGNALS.name),
    label=LABEL,
)

#: Columns of a quarantined record (one row per record and reason).
REJECT_FEATURES: tuple[Feature, ...] = (
    Feature("snapshot_date", pa.date32(), "Snapshot date (event time)."),
    Feature("source", pa.string(), "Source of the snapshot."),
    Feature("record", pa.int64(), "Record number in the snapshot file."),
    Feature("id", pa.int64(), "TMDB id when it could be read."),
    Feature("column", pa.string(), "Column that failed."),
    Feature("reason", pa.string(), "Why the record was quarantined."),
    Feature("raw", pa.string(), "The raw record."),
)
REJECTS_SCHEMA = pa.schema([pa.field(f.name, f.dtype) for f in REJECT_FEATURES])


# --------------------------------------------------------------------------------------
# Bookkeeping groups (the Hopsworks backend stores its commits, rejects and the model
# registry's production pointer as feature groups; the embedded store keeps files)
# --------------------------------------------------------------------------------------

#: Bookkeeping column: number of the store commit that wrote the row.
STORE_COMMIT = "store_commit"
#: Bookkeeping column: true on a row that marks the film deleted as of its snapshot date.
TOMBSTONE = "is_tombstone"
HELPER_COLUMNS: tuple[str, ...] = (STORE_COMMIT, TOMBSTONE)
#: The bookkeeping columns a data group is stored with in Hopsworks.
HELPER_FEATURES: tuple[Feature, ...] = (
    Feature(STORE_COMMIT, pa.int64(), "Store commit that wrote this row (bookkeeping; part of the key)."),
    Feature(TOMBSTONE, pa.bool_(), "True when the film left the feed on this snapshot date (bookkeeping)."),
)

STORE_COMMITS = FeatureGroupSpec(
    name="store_commits",
    description="Store commits of the movie-ratings feature store: one row per commit, written last.",
    features=(
        Feature("commit_number", pa.int64(), "Store commit number (1, 2, ...)."),
        Feature("created_at", pa.timestamp("us", tz="UTC"), "When the commit was made (event time)."),
        Feature("snapshot_date", pa.date32(), "Date of the snapshot the commit stores."),
        Feature("source", pa.string(), "Source of the snapshot (demo, csv, kaggle)."),
        Feature("is_demo", pa.bool_(), "True for the simulated demo feed."),
        Feature("record", pa.string(), "The whole commit record as JSON."),
    ),
    primary_key=("commit_number",),
    event_time="created_at",
)

#: Reject columns stored under another name in ``snapshot_rejects``.
SNAPSHOT_REJECTS_RENAMES = {"column": "rejected_column"}

SNAPSHOT_REJECTS = FeatureGroupSpec(
    name="snapshot_rejects",
    description="Records quarantined by cleaning, with the store commit that stored them.",
    features=(
        Feature(STORE_COMMIT, pa.int64(), "Store commit that stored these rejects."),
        Feature("reject_index", pa.int64(), "Position of the reject in its commit."),
        *(replace(f, name=SNAPSHOT_REJECTS_RENAMES.get(f.name, f.name)) for f in REJECT_FEATURES),
    ),
    primary_key=(STORE_COMMIT, "reject_index"),
    event_time="snapshot_date",
)

MODEL_PROMOTIONS = FeatureGroupSpec(
    name="model_promotions",
    description="Production pointer of the model registry: one row per promotion, the latest wins.",
    features=(
        Feature("model_name", pa.string(), "Registry model name."),
        Feature("promoted_at", pa.timestamp("us", tz="UTC"), "When the version was promoted (event time)."),
        Feature("model_version", pa.int32(), "Model version made production."),
        Feature("reason", pa.string(), "Why it was promoted."),
    ),
    primary_key=("model_name",),
    event_time="promoted_at",
)

DOCTOR_SCRATCH = FeatureGroupSpec(
    name="movie_ratings_doctor",
    description="Scratch group of `movie-ratings doctor`: written, read back and deleted.",
    features=(
        Feature("check_id", pa.int64(), "Random id of one doctor run."),
        Feature("checked_at", pa.timestamp("us", tz="UTC"), "When the check ran (event time)."),
        Feature("note", pa.string(), "What wrote the row."),
    ),
    primary_key=("check_id",),
    event_time="checked_at",
)

BOOKKEEPING_GROUPS: dict[str, FeatureGroupSpec] = {
    g.name: g for g in (STORE_COMMITS, SNAPSHOT_REJECTS, MODEL_PROMOTIONS, DOCTOR_SCRATCH)
}
