"""The site's input from one inference run: intervals and real ratings on the cards,
explanations for the shown films only, histories for the films that get a detail page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.pipeline import Pipeline
from xgboost import XGBRegressor

from movie_ratings.modeling.card import ModelCard
from movie_ratings.modeling.encoders import INPUT_COLUMNS, MovieFeatures
from movie_ratings.site.render import select_cards
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from tasks.predict import LoadedModel, ViewAtCommit, monitoring, prediction_rows, snapshot_view_rows
from tasks.publish import film_histories, site_data

AS_OF = date(2026, 5, 1)
NOW = datetime(2026, 5, 1, 6, tzinfo=UTC)


def test_site_data_carries_intervals_explanations_and_histories(tmp_path):
    path = write_snapshot_csv(demo_snapshot(AS_OF, size=1500), tmp_path / "s.csv")
    rows = snapshot_view_rows(path, AS_OF).rows
    rated = rows.filter(pc.is_valid(rows["imdb_rating"]))
    features = MovieFeatures(seed=0)
    matrix = features.fit_transform(rated.select(list(INPUT_COLUMNS)), rated["imdb_rating"].to_numpy())
    estimator = XGBRegressor(n_estimators=20, max_depth=3, n_jobs=1).fit(matrix, rated["imdb_rating"].to_numpy())
    pipeline = Pipeline([("features", features), ("model", estimator)])
    films = rows.slice(0, 30)  # some rated, some not
    predicted = np.full(films.num_rows, 6.5)
    predictions = prediction_rows(films, predicted, model_version=2, prediction_date=AS_OF, store_commit=1,
                                  predicted_at=NOW, low=predicted - 1, high=predicted + 1)
    older = prediction_rows(films.slice(0, 25), np.full(25, 6.0), model_version=1,
                            prediction_date=date(2026, 4, 30), store_commit=1, predicted_at=NOW)
    history = pa.concat_tables([older, predictions])
    commit = SimpleNamespace(snapshot_date=AS_OF, source="demo", is_demo=True, number=1)
    view = ViewAtCommit(rows, commit)
    model = LoadedModel(SimpleNamespace(version=2, card=ModelCard(), path=tmp_path), pipeline)

    data = site_data(view, predictions, monitoring(history, rows), model, NOW, history, explain=True)
    assert len(data.cards) == 30
    assert all((c.rating_low, c.rating_high) == (5.5, 7.5) for c in data.cards)
    actual = dict(zip(films["id"].to_pylist(), films["imdb_rating"].to_pylist(), strict=True))
    assert {c.id: c.actual_rating for c in data.cards} == actual
    shown = {c.id for c in select_cards(data.cards)}
    assert len(shown) == 20
    assert {c.id for c in data.cards if c.explanation} == shown  # only the shown films are explained
    assert set(data.histories) == shown
    twice = set(films.slice(0, 25)["id"].to_pylist())
    for film in shown:
        versions = sorted(p.model_version for p in data.histories[film])
        assert versions == ([1, 2] if film in twice else [2])

    plain = site_data(view, predictions, monitoring(history, rows), model, NOW)
    assert not any(c.explanation for c in plain.cards) and plain.histories == {}


def test_film_histories_reads_old_rows_without_interval_columns():
    films = pa.table({"id": pa.array([1, 2], pa.int64()), "status": ["Planned"] * 2,
                      "release_date": pa.array([None, None], pa.date32()),
                      "imdb_rating": pa.array([None, None], pa.float64())})
    old = prediction_rows(films, np.array([6.0, 7.0]), model_version=1, prediction_date=AS_OF,
                          store_commit=1, predicted_at=NOW).drop_columns(["rating_low", "rating_high"])
    histories = film_histories(old, {2, 3})
    assert list(histories) == [2]
    assert histories[2][0].predicted_rating == 7.0 and histories[2][0].rating_low is None
