"""Publishing an inference run: the static site and the run's Prefect artifacts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.settings import get_settings
from tasks.predict import LoadedModel, Monitoring, ViewAtCommit

#: Training images shown on the monitoring page (files registered with the model).
PLOTS = ("predicted_vs_actual", "residuals", "feature_importance")


def site_data(view: ViewAtCommit, predictions: pa.Table, result: Monitoring, model: LoadedModel,
              generated_at: datetime) -> Any:
    """The site's input (:class:`movie_ratings.site.SiteData`) from one inference run."""
    from movie_ratings.site import FilmCard, MaePoint, MonitoredFilm, SiteData
    from movie_ratings.site.data import site_model_card

    films = {row["id"]: row for row in view.rows.filter(
        pc.is_in(view.rows["id"], value_set=predictions["id"])).select(
        ["id", "title", "release_date", "status", "genres", "imdb_id", "poster_path", "snapshot_date",
         "overview"]).to_pylist()}
    cards = []
    for row in predictions.select(["id", "predicted_rating", "model_version"]).to_pylist():
        film = films[row["id"]]
        cards.append(FilmCard(
            id=film["id"], title=film["title"] or "", release_date=film["release_date"],
            status=film["status"] or "", genres=tuple(film["genres"] or ()),
            predicted_rating=row["predicted_rating"], model_version=row["model_version"],
            imdb_id=film["imdb_id"], poster_path=film["poster_path"], updated=film["snapshot_date"],
            overview=film["overview"],
        ))
    monitored = tuple(
        MonitoredFilm(id=r["id"], title=r["title"] or "", imdb_id=r["imdb_id"],
                      prediction_date=r["prediction_date"], model_version=r["model_version"],
                      predicted_rating=r["predicted_rating"], actual_rating=r["actual_rating"],
                      imdb_votes=r["imdb_votes"])
        for r in result.films.to_pylist()
    )
    trend = tuple(MaePoint(**r) for r in result.trend.to_pylist())
    plots = {name: model.version.path / f"{name}.png" for name in PLOTS
             if (model.version.path / f"{name}.png").is_file()}
    return SiteData(
        generated_at=generated_at, snapshot_date=view.commit.snapshot_date, source=view.commit.source,
        is_demo=view.commit.is_demo, store_commit=view.commit.number,
        model_card=site_model_card(model.version.card),
        cards=tuple(cards), monitoring=monitored, mae_trend=trend, plots=plots,
    )


@task(name="build-site", cache_policy=NO_CACHE, timeout_seconds=600)
def build_site_task(view: ViewAtCommit, predictions: pa.Table, result: Monitoring,
                    model: LoadedModel) -> Path:
    """Render and publish the site atomically; a failure keeps the previous site."""
    from movie_ratings.site import build_site

    out_dir = get_settings().site_dir
    index = build_site(site_data(view, predictions, result, model, datetime.now(UTC)), out_dir)
    get_run_logger().info("site published: %s (serve it with `movie-ratings site`)", index)
    return index


def inference_summary(model: LoadedModel, view: ViewAtCommit, predictions: pa.Table,
                      result: Monitoring, site: Path, as_of: date) -> dict[str, Any]:
    mae = result.mae
    return {
        "flow": "inference",
        "snapshot_date": as_of.isoformat(),
        "store_commit": view.commit.number,
        "is_demo": view.commit.is_demo,
        "model_version": model.version.version,
        "predicted": predictions.num_rows,
        "monitored_films": result.films.num_rows,
        "live_mae": None if mae is None else round(mae, 4),
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
