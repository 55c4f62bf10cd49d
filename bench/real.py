"""``python -m bench.real``: the model on real films, against the mean and the old recipe.

The data is the OMDb / Rotten Tomatoes table that ships in the PyPI package
``bokeh-sampledata`` (``bokeh_sampledata.movies_data.movie_path``, an SQLite file with the
tables ``omdb`` and ``tomatoes``, joined on ``ID``): films with at least 10 critic
reviews and a critic rating. It is written in the Kaggle 28-column schema, **the critic
``Rating`` (0-10) as the label ``imdb_rating``** (this is not IMDb's audience rating),
``Reviews`` as ``imdb_votes`` and ``BoxOffice`` as ``revenue``. Films released before
2010 are released and rated; the 2010-2014 films are written as upcoming ones (status Post
Production, no rating, votes or revenue). The file then goes through the same chains as
``movie-ratings backfill --source csv``, ``train`` and ``infer`` (the pure chains of
:mod:`bench.worker`), and the upcoming films' predictions are scored against their real
critic ratings, beside the mean of the training ratings and the old notebook's recipe on
the same split (its features without ``imdb_votes``, label codes fitted on all rows,
default XGBoost).

Nothing here is tuned to this table: it is a yardstick, and the same code must also win
on IMDb-rated data.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.sections import REAL, write_marked
from movie_ratings.schema import LABEL, LIST_SEPARATOR, RAW_COLUMNS

#: Films released from this date on are the upcoming ones; the snapshot is dated the day before.
CUTOFF = date(2010, 1, 1)
LAST_YEAR = 2014
MIN_REVIEWS = 10
#: OMDb genre names that TMDB spells differently (the others are kept as they are).
GENRE_NAMES = {"Sci-Fi": "Science Fiction", "Musical": "Music"}
#: The short run of the test suite: a seeded sample of this many films.
SHORT_FILMS = 3_000

_QUERY = """
SELECT o.ID AS id, o.imdbID AS imdb_id, o.Title AS title, o.Released AS released,
       o.Runtime AS runtime, o.Genre AS genres, o.Director AS director, o.Writer AS writers,
       o.Cast AS "cast", o.Language AS language, o.Country AS country,
       t.Rating AS critic_rating, t.Reviews AS reviews, t.BoxOffice AS box_office,
       t.Production AS production
FROM omdb AS o JOIN tomatoes AS t ON o.ID = t.ID
WHERE t.Reviews >= ? AND t.Rating IS NOT NULL AND o.Released IS NOT NULL
ORDER BY o.ID
"""


def database_path() -> Path:
    """The SQLite file of ``bokeh-sampledata`` (a dev dependency)."""
    from bokeh_sampledata.movies_data import movie_path

    return Path(movie_path)


def read_films(db_path: Path, *, min_reviews: int = MIN_REVIEWS, last_year: int = LAST_YEAR) -> pa.Table:
    """Rated films with at least ``min_reviews`` critic reviews, released up to ``last_year``."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as connection:
        cursor = connection.execute(_QUERY, (min_reviews,))
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})
    released = pc.cast(table["released"], pa.date32())
    table = table.set_column(table.column_names.index("released"), "released", released)
    keep = pc.less_equal(pc.year(released), last_year)
    return table.filter(keep)


def sample_films(films: pa.Table, limit: int | None, seed: int) -> pa.Table:
    """A seeded random sample of ``limit`` films (all of them when None)."""
    if limit is None or limit >= films.num_rows:
        return films
    rows = np.random.default_rng(seed).choice(films.num_rows, limit, replace=False)
    return films.take(np.sort(rows))


def _list_text(values: pa.ChunkedArray) -> pa.Array:
    """OMDb's ``"A, B"`` lists as they are; an empty string is unknown (null)."""
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _genres(values: pa.ChunkedArray) -> pa.Array:
    out = []
    for text in values.to_pylist():
        items = [GENRE_NAMES.get(g.strip(), g.strip()) for g in (text or "").split(",") if g.strip()]
        out.append(LIST_SEPARATOR.join(dict.fromkeys(items)) or None)
    return pa.array(out, pa.string())


