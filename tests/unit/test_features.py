"""Feature functions: list helpers, the ``movies`` and ``movie_genres`` rows, on tiny inline tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from movie_ratings.cleaning.parse import read_snapshot_csv
from movie_ratings.cleaning.snapshot import clean_snapshot
from movie_ratings.schema import (
    GENRE_FEATURES,
    GENRES,
    LIST_COLUMNS,
    MOVIE_GENRES,
    MOVIE_SIGNALS,
    MOVIES,
    RAW_COLUMN_NAMES,
    RAW_COLUMNS,
    TOP_CAST,
)
from tasks.features import (
    build_features,
    build_movie_genres,
    build_movie_signals,
    build_movies,
    content_hash,
    first_item,
    list_count,
    one_hots,
)

STR_LIST = pa.list_(pa.string())
AS_OF = date(2026, 3, 4)
#: What a cleaned snapshot looks like: raw columns in file order, list columns split.
CLEAN_SCHEMA = pa.schema(
    [pa.field(n, STR_LIST if n in LIST_COLUMNS else t) for n, t in RAW_COLUMNS.items()]
)


def clean_table(*rows: dict) -> pa.Table:
    """A cleaned snapshot with the given values; every other column is null."""
    return pa.Table.from_pylist(
        [dict.fromkeys(RAW_COLUMN_NAMES) | row for row in rows], schema=CLEAN_SCHEMA
    )


def full_row(movie_id: int = 1, **overrides) -> dict:
    row = {
        "id": movie_id,
        "title": "Heat",
        "vote_average": 7.9,
        "vote_count": 7000.0,
        "status": "Released",
        "release_date": date(1995, 12, 15),
        "revenue": 187_436_818.0,
        "runtime": 170.0,
        "budget": 60_000_000.0,
        "imdb_id": "tt0113277",
        "original_language": "en",
        "original_title": "Heat",
        "overview": "Obsessive master thief.",
        "popularity": 40.5,
        "tagline": "A Los Angeles crime saga",
        "genres": ["Action", "Crime", "Drama", "Thriller"],
        "production_companies": ["Regency", "Forward Pass", "Warner Bros."],
        "production_countries": ["United States of America"],
        "spoken_languages": ["English", "Spanish"],
        "cast": ["Al Pacino", "Robert De Niro", "Val Kilmer"],
        "director": ["Michael Mann"],
        "director_of_photography": ["Dante Spinotti"],
        "writers": ["Michael Mann"],
        "producers": ["Art Linson", "Michael Mann"],
        "music_composer": ["Elliot Goldenthal"],
        "imdb_rating": 8.3,
        "imdb_votes": 750_000.0,
        "poster_path": "/heat.jpg",
    }
    return row | overrides


def lists(*values: list | None) -> pa.Array:
    return pa.array(list(values), STR_LIST)


# --------------------------------------------------------------------------------------
# first_item / list_count / one_hots


def one_hot(lists: pa.ChunkedArray | pa.Array, value: str) -> pa.Array:
    return one_hots(lists, (value,))[0]
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "b"], "a"),
        (["only"], "only"),
        ([], None),
        (None, None),
        ([None, "b"], None),
        ([""], ""),
    ],
)
def test_first_item(value: list | None, expected: str | None) -> None:
    out = first_item(lists(value))
    assert out.type == pa.string()
    assert out.to_pylist() == [expected]


def test_first_item_keeps_rows_aligned_over_chunks_and_empty_input() -> None:
    chunked = pa.chunked_array([lists(["a"], []), lists(None, ["b", "c"])])
    assert first_item(chunked).to_pylist() == ["a", None, None, "b"]
    assert first_item(lists()).to_pylist() == []
    assert first_item(lists(None, None)).to_pylist() == [None, None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(["a", "b", "c"], 3), (["a"], 1), ([], 0), (None, 0), ([None], 1), (["a", "a"], 2)],
)
def test_list_count_is_zero_for_null_and_empty(value: list | None, expected: int) -> None:
    out = list_count(lists(value))
    assert out.type == pa.int32()
    assert out.to_pylist() == [expected]


def test_list_count_over_chunks() -> None:
    chunked = pa.chunked_array([lists(["a", "b"]), lists(None, [], ["c"])])
    assert list_count(chunked).to_pylist() == [2, 0, 0, 1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["Drama"], 1),
        (["Comedy", "Drama"], 1),
        (["Drama", "Drama"], 1),
        (["Comedy"], 0),
        (["drama"], 0),  # exact match: case matters
        (["DRAMA"], 0),
        ([" Drama"], 0),  # no trimming
        (["Drama Queen"], 0),  # no substring match
        ([], 0),
        (None, 0),
        ([None], 0),
        ([None, "Drama"], 1),
    ],
)
def test_one_hot(value: list | None, expected: int) -> None:
    out = one_hot(lists(value), "Drama")
    assert out.type == pa.int8()
    assert out.to_pylist() == [expected]


def test_one_hots_equal_one_hot_of_each_value() -> None:
    base = lists(["x", "y"], None, [], ["z"], [None, "y"], ["y", "y", "x"])
    chunked = pa.chunked_array([base.slice(0, 2), base.slice(2)])
    values = ("x", "y", "w")
    assert [h.to_pylist() for h in one_hots(chunked, values)] == [
        one_hot(chunked, v).to_pylist() for v in values
    ] == [[1, 0, 0, 0, 0, 1], [1, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]]


def test_one_hot_aligns_rows_for_sliced_and_chunked_input() -> None:
    base = lists(["x"], ["y"], ["x"], None, ["z", "x"])
    assert one_hot(base.slice(1), "x").to_pylist() == [0, 1, 0, 1]
    chunked = pa.chunked_array([base.slice(0, 2), base.slice(2)])
    assert one_hot(chunked, "x").to_pylist() == [1, 0, 1, 0, 1]
    assert one_hot(pa.chunked_array([], STR_LIST), "x").to_pylist() == []


# --------------------------------------------------------------------------------------
# build_movies
# --------------------------------------------------------------------------------------

#: The old notebook's features, plus what the issue adds.
NOTEBOOK_FEATURES = (
    "budget", "runtime", "release_year", "original_language", "first_producer",
    "first_actor", "first_company", "imdb_votes",
)  # fmt: skip
ISSUE_FEATURES = (
    "release_month", "directors", "writers", "top_cast", "companies", "countries",
    "spoken_languages", "n_cast", "n_directors", "n_writers", "n_producers", "n_companies",
    "n_countries", "n_spoken_languages", "overview", "tagline", "title", "imdb_rating",
    "status", "release_date", "snapshot_date", "imdb_id", "poster_path",
)  # fmt: skip


def test_movies_schema_is_exactly_the_spec() -> None:
    out = build_movies(clean_table(full_row(1), {"id": 2}), AS_OF)
    assert out.schema == MOVIES.arrow_schema
    assert out.column_names == list(MOVIES.column_names)
    assert out.schema.metadata is None


@pytest.mark.parametrize("name", NOTEBOOK_FEATURES + ISSUE_FEATURES)
def test_view_has_required_feature(name: str) -> None:
    """Every required feature is in the view: the description in movies, the daily signals
    (votes, the label) in movie_signals."""
    assert name in MOVIES.column_names or name in MOVIE_SIGNALS.column_names


def test_genre_one_hots_are_the_nineteen_notebook_columns() -> None:
    assert GENRE_FEATURES == (
        "action", "adventure", "animation", "comedy", "crime", "documentary", "drama",
        "family", "fantasy", "history", "horror", "music", "mystery", "romance",
        "science_fiction", "tv_movie", "thriller", "war", "western",
    )  # fmt: skip
    head = ("id", "snapshot_date", "genres", "n_genres")
    assert MOVIE_GENRES.column_names == (*head, *GENRE_FEATURES)


def test_categories_stay_raw_values_not_training_encodings() -> None:
    """Encodings fitted on training data (label/target codes) must not be features."""
    out = build_movies(clean_table(full_row(1)), AS_OF)
    numeric_ok = {"id", "release_year", "release_month", "content_hash", "source_hash"} | {
        n for n in MOVIES.column_names if n.startswith("n_")
    }
    for field in out.schema:
        if pa.types.is_integer(field.type):
            assert field.name in numeric_ok, field.name
    for name in ("original_language", "first_producer", "first_actor", "first_company", "status"):
        assert out.schema.field(name).type == pa.string()
    assert not [n for n in out.column_names if "encod" in n or n.endswith("_code")]
    row = out.to_pylist()[0]
    assert (row["original_language"], row["first_actor"]) == ("en", "Al Pacino")


def test_movies_values_of_a_full_row() -> None:
    row = build_movies(clean_table(full_row(7)), AS_OF).to_pylist()[0]
    assert row == {
        "id": 7,
        "snapshot_date": AS_OF,
        "title": "Heat",
        "original_title": "Heat",
        "status": "Released",
        "release_date": date(1995, 12, 15),
        "release_year": 1995,
        "release_month": 12,
        "runtime": 170.0,
        "budget": 60_000_000.0,
        "original_language": "en",
        "first_producer": "Art Linson",
        "first_actor": "Al Pacino",
        "first_company": "Regency",
        "directors": ["Michael Mann"],
        "writers": ["Michael Mann"],
        "producers": ["Art Linson", "Michael Mann"],
        "top_cast": ["Al Pacino", "Robert De Niro", "Val Kilmer"],
        "companies": ["Regency", "Forward Pass", "Warner Bros."],
        "countries": ["United States of America"],
        "spoken_languages": ["English", "Spanish"],
        "composers": ["Elliot Goldenthal"],
        "cinematographers": ["Dante Spinotti"],
        "n_cast": 3,
        "n_directors": 1,
        "n_writers": 1,
        "n_producers": 2,
        "n_companies": 3,
        "n_countries": 1,
        "n_spoken_languages": 2,
        "overview": "Obsessive master thief.",
        "tagline": "A Los Angeles crime saga",
        "imdb_id": "tt0113277",
        "poster_path": "/heat.jpg",
        "revenue": 187_436_818.0,
        "source_hash": None,  # cleaned without the ingest chain's source hash
        "content_hash": row["content_hash"],
    }
    assert isinstance(row["content_hash"], int)
    signals = build_movie_signals(clean_table(full_row(7)), AS_OF).to_pylist()[0]
    assert signals == {"id": 7, "snapshot_date": AS_OF, "vote_average": 7.9, "vote_count": 7000.0,
                       "popularity": 40.5, "imdb_votes": 750_000.0, "imdb_rating": 8.3}


def test_movies_all_null_row() -> None:
    row = build_movies(clean_table({"id": 1}), AS_OF).to_pylist()[0]
    counts = {k: v for k, v in row.items() if k.startswith("n_")}
    assert counts and set(counts.values()) == {0}
    assert row["id"] == 1
    assert row["snapshot_date"] == AS_OF
    others = {k: v for k, v in row.items()
              if k not in counts and k not in ("id", "snapshot_date", "content_hash")}
    assert set(others.values()) == {None}


def test_movies_empty_lists() -> None:
    empty = {name: [] for name in LIST_COLUMNS}
    row = build_movies(clean_table({"id": 1, **empty}), AS_OF).to_pylist()[0]
    assert (row["first_producer"], row["first_actor"], row["first_company"]) == (None, None, None)
    assert row["top_cast"] == []
    assert row["directors"] == []
    assert {k: v for k, v in row.items() if k.startswith("n_")} == {
        "n_cast": 0, "n_directors": 0, "n_writers": 0, "n_producers": 0, "n_companies": 0,
        "n_countries": 0, "n_spoken_languages": 0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("release", "year", "month"),
    [
        (date(2020, 5, 1), 2020, 5),
        (date(1999, 12, 31), 1999, 12),
        (date(1895, 1, 1), 1895, 1),
        (date(2040, 2, 29), 2040, 2),
        (None, None, None),
    ],
)
def test_release_year_and_month(release: date | None, year: int | None, month: int | None) -> None:
    out = build_movies(clean_table({"id": 1, "release_date": release}), AS_OF)
    assert out["release_year"].to_pylist() == [year]
    assert out["release_month"].to_pylist() == [month]
    assert out["release_date"].to_pylist() == [release]


@pytest.mark.parametrize(
    ("cast", "top"),
    [
        ([f"actor {i}" for i in range(TOP_CAST + 3)], [f"actor {i}" for i in range(TOP_CAST)]),
        ([f"actor {i}" for i in range(TOP_CAST)], [f"actor {i}" for i in range(TOP_CAST)]),
        (["b", "a"], ["b", "a"]),
        ([], []),
        (None, None),
    ],
)
def test_top_cast_keeps_the_first_billed_in_order(cast: list | None, top: list | None) -> None:
    out = build_movies(clean_table({"id": 1, "cast": cast}), AS_OF)
    assert out["top_cast"].to_pylist() == [top]
    assert out["n_cast"].to_pylist() == [len(cast or [])]  # counts the full cast, not the top


@pytest.mark.parametrize(
    ("feature", "raw"),
    [
        ("directors", "director"),
        ("writers", "writers"),
        ("producers", "producers"),
        ("companies", "production_companies"),
        ("countries", "production_countries"),
        ("spoken_languages", "spoken_languages"),
        ("composers", "music_composer"),
        ("cinematographers", "director_of_photography"),
        ("title", "title"),
        ("original_title", "original_title"),
        ("overview", "overview"),
        ("tagline", "tagline"),
        ("imdb_id", "imdb_id"),
        ("poster_path", "poster_path"),
        ("budget", "budget"),
        ("runtime", "runtime"),
    ],
)
def test_movies_carries_raw_column(feature: str, raw: str) -> None:
    clean = clean_table(full_row(1), {"id": 2}, full_row(3))
    assert build_movies(clean, AS_OF)[feature].to_pylist() == clean[raw].to_pylist()


@pytest.mark.parametrize(
    ("feature", "raw"),
    [
        ("first_producer", "producers"),
        ("first_actor", "cast"),
        ("first_company", "production_companies"),
    ],
)
def test_first_features_take_the_first_listed(feature: str, raw: str) -> None:
    clean = clean_table(
        {"id": 1, raw: ["B", "A"]}, {"id": 2, raw: []}, {"id": 3, raw: None}, {"id": 4, raw: ["Z"]}
    )
    assert build_movies(clean, AS_OF)[feature].to_pylist() == ["B", None, None, "Z"]


def test_movies_one_row_per_input_row_in_input_order() -> None:
    clean = clean_table(full_row(30), {"id": 10}, full_row(20, title="Other"))
    out = build_movies(clean, AS_OF)
    assert out.num_rows == 3
    assert out["id"].to_pylist() == [30, 10, 20]
    assert out["title"].to_pylist() == ["Heat", None, "Other"]
    assert out["snapshot_date"].to_pylist() == [AS_OF] * 3


def test_movies_over_a_multi_chunk_input() -> None:
    clean = pa.concat_tables([clean_table(full_row(1)), clean_table({"id": 2}, full_row(3))])
    assert clean["id"].num_chunks == 2
    out = build_movies(clean, AS_OF)
    assert out.schema == MOVIES.arrow_schema
    assert out["id"].to_pylist() == [1, 2, 3]
    assert out["first_actor"].to_pylist() == ["Al Pacino", None, "Al Pacino"]
    assert out["snapshot_date"].to_pylist() == [AS_OF] * 3


def test_movies_casts_compatible_input_types_to_the_spec() -> None:
    clean = clean_table(full_row(1))
    clean = clean.set_column(0, "id", clean["id"].cast(pa.int32()))
    clean = clean.set_column(
        RAW_COLUMN_NAMES.index("title"), "title", clean["title"].cast(pa.large_string())
    )
    out = build_movies(clean, AS_OF)
    assert out.schema == MOVIES.arrow_schema
    assert out["id"].to_pylist() == [1]


@pytest.mark.parametrize(
    "builder", [build_movies, build_movie_genres], ids=["movies", "movie_genres"]
)
def test_empty_input_gives_an_empty_table_with_the_spec_schema(builder) -> None:
    spec = MOVIES if builder is build_movies else MOVIE_GENRES
    out = builder(CLEAN_SCHEMA.empty_table(), AS_OF)
    assert out.num_rows == 0
    assert out.schema == spec.arrow_schema


@pytest.mark.parametrize(
    ("builder", "missing"),
    [
        (build_movies, "id"),
        (build_movies, "release_date"),
        (build_movies, "cast"),
        (build_movies, "producers"),
        (build_movie_signals, "imdb_rating"),
        (build_movies, "poster_path"),
        (build_movie_genres, "genres"),
        (build_movie_genres, "id"),
    ],
)
def test_missing_input_column_fails_naming_it(builder, missing: str) -> None:
    clean = clean_table(full_row(1)).drop_columns([missing])
    with pytest.raises(KeyError, match=missing):
        builder(clean, AS_OF)


def test_movies_does_not_need_genres() -> None:
    out = build_movies(clean_table(full_row(1)).drop_columns(["genres"]), AS_OF)
    assert out.num_rows == 1


@pytest.mark.parametrize("builder", [build_movies, build_movie_genres, build_features])
def test_input_is_not_mutated_and_output_is_deterministic(builder) -> None:
    clean = clean_table(full_row(1), {"id": 2, "cast": [], "genres": ["Drama"]}, full_row(3))
    before_schema, before_rows = clean.schema, clean.to_pylist()
    first = builder(clean, AS_OF)
    second = builder(clean, AS_OF)
    assert clean.schema == before_schema
    assert clean.to_pylist() == before_rows
    if builder is build_features:
        assert first.tables.keys() == second.tables.keys()
        for name in first.tables:
            assert first.tables[name].equals(second.tables[name])
    else:
        assert first.equals(second)


def test_snapshot_date_is_the_as_of_date_not_the_release() -> None:
    clean = clean_table(full_row(1), {"id": 2})
    for day in (date(2020, 1, 1), date(2026, 12, 31)):
        out = build_movies(clean, day)
        assert out["snapshot_date"].type == pa.date32()
        assert out["snapshot_date"].to_pylist() == [day, day]


# --------------------------------------------------------------------------------------
# build_movie_genres
# --------------------------------------------------------------------------------------


def test_movie_genres_schema_is_exactly_the_spec() -> None:
    out = build_movie_genres(clean_table(full_row(1), {"id": 2}), AS_OF)
    assert out.schema == MOVIE_GENRES.arrow_schema
    assert out.column_names == list(MOVIE_GENRES.column_names)


@pytest.mark.parametrize(("genre", "column"), list(GENRES.items()))
def test_each_genre_sets_only_its_column(genre: str, column: str) -> None:
    row = build_movie_genres(clean_table({"id": 1, "genres": [genre]}), AS_OF).to_pylist()[0]
    assert {c: row[c] for c in GENRE_FEATURES} == {c: int(c == column) for c in GENRE_FEATURES}
    assert row["n_genres"] == 1


@pytest.mark.parametrize(
    ("genres", "hot", "n"),
    [
        (["Action", "Crime", "Drama", "Thriller"], {"action", "crime", "drama", "thriller"}, 4),
        (["Science Fiction", "TV Movie"], {"science_fiction", "tv_movie"}, 2),
        (["Sci-Fi", "Kids"], set(), 2),  # unknown genres: counted, no one-hot
        (["science fiction", "DRAMA", "tv movie"], set(), 3),  # case and spelling matter
        (["Drama", "Drama"], {"drama"}, 2),
        (["Drama", "Noir"], {"drama"}, 2),
        ([], set(), 0),
        (None, set(), 0),
    ],
)
def test_genre_one_hot(genres: list | None, hot: set[str], n: int) -> None:
    out = build_movie_genres(clean_table({"id": 1, "genres": genres}), AS_OF)
    row = out.to_pylist()[0]
    assert {c for c in GENRE_FEATURES if row[c]} == hot
    assert {row[c] for c in GENRE_FEATURES} <= {0, 1}
    assert row["n_genres"] == n
    assert row["genres"] == genres


def test_movie_genres_rows_align_with_input() -> None:
    clean = pa.concat_tables(
        [
            clean_table({"id": 5, "genres": ["Western"]}, {"id": 3, "genres": None}),
            clean_table({"id": 4, "genres": ["Horror", "Western"]}),
        ]
    )
    out = build_movie_genres(clean, AS_OF)
    assert out["id"].to_pylist() == [5, 3, 4]
    assert out["western"].to_pylist() == [1, 0, 1]
    assert out["horror"].to_pylist() == [0, 0, 1]
    assert out["snapshot_date"].to_pylist() == [AS_OF] * 3


# --------------------------------------------------------------------------------------
# build_features
# --------------------------------------------------------------------------------------


def test_build_features_returns_both_groups_with_the_same_rows() -> None:
    clean = clean_table(full_row(2), {"id": 1})
    features = build_features(clean, AS_OF)
    assert set(features.tables) == {MOVIES.name, MOVIE_GENRES.name, MOVIE_SIGNALS.name}
    assert features.num_rows == 2
    assert features.tables[MOVIES.name].equals(build_movies(clean, AS_OF))
    assert features.tables[MOVIE_SIGNALS.name].equals(build_movie_signals(clean, AS_OF))
    assert features.tables[MOVIE_GENRES.name].equals(build_movie_genres(clean, AS_OF))
    for table in features.tables.values():
        assert table["id"].to_pylist() == [2, 1]


def test_the_inline_clean_schema_matches_real_cleaning(tmp_path: Path) -> None:
    """Guards the fixtures: a cleaned snapshot really has the schema these tests build."""
    path = tmp_path / "snap.csv"
    path.write_text(
        ",".join(RAW_COLUMN_NAMES) + "\n"
        '1,A film,6.5,120,Released,2020-05-01,0,101,0,tt0000001,en,A film,"Text",3.2,,'
        '"Drama, Crime",Studio A,France,French,"Actor A, Actor B",Director D,,Writer W,'
        "Producer P,,7.1,1500,/p1.jpg\n"
    )
    clean = clean_snapshot(
        read_snapshot_csv(path), as_of=AS_OF, source="csv", max_reject_fraction=0.5
    ).table
    assert clean.schema == CLEAN_SCHEMA
    out = build_features(clean, AS_OF)
    assert out.tables[MOVIES.name].schema == MOVIES.arrow_schema
    assert out.tables[MOVIE_GENRES.name]["crime"].to_pylist() == [1]
    assert out.tables[MOVIES.name]["first_actor"].to_pylist() == ["Actor A"]


@pytest.mark.parametrize("spec", [MOVIES, MOVIE_GENRES], ids=lambda s: s.name)
def test_a_derived_feature_is_a_function_of_its_source_alone(spec, tmp_path: Path) -> None:
    """Change detection skips derived columns: each must follow from its source column."""
    from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv

    day = date(2026, 2, 1)
    path = write_snapshot_csv(demo_snapshot(day, size=3000), tmp_path / "s.csv")
    clean = clean_snapshot(read_snapshot_csv(path), as_of=day, source="t", max_reject_fraction=1)
    table = build_features(clean.table, day).tables[spec.name]
    derived = [f for f in spec.features if f.derived_from is not None]
    assert derived
    for feature in derived:
        seen: dict[str, object] = {}
        sources = table[feature.derived_from].to_pylist()
        for source, value in zip(sources, table[feature.name].to_pylist(), strict=True):
            assert seen.setdefault(repr(source), value) == value, (feature.name, source)


# --------------------------------------------------------------------------------------
# the signals group and the content hash
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["imdb_rating", "imdb_votes", "vote_count", "vote_average",
                                  "popularity"])
def test_signals_carry_the_daily_values_and_movies_does_not(name: str) -> None:
    clean = clean_table(full_row(1), {"id": 2}, full_row(3))
    assert build_movie_signals(clean, AS_OF)[name].to_pylist() == clean[name].to_pylist()
    assert name not in MOVIES.column_names


def _hash_of(row: dict) -> int:
    return build_movies(clean_table(row), AS_OF)["content_hash"][0].as_py()


def test_content_hash_is_equal_for_equal_descriptive_columns() -> None:
    base = _hash_of(full_row(1))
    assert _hash_of(full_row(1)) == base
    # the id, the date and the daily signals are not part of it
    assert _hash_of(full_row(2)) == base
    assert build_movies(clean_table(full_row(1)), AS_OF.replace(day=1))["content_hash"][0].as_py() == base
    signals = {"imdb_rating": 1.5, "imdb_votes": 3.0, "vote_count": 9.0, "vote_average": 2.0,
               "popularity": 0.5}
    assert _hash_of(full_row(1) | signals) == base


@pytest.mark.parametrize("column", MOVIES.hashed_columns)
def test_content_hash_changes_with_every_descriptive_column(column: str) -> None:
    """Each hashed column changed alone (to another value, or to null) changes the hash."""
    movies = build_movies(clean_table(full_row(1)), AS_OF)
    columns = {n: movies[n] for n in MOVIES.hashed_columns}
    base = content_hash(columns)[0].as_py()
    assert base == movies["content_hash"][0].as_py()
    value = movies[column][0].as_py()
    kind = movies.schema.field(column).type
    if isinstance(value, list):
        others = [[*value, "Someone Else"], value[::-1], None, [*value[:-1], value[-1] + "x"]]
    elif isinstance(value, str):
        others = [value + "x", None, ""]
    elif isinstance(value, date):
        others = [date(value.year, value.month, value.day % 28 + 1), None]
    else:
        others = [(value or 0) + 1, None if value is not None else 2]
    for other in others:
        if other == value:
            continue
        changed = columns | {column: pa.chunked_array([pa.array([other], kind)])}
        assert content_hash(changed)[0].as_py() != base, (column, other)


def test_content_hash_tells_an_empty_list_from_a_null_and_from_one_empty_item() -> None:
    lists = [None, [], [""], ["", ""], ["a"], ["a", ""]]
    hashes = content_hash({"x": pa.array(lists, pa.list_(pa.string()))}).to_pylist()
    assert len(set(hashes)) == len(lists)
    texts = [None, "", "a", "a b"]
    assert len(set(content_hash({"t": pa.array(texts)}).to_pylist())) == len(texts)
