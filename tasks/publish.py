"""Publishing an inference run: the static site and the run's Prefect artifacts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.modeling.explain import NotExplainable
from movie_ratings.schema import LABEL
from movie_ratings.settings import get_settings
from tasks.predict import LoadedModel, Monitoring, ViewAtCommit, with_interval_columns

#: Rated films whose mean features start the model-agnostic explanations.
BACKGROUND_ROWS = 500
#: Training images shown on the monitoring page (files registered with the model).
PLOTS = ("predicted_vs_actual", "residuals", "feature_importance")


def film_histories(history: pa.Table, ids: set[int]) -> dict[int, tuple[Any, ...]]:
    """Per film of ``ids``, its predictions in the history (:class:`PastPrediction`)."""
    from movie_ratings.site import PastPrediction

    history = with_interval_columns(history)
    rows = history.filter(pc.is_in(history["id"], value_set=pa.array(sorted(ids), pa.int64()))).select(
        ["id", "prediction_date", "model_version", "predicted_rating", "rating_low", "rating_high"])
    out: dict[int, list[Any]] = {}
    for r in rows.to_pylist():
        out.setdefault(r.pop("id"), []).append(PastPrediction(**r))
    return {film: tuple(points) for film, points in out.items()}


def explain_cards(pipeline: Any, view_rows: pa.Table, ids: list[int]) -> dict[int, tuple[Any, ...]]:
    """Per film of ``ids``, the contributions to its prediction (:class:`Contribution`),
    computed for those films only.

    Raises:
        NotExplainable: the model is not a pipeline that can be explained.
    """
    from movie_ratings.modeling.explain import explain
    from movie_ratings.site import Contribution

    rows = view_rows.filter(pc.is_in(view_rows["id"], value_set=pa.array(ids, pa.int64())))
    # the starting point of the model-agnostic fallback: rated films (XGBoost needs none)
    rated = view_rows.filter(pc.is_valid(view_rows[LABEL]))
    background = rated.take(np.linspace(0, rated.num_rows - 1, min(BACKGROUND_ROWS, rated.num_rows),
                                        dtype=np.int64)) if rated.num_rows else None
    return {film: tuple(Contribution(label, value) for label, value in e.contributions)
            for film, e in zip(rows["id"].to_pylist(), explain(pipeline, rows, background=background),
                               strict=True)}


def site_data(view: ViewAtCommit, predictions: pa.Table, result: Monitoring, model: LoadedModel,
              generated_at: datetime, history: pa.Table | None = None, drift: Any = None,
              explain: bool = False) -> Any:
    """The site's input (:class:`movie_ratings.site.SiteData`) from one inference run; with
    ``explain``, the films on the home page carry their explanation.

    Raises:
        NotExplainable: ``explain`` is set and the model cannot be explained.
    """
    from dataclasses import replace

    from movie_ratings.site import CoveragePoint, FilmCard, MaePoint, MonitoredFilm, SiteData
    from movie_ratings.site.data import site_model_card
    from movie_ratings.site.render import MONITORING_TABLE_ROWS, monitoring_rows, select_cards

    predictions = with_interval_columns(predictions)
    films = {row["id"]: row for row in view.rows.filter(
        pc.is_in(view.rows["id"], value_set=predictions["id"])).select(
        ["id", "title", "release_date", "status", "genres", "imdb_id", "poster_path", "snapshot_date",
         "overview", LABEL]).to_pylist()}
    cards = []
    for row in predictions.select(["id", "predicted_rating", "model_version", "rating_low",
                                   "rating_high"]).to_pylist():
        film = films[row["id"]]
        cards.append(FilmCard(
            id=film["id"], title=film["title"] or "", release_date=film["release_date"],
            status=film["status"] or "", genres=tuple(film["genres"] or ()),
            predicted_rating=row["predicted_rating"], model_version=row["model_version"],
            imdb_id=film["imdb_id"], poster_path=film["poster_path"], updated=film["snapshot_date"],
            overview=film["overview"], rating_low=row["rating_low"], rating_high=row["rating_high"],
            actual_rating=film[LABEL],
        ))
    monitored = tuple(
        MonitoredFilm(id=r["id"], title=r["title"] or "", imdb_id=r["imdb_id"],
                      prediction_date=r["prediction_date"], model_version=r["model_version"],
                      predicted_rating=r["predicted_rating"], actual_rating=r["actual_rating"],
                      imdb_votes=r["imdb_votes"], rating_low=r.get("rating_low"),
                      rating_high=r.get("rating_high"))
        for r in result.films.to_pylist()
    )
    trend = tuple(MaePoint(**r) for r in result.trend.to_pylist())
    coverage = tuple(CoveragePoint(**r) for r in result.coverage.to_pylist())
    shown = select_cards(cards)
    if explain and shown:
        explained = explain_cards(model.pipeline, view.rows, [c.id for c in shown])
        cards = [replace(c, explanation=explained.get(c.id, ())) for c in cards]
    # detail pages exist for the films on the home page and in the monitoring table only
    detailed = ({c.id for c in shown}
                | {f.id for f in monitoring_rows(monitored)[:MONITORING_TABLE_ROWS]})
    histories = film_histories(history, detailed) if history is not None else {}
    plots = {name: model.version.path / f"{name}.png" for name in PLOTS
             if (model.version.path / f"{name}.png").is_file()}
    return SiteData(
        generated_at=generated_at, snapshot_date=view.commit.snapshot_date, source=view.commit.source,
        is_demo=view.commit.is_demo, store_commit=view.commit.number,
        model_card=site_model_card(model.version.card),
        cards=tuple(cards), monitoring=monitored, mae_trend=trend, plots=plots,
        histories=histories, coverage=coverage, drift=drift,
    )


def publish_site(out_dir: Path, view: ViewAtCommit, predictions: pa.Table, result: Monitoring,
                 model: LoadedModel, history: pa.Table | None = None, drift: Any = None) -> tuple[Path, str | None]:
    """Render the site with explanations of the shown films and publish it into ``out_dir``
    atomically (a failure keeps the previous site).

    Returns:
        The index page, and why the films are not explained (None when they are): a model
        that cannot be explained still gets its site.
    """
    from movie_ratings.site import build_site

    unexplained = None
    try:
        data = site_data(view, predictions, result, model, datetime.now(UTC), history, drift, explain=True)
    except NotExplainable as exc:
        unexplained = str(exc)
        data = site_data(view, predictions, result, model, datetime.now(UTC), history, drift)
    return build_site(data, out_dir), unexplained


@task(name="build-site", cache_policy=NO_CACHE, timeout_seconds=600)
def build_site_task(view: ViewAtCommit, predictions: pa.Table, result: Monitoring,
                    model: LoadedModel, history: pa.Table | None = None, drift: Any = None) -> Path:
    """Render and publish the site atomically; a failure keeps the previous site."""
    index, unexplained = publish_site(get_settings().site_dir, view, predictions, result, model, history, drift)
    if unexplained is not None:
        get_run_logger().warning("site without explanations: %s", unexplained)
    get_run_logger().info("site published: %s (serve it with `movie-ratings site`)", index)
    return index


def inference_summary(model: LoadedModel, view: ViewAtCommit, predictions: pa.Table,
                      result: Monitoring, site: Path, as_of: date, drift: Any = None) -> dict[str, Any]:
    mae = result.mae
    held = result.coverage
    films_with_interval = int(pc.sum(held["films"]).as_py() or 0) if held.num_rows else 0
    return {
        "flow": "inference",
        "snapshot_date": as_of.isoformat(),
        "store_commit": view.commit.number,
        "is_demo": view.commit.is_demo,
        "model_version": model.version.version,
        "predicted": predictions.num_rows,
        "monitored_films": result.films.num_rows,
        "live_mae": None if mae is None else round(mae, 4),
        "interval_coverage": (round(int(pc.sum(held["covered"]).as_py()) / films_with_interval, 4)
                              if films_with_interval else None),
        "drift_alerts": [] if drift is None else [f.feature for f in drift.alerts],
        "site": str(site),
    }


@task(name="publish-inference-report", cache_policy=NO_CACHE)
def publish_inference_report_task(summary: dict[str, Any], predictions: pa.Table) -> None:
    """A predictions table, a link to the site and a short summary as Prefect artifacts."""
    from prefect.artifacts import (
        create_link_artifact,
        create_markdown_artifact,
        create_table_artifact,
    )

    top = predictions.sort_by([("predicted_rating", "descending")]).slice(0, 100)
    rows = [{k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
            for r in top.select(["id", "predicted_rating", "model_version", "status", "release_date"]).to_pylist()]
    create_table_artifact(rows, key="inference-predictions",
                          description=f"top 100 of {predictions.num_rows:,} predictions, {summary['snapshot_date']}")
    create_link_artifact(Path(summary["site"]).resolve().as_uri(), link_text="the movie site (index.html)",
                         key="inference-site", description="serve it with `movie-ratings site`")
    demo = " **[DEMO DATA]**" if summary["is_demo"] else ""
    mae = "not yet known" if summary["live_mae"] is None else f"{summary['live_mae']:.3f}"
    create_markdown_artifact(
        f"# Inference {summary['snapshot_date']}{demo}\n\n"
        f"- films predicted: {summary['predicted']:,} (model v{summary['model_version']}, store commit "
        f"{summary['store_commit']})\n- live MAE over {summary['monitored_films']:,} films predicted before "
        f"their rating: {mae}\n- site: `{summary['site']}`\n",
        key="inference-summary", description="inference run summary")
    get_run_logger().info("summary: %s", summary)