def kaggle_snapshot(films: pa.Table, cutoff: date = CUTOFF) -> pa.Table:
    """The films in the Kaggle schema: rated before ``cutoff``, upcoming from it on.

    Upcoming films get status Post Production and no rating, votes or revenue; nothing
    else about them changes (they keep their cast, crew, runtime and release date).
    """
    n = films.num_rows
    upcoming = pc.greater_equal(films["released"], pa.scalar(cutoff, pa.date32()))
    null_float = pa.nulls(n, pa.float64())
    null_text = pa.nulls(n, pa.string())

    def released_only(values: Any) -> pa.Array:
        return pc.if_else(upcoming, pa.scalar(None, pa.float64()), pc.cast(values, pa.float64()))

    languages = _list_text(films["language"])
    first_language = pc.utf8_trim_whitespace(
        pc.list_element(pc.split_pattern(pc.fill_null(languages, ""), ","), 0))
    columns: dict[str, Any] = {
        "id": pc.cast(films["id"], pa.int64()),
        "title": pc.cast(films["title"], pa.string()),
        "vote_average": null_float,
        "vote_count": null_float,
        "status": pc.if_else(upcoming, "Post Production", "Released"),
        "release_date": films["released"],
        "revenue": released_only(films["box_office"]),
        "runtime": pc.cast(films["runtime"], pa.float64()),
        "budget": null_float,
        "imdb_id": pc.cast(films["imdb_id"], pa.string()),
        "original_language": pc.if_else(pc.equal(first_language, ""), pa.scalar(None, pa.string()),
                                        first_language),
        "original_title": pc.cast(films["title"], pa.string()),
        "overview": null_text,
        "popularity": null_float,
        "tagline": null_text,
        "genres": _genres(films["genres"]),
        "production_companies": _list_text(films["production"]),
        "production_countries": _list_text(films["country"]),
        "spoken_languages": languages,
        "cast": _list_text(films["cast"]),
        "director": _list_text(films["director"]),
        "director_of_photography": null_text,
        "writers": _list_text(films["writers"]),
        "producers": null_text,
        "music_composer": null_text,
        "imdb_rating": released_only(films["critic_rating"]),
        "imdb_votes": released_only(films["reviews"]),
        "poster_path": null_text,
    }
    return pa.table({name: pc.cast(columns[name], dtype) for name, dtype in RAW_COLUMNS.items()})


def old_recipe_metrics(view: pa.Table, truth: dict[int, float], train_ids: np.ndarray,
                       test_ids: np.ndarray, seed: int) -> dict[str, float]:
    """The old notebook's recipe on the same split: its features without ``imdb_votes``,
    label codes fitted on all rows, default XGBoost.

    Its ``dropna()`` is left out: this table has no producers, so it would keep no film.
    """
    from tasks.parity import OLD_NOTEBOOK_FEATURES, fit_old_notebook

    ids = view["id"].to_numpy()
    labels = np.array([truth.get(int(i), np.nan) for i in ids])
    rows = view.set_column(view.column_names.index(LABEL), LABEL, pa.array(labels, pa.float64()))
    position = {int(i): k for k, i in enumerate(ids)}
    train = np.array([position[int(i)] for i in train_ids], dtype=np.int64)
    test = np.array([position[int(i)] for i in test_ids], dtype=np.int64)
    features = tuple(f for f in OLD_NOTEBOOK_FEATURES if f != "imdb_votes")
    return fit_old_notebook(rows, train, test, features, seed)


