"""The real-data benchmark's conversion of the OMDb / Rotten Tomatoes table (bench/real.py)."""

from __future__ import annotations

import sqlite3
import sys
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from movie_ratings.cleaning.parse import read_snapshot_csv
from movie_ratings.cleaning.snapshot import clean_snapshot
from movie_ratings.schema import RAW_COLUMN_NAMES
from movie_ratings.sources.demo import write_snapshot_csv

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is not an installed package
from bench.real import kaggle_snapshot, read_films
from bench.sections import REAL, write_marked

SECTION_START, SECTION_END = REAL.start, REAL.end

OMDB = ("ID", "imdbID", "Title", "Year", "Rating", "Runtime", "Genre", "Released", "Director",
        "Writer", "Cast", "Language", "Country")
TOMATOES = ("ID", "Rating", "Reviews", "BoxOffice", "Production")


def _database(path: Path) -> Path:
    films = [  # id, title, released, genres, writer, cast, critic rating, reviews, box office
        (1, "Old One", "1999-05-01", "Sci-Fi, Drama", "W A", "Ann B, Cid D", 7.5, 40, 1e6),
        (2, "Recent", "2011-03-04", "Musical", "", "Eve F", 6.1, 25, 5e5),
        (3, "Few Reviews", "2005-01-01", "Comedy", "W A", "Ann B", 5.0, 4, None),
        (4, "Unrated", "2003-01-01", "Drama", None, "Ann B", None, 30, None),
        (5, "Too Late", "2016-01-01", "Drama", None, "Ann B", 6.0, 30, None),
    ]
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE omdb ({', '.join(OMDB)})")
        db.execute(f"CREATE TABLE tomatoes ({', '.join(TOMATOES)})")
        for i, title, released, genres, writer, cast, rating, reviews, box in films:
            db.execute("INSERT INTO omdb VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       (i, f"tt{i:07d}", title, int(released[:4]), "R", 100.0, genres, released,
                        "Dee Rector", writer, cast, "English, French", "France"))
            db.execute("INSERT INTO tomatoes VALUES (?,?,?,?,?)", (i, rating, reviews, box, "Studio"))
    return path


def test_films_are_filtered_and_written_in_the_kaggle_schema(tmp_path: Path) -> None:
    films = read_films(_database(tmp_path / "movies.db"))
    assert films["id"].to_pylist() == [1, 2]  # >= 10 reviews, rated, released by 2014
    snapshot = kaggle_snapshot(films, date(2010, 1, 1))
    assert tuple(snapshot.column_names) == RAW_COLUMN_NAMES
    rows = snapshot.to_pylist()
    old, upcoming = rows
    assert old["status"] == "Released" and old["imdb_rating"] == 7.5 and old["imdb_votes"] == 40
    assert old["revenue"] == 1e6 and old["genres"] == "Science Fiction, Drama"
    assert old["original_language"] == "English" and old["spoken_languages"] == "English, French"
    assert old["producers"] is None and old["budget"] is None and old["writers"] == "W A"
    # an upcoming film: nothing known after release, everything else kept
    assert upcoming["status"] == "Post Production"
    assert upcoming["imdb_rating"] is None and upcoming["imdb_votes"] is None
    assert upcoming["revenue"] is None and upcoming["genres"] == "Music"
    assert upcoming["writers"] is None  # an empty OMDb field is unknown, not an empty list
    assert upcoming["cast"] == "Eve F" and upcoming["runtime"] == 100.0

    # the file goes through ingest's cleaning with nothing rejected
    path = write_snapshot_csv(snapshot, tmp_path / "films.csv")
    clean = clean_snapshot(read_snapshot_csv(path), as_of=date(2009, 12, 31), source="csv",
                           max_reject_fraction=0.0)
    assert clean.rejected_rows == 0 and clean.table.num_rows == 2
    assert pc.sum(pc.is_valid(clean.table["imdb_rating"])).as_py() == 1


@pytest.mark.parametrize("existing", [None, "# Benchmark\n\nstages\n",
                                      f"# Benchmark\n\n{SECTION_START}\nold\n{SECTION_END}\n\n## After\n"])
def test_the_section_is_replaced_and_nothing_else(tmp_path: Path, existing: str | None) -> None:
    path = tmp_path / "RESULTS.md"
    if existing is not None:
        path.write_text(existing)
    section = f"{SECTION_START}\nnew numbers\n{SECTION_END}"
    write_marked(REAL, section, path)
    write_marked(REAL, section, path)
    text = path.read_text()
    assert text.count(SECTION_START) == 1 and "new numbers" in text and "\nold\n" not in text
    if existing:
        assert text.startswith("# Benchmark\n")
        assert ("## After" in text) == ("## After" in existing)