def run_real(workdir: Path, *, limit: int | None = None, seed: int = 42,
             candidates: tuple[str, ...] | None = None, db_path: Path | None = None) -> dict[str, Any]:
    """Write the snapshot, backfill it, train, predict the upcoming films and score them.

    Returns:
        A JSON-ready result: data sizes, each model's metrics on the upcoming films, the
        registered model's card summary and the time of each step.
    """

    from bench.worker import Stages, run_chain, run_training
    from movie_ratings.modeling.artifacts import predict_ratings
    from movie_ratings.modeling.explain import explain
    from movie_ratings.registry.local import LocalModelRegistry
    from movie_ratings.schema import MOVIE_RATINGS_VIEW
    from movie_ratings.sources.demo import write_snapshot_csv
    from movie_ratings.store.local import LocalFeatureStore
    from tasks.evaluate import information_level, regression_metrics
    from tasks.predict import films_to_predict, interval_bounds, load_production_model

    db_path = db_path or database_path()
    started = time.perf_counter()
    stages = Stages()
    all_films = read_films(db_path)
    films = sample_films(all_films, limit, seed)
    snapshot = kaggle_snapshot(films)
    csv = write_snapshot_csv(snapshot, workdir / "real-films.csv")
    as_of = CUTOFF - timedelta(days=1)
    store_root, registry_root = workdir / "store", workdir / "registry"
    ingest = run_chain(csv, as_of, store_root, require_existing=False, stages=stages,
                       version=f"bokeh-sampledata films={films.num_rows}", source="csv", is_demo=False)
    training = run_training(store_root, registry_root, seed=seed, stages=stages, candidates=candidates)
    with stages.stage("predict upcoming"):
        model = load_production_model(LocalModelRegistry(registry_root))
        view = LocalFeatureStore(store_root).read_feature_view(MOVIE_RATINGS_VIEW.name, 1)
        # the rated films of the last weeks are predicted too, but only the unrated count
        upcoming = films_to_predict(view, as_of)
        upcoming = upcoming.filter(pc.is_null(upcoming[LABEL]))
        predicted = predict_ratings(model.pipeline, upcoming)
    truth = dict(zip(films["id"].to_pylist(), films["critic_rating"].to_pylist(), strict=True))
    test_ids = upcoming["id"].to_numpy()
    actual = np.array([truth[int(i)] for i in test_ids], dtype=np.float64)
    labelled = view.filter(pc.is_valid(view[LABEL]))
    train_labels = labelled[LABEL].to_numpy()
    # the 80% intervals of the card's calibration, as `predict` writes them
    low, high = interval_bounds(model.version.card, upcoming, predicted)
    intervals = None
    if low is not None and high is not None:
        intervals = {"coverage": float(np.mean((actual >= low) & (actual <= high))),
                     "mean_width": float(np.mean(high - low)),
                     "prediction_inside": bool(np.all((predicted >= low) & (predicted <= high)))}
    with stages.stage("explain 20 films"):
        explained = len(explain(model.pipeline, upcoming.slice(0, 20), background=labelled.slice(0, 32)))
    with stages.stage("old recipe"):
        old = old_recipe_metrics(view, truth, labelled["id"].to_numpy(), test_ids, seed)
    models = {
        "ours": regression_metrics(actual, predicted),
        "mean": regression_metrics(actual, np.full(len(actual), train_labels.mean())),
        "old_recipe": old,
    }
    levels = information_level(upcoming)
    by_level = {int(k): {"films": int((levels == k).sum()),
                         **regression_metrics(actual[levels == k], predicted[levels == k])}
                for k in np.unique(levels)}
    return {
        "films": all_films.num_rows, "sampled": films.num_rows, "seed": seed,
        "train_films": int(labelled.num_rows), "upcoming_films": len(actual),
        "ingest": {k: ingest[k] for k in ("rows_read", "rows_kept", "rejected")},
        "model": {k: training[k] for k in ("model_version", "estimator", "split", "metrics",
                                           "baseline", "candidates", "preprocessing_s")},
        "parity": training["parity"],
        "metrics": models, "by_information_level": by_level, "intervals": intervals,
        "explained": explained,
        "ratio_to_old": models["ours"]["rmse"] / old["rmse"],
        "stages": {k: round(v["wall_s"], 2) for k, v in stages.items.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }


def interval_line(intervals: dict[str, Any] | None) -> str:
    """One sentence on the 80% intervals of the upcoming films."""
    if not intervals:
        return "80% intervals: not computable (the production card has no interval calibration)."
    return (f"80% intervals (calibrated on the training hold-out): they held the real critic rating "
            f"for **{intervals['coverage']:.1%}** of the upcoming films (target 75-90%), mean width "
            f"{intervals['mean_width']:.2f}; every prediction inside its interval: "
            f"{'yes' if intervals['prediction_inside'] else 'no'}.")


def render_section(result: dict[str, Any], meta: dict[str, Any]) -> str:
    """The Markdown section of RESULTS.md (between its markers)."""
    m = result["metrics"]
    limit = ("all" if result["sampled"] == result["films"]
             else f"a seeded sample (seed {result['seed']}) of {result['sampled']:,} of the")
    lines = [
        REAL.start,
        "## Real-data benchmark (critic ratings, not IMDb's)",
        "",
        f"Generated by `{meta['command']}` on {meta['started']} UTC in {result['seconds']:.0f} s; "
        f"code {meta['code']}; machine: {meta['machine']}; load average (1 min) at start / end: "
        f"{meta['load_start']:.2f} / {meta['load_end']:.2f} (2 cores shared with other work).",
        "",
        f"Data: `bokeh-sampledata` (OMDb + Rotten Tomatoes), {limit} {result['films']:,} films "
        f"with at least {MIN_REVIEWS} critic reviews and a critic rating, released 1940-{LAST_YEAR}. "
        "The label is the **critic rating** (Rotten Tomatoes' average, 0-10), written as "
        "`imdb_rating`; it is not IMDb's audience rating. Backfilled through the csv source "
        f"({result['ingest']['rows_kept']:,} films kept, {result['ingest']['rejected']} rejected), "
        f"trained on the {result['train_films']:,} films released before {CUTOFF}, then the "
        f"{result['upcoming_films']:,} films of {CUTOFF.year}-{LAST_YEAR}, stored as upcoming "
        "(Post Production, no rating, votes or revenue), predicted by the production model and "
        "scored against their real critic ratings.",
        "",
        "| model | RMSE | MAE | R² |",
        "|---|---:|---:|---:|",
        f"| ours (registered v{result['model']['model_version']}: `{result['model']['estimator']}`) "
        f"| **{m['ours']['rmse']:.4f}** | {m['ours']['mae']:.4f} | {m['ours']['r2']:.4f} |",
        f"| old notebook recipe (features without votes, label codes over all rows, default XGBoost) "
        f"| {m['old_recipe']['rmse']:.4f} | {m['old_recipe']['mae']:.4f} | {m['old_recipe']['r2']:.4f} |",
        f"| mean of the training ratings | {m['mean']['rmse']:.4f} | {m['mean']['mae']:.4f} "
        f"| {m['mean']['r2']:.4f} |",
        "",
        f"Ours / old recipe RMSE: **{result['ratio_to_old']:.3f}x** (goal <= 0.90x); the "
        "registered model is the chosen recipe refitted on every rated film.",
        "",
        interval_line(result.get("intervals")),
        "",
        "Training hold-out (the newest 20% of the pre-2010 films) of each candidate, which "
        "chose the registered one: " + ", ".join(
            f"`{name}` {c['rmse']:.4f}" for name, c in sorted(
                result["model"]["candidates"].items(), key=lambda kv: kv[1]["rmse"])) + ".",
        "",
        "Upcoming films by information level (how many of director, cast, runtime and "
        "overview are known; this table has no overviews): " + "; ".join(
            f"{k} known: {v['films']:,} films, RMSE {v['rmse']:.4f}"
            for k, v in sorted(result["by_information_level"].items())) + ".",
        "",
        "Seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in result["stages"].items()) + ".",
        REAL.end,
    ]
    return "\n".join(lines)


def meta_now(command: str) -> dict[str, Any]:
    from bench.proc import REPO
    from bench.report import code_version, machine

    info = machine()
    return {
        "command": command, "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "code": code_version(REPO), "load_start": os.getloadavg()[0],
        "machine": f"{info['cores']} cores, {info['ram_gb']:.0f} GB, {info['cpu']}, "
                   f"Python {info['python']}, xgboost {info['xgboost']}, "
                   f"scikit-learn {info['scikit-learn']}",
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench.real`` (``make bench-real``)."""
    from bench.proc import REPO

    parser = argparse.ArgumentParser(prog="python -m bench.real", description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None,
                        help=f"a seeded sample of this many films (default: all; the test suite uses {SHORT_FILMS:,})")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--candidates", default=None, help="comma-separated candidates (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md",
                        help="the report whose real-data section is replaced (default bench/RESULTS.md)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw result here")
    parser.add_argument("--write-csv", type=Path, default=None, metavar="FILE",
                        help="only write the films in the Kaggle schema to FILE (for "
                             "`movie-ratings backfill --source csv --path FILE --as-of 2009-12-31`)")
    args = parser.parse_args(argv)
    if args.write_csv:
        from movie_ratings.sources.demo import write_snapshot_csv

        films = sample_films(read_films(database_path()), args.limit, args.seed)
        write_snapshot_csv(kaggle_snapshot(films), args.write_csv)
        print(f"{films.num_rows:,} films written to {args.write_csv}; snapshot date "
              f"{CUTOFF - timedelta(days=1)}")
        return 0
    command = "python -m bench.real" + (" " + " ".join(argv if argv is not None else sys.argv[1:])
                                        if (argv if argv is not None else sys.argv[1:]) else "")
    meta = meta_now(command)
    candidates = tuple(c for c in (args.candidates or "").split(",") if c) or None
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory(prefix="movie-ratings-real-") as tmp:
        os.environ["MOVIE_RATINGS_HOME"] = tmp
        result = run_real(Path(tmp), limit=args.limit, seed=args.seed, candidates=candidates)
    meta["load_end"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    section = render_section(result, meta)
    write_marked(REAL, section, args.out)
    print(section)
    print(f"section written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
