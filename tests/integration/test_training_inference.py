"""training, inference and the main job on a local store and registry in a temporary home."""

from __future__ import annotations

import csv
import json
import logging
import re
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest
from markupsafe import escape

from flows.backfill import backfill
from flows.main import main as main_flow
from movie_ratings.cli import main as cli
from movie_ratings.registry import MODEL_NAME, get_model_registry
from movie_ratings.schema import MOVIE_PREDICTIONS
from movie_ratings.settings import get_settings
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.store import get_feature_store

DAY0 = date(2026, 5, 1)


def _status(capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert cli(["status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_train_registers_promotes_and_keeps_a_better_production(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("MOVIE_RATINGS_DEMO_SIZE", "6000")
    backfill(source="demo", as_of=DAY0)
    assert cli(["train"]) == 0
    production = _status(capsys)["model"]["production"]
    assert production["version"] == 1
    assert {"rmse", "mae", "r2"} <= production.keys()
    parity = production["parity"]
    assert set(parity) == {"old_notebook_random_split", "old_notebook_temporal_no_votes"}
    # The bar: at least 10% lower RMSE than the old recipe (no votes) on the same
    # temporal hold-out, and clearly below the mean baseline.
    assert production["rmse"] <= 0.9 * parity["old_notebook_temporal_no_votes"]["rmse"]
    assert production["rmse"] <= 0.9 * production["baseline"]["rmse"]
    assert production["split"]["kind"] == "temporal"

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts()}
    assert {"training-candidates", "training-summary", "training-predicted-vs-actual",
            "training-residuals", "training-feature-importance"} <= keys

    card = get_model_registry(get_settings()).get(MODEL_NAME, 1).card
    assert card.feature_view.model_dump() == {"name": "movie_ratings", "version": 1}
    assert card.store_commit == 1 and card.is_demo is True
    assert not {"imdb_votes", "vote_count", "vote_average", "popularity", "revenue"} & set(card.input_columns)
    for plot in ("predicted_vs_actual", "residuals", "feature_importance"):
        assert (home / "registry" / MODEL_NAME / "1" / f"{plot}.png").stat().st_size > 1000

    # A worse candidate is registered, not promoted: production is better on the same hold-out.
    assert cli(["train", "--candidates", "decision_tree"]) == 0
    out = capsys.readouterr().out
    assert "not promoted" in out and "production v1" in out
    status = _status(capsys)["model"]
    assert status["production"]["version"] == 1 and status["registered"] == 2
    second = get_model_registry(get_settings()).get(MODEL_NAME, 2).card
    assert second.promotion.promote is False
    # The gate compared recipes: production's (from its card) refitted on this split.
    assert second.production_on_this_holdout.version == 1
    assert second.production_on_this_holdout.recipe == card.recipe
    assert second.production_on_this_holdout.rmse < second.metrics.rmse

    # Inference publishes the site; a corrupt production model fails it with a clear message
    # and the site keeps the last good predictions.
    assert cli(["infer"]) == 0
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts()}
    assert {"inference-predictions", "inference-site", "inference-summary"} <= keys
    site = home / "site"
    before = {p.name: p.read_bytes() for p in site.resolve().glob("*.html")}
    build = site.resolve()
    model_file = home / "registry" / MODEL_NAME / "1" / "model.skops"
    good = model_file.read_bytes()
    model_file.write_bytes(good[: len(good) // 3])
    capsys.readouterr()
    assert cli(["infer"]) == 1
    err = capsys.readouterr().err
    assert f"model {MODEL_NAME} v1" in err and "does not match the SHA-256" in err and str(model_file) in err
    assert site.resolve() == build
    assert {p.name: p.read_bytes() for p in site.resolve().glob("*.html")} == before
    model_file.unlink()
    assert cli(["infer"]) == 1
    assert "missing" in capsys.readouterr().err
    model_file.write_bytes(good)

    # Batch scoring with the production model: bad rows are reported, never dropped silently.
    snapshot = demo_snapshot(DAY0, size=300, seed=5)
    rows = snapshot.to_pylist()
    rows[0]["runtime"] = 5000.0          # absurd: quarantined with its reason
    rows[1]["imdb_rating"] = 42.0        # ignored by the model, so not a reason to reject
    rows[2]["title"] = "<script>alert(1)</script>"
    rows[3]["title"] = '=HYPERLINK("http://evil.example","click")'  # a formula to a spreadsheet
    source = tmp_path / "batch.csv"
    import pyarrow as pa

    write_snapshot_csv(pa.Table.from_pylist(rows, schema=snapshot.schema), source)
    output = tmp_path / "scores.csv"
    assert cli(["predict", "--input", str(source), "--output", str(output)]) == 0
    scored = list(csv.DictReader(output.open()))
    assert len(scored) == snapshot.num_rows - 1
    assert {"id", "predicted_rating", "model_version"} <= scored[0].keys()
    assert all(1 <= float(r["predicted_rating"]) <= 10 and r["model_version"] == "1" for r in scored)
    assert {r["title"] for r in scored if "HYPERLINK" in r["title"]} == {"'" + rows[3]["title"]}
    rejects = list(csv.DictReader((tmp_path / "scores.rejects.csv").open()))
    assert [(r["id"], r["column"]) for r in rejects] == [(str(rows[0]["id"]), "runtime")]


def test_training_on_a_view_without_people_succeeds_and_says_why_parity_is_not_computable(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import pyarrow as pa

    snapshot = demo_snapshot(DAY0, size=1500, seed=11)
    people = ("director", "writers", "cast", "producers", "production_companies")
    for column in people:
        index = snapshot.schema.get_field_index(column)
        snapshot = snapshot.set_column(index, column, pa.nulls(snapshot.num_rows, pa.string()))
    source = write_snapshot_csv(snapshot, tmp_path / "no_people.csv")
    assert cli(["backfill", "--source", "csv", "--path", str(source), "--as-of", DAY0.isoformat()]) == 0
    capsys.readouterr()
    assert cli(["train", "--candidates", "xgboost_tuned,linear_regression"]) == 0
    out = capsys.readouterr().out
    assert "old notebook recipe without votes, same hold-out: not computable: " in out
    assert "refitted on all" in out and "promoted" in out

    version = get_model_registry(get_settings()).get(MODEL_NAME, 1)
    card = version.card
    for name in ("old_notebook_random_split", "old_notebook_temporal_no_votes"):
        parity = card.parity[name]
        assert not parity.computable and "first_producer" in parity.not_computable
    assert card.baseline.computable and card.metrics.rmse < card.baseline.rmse
    labelled = card.split.train_rows + card.split.test_rows
    assert card.refit.films == labelled
    status = _status(capsys)["model"]["production"]
    assert status["parity"]["old_notebook_temporal_no_votes"]["not_computable"]
    capsys.readouterr()
    assert cli(["status"]) == 0
    assert "seed parity old_notebook_temporal_no_votes: not computable: " in capsys.readouterr().out


def test_predict_without_a_production_model_is_a_clear_error(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_snapshot_csv(demo_snapshot(DAY0, size=50), tmp_path / "in.csv")
    assert cli(["predict", "--input", str(source), "--output", str(tmp_path / "out.csv")]) == 1
    assert "no production model" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


SECRET = "planted-secret-7f3a9c1e"


def test_main_job_predicts_every_day_and_scores_predictions_once_films_are_rated(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # 10k films: enough for a week of new films and first ratings (the demo is deterministic).
    monkeypatch.setenv("MOVIE_RATINGS_DEMO_SIZE", "10000")
    # Credentials in the environment must never reach a log, artifact, card, store or page.
    for name in ("KAGGLE_KEY", "KAGGLE_API_TOKEN", "HOPSWORKS_API_KEY"):
        monkeypatch.setenv(name, SECRET)
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    days = 7
    last = DAY0 + timedelta(days=days - 1)
    result = main_flow(source="demo", as_of=last, days=days)
    flows = [r["flow"] for r in result["runs"]]
    assert flows == ["backfill", "training", "inference", *["daily-features", "inference"] * (days - 1)]

    store = get_feature_store(get_settings())
    history = store.read_all_rows(MOVIE_PREDICTIONS.name, 1)
    by_day = {}
    for day, film in zip(history["prediction_date"].to_pylist(), history["id"].to_pylist(), strict=True):
        by_day.setdefault(day, set()).add(film)
    assert sorted(by_day) == [DAY0 + timedelta(days=d) for d in range(days)]

    # A film a daily update brought is predicted by the next inference.
    first_view = store.read_feature_view("movie_ratings", 1, commit=1)
    known_at_start = set(first_view["id"].to_pylist())
    new_and_predicted = by_day[last] - known_at_start
    assert new_and_predicted, "no film added by a daily update was predicted"

    # Films predicted before their rating existed, and rated since, are scored live.
    inference_runs = [r for r in result["runs"] if r["flow"] == "inference"]
    assert inference_runs[-1]["monitored_films"] > 0 and inference_runs[-1]["live_mae"] is not None
    blind = history.filter(pc.invert(history["rated_when_predicted"]))
    latest = store.read_feature_view("movie_ratings", 1)
    rated_now = set(latest.filter(pc.is_valid(latest["imdb_rating"]))["id"].to_pylist())
    scored_live = set(blind["id"].to_pylist()) & rated_now
    assert len(scored_live) == inference_runs[-1]["monitored_films"]

    # The site: 20 cards with ratings and valid links, a non-empty monitoring page, demo banner.
    index = (home / "site" / "index.html").read_text()
    assert index.count('class="card"') == 20 or len(re.findall(r'<article[^>]*class="[^"]*card', index)) == 20
    assert "DEMO DATA" in index
    # every card explains its rating and links its detail page, which shows its history
    assert index.count('<div class="explanation">') == 20
    # training calibrated 80% intervals on its hold-out: every card shows one
    assert index.count('<span class="interval"') == 20
    pages = re.findall(r'<a class="details" href="(film-[0-9]+\.html)">', index)
    assert len(pages) == 20 and all((home / "site" / p).is_file() for p in pages)
    assert 'id="history-table"' in (home / "site" / pages[0]).read_text()
    links = re.findall(r'href="(https://www\.(?:imdb|themoviedb)\.[^"]+)"', index)
    assert len(set(links)) == 20  # poster, title and link of a card share one URL
    assert all(re.fullmatch(r"https://www\.imdb\.com/title/tt\d{7,10}/|https://www\.themoviedb\.org/movie/\d+", u)
               for u in links)
    monitoring_page = (home / "site" / "monitoring.html").read_text()
    assert "DEMO DATA" in monitoring_page
    # Drift: the demo's upcoming films are sparse but the same kind as at training time, so
    # no run alerts; the comparison with the training films is on the page, as information.
    assert [r["drift_alerts"] for r in inference_runs] == [[] for _ in inference_runs]
    assert 'id="drift-alert"' not in monitoring_page and 'id="drift-no-baseline"' not in monitoring_page
    assert "PSI vs films predicted at training time" in monitoring_page
    drift_table = re.search(r'<table id="drift-table">.*?</table>', monitoring_page, re.S).group(0)
    assert drift_table.count("<tr") == 1 + 12 + ("imdb_rating" in drift_table)
    psis = [(float(a), b) for a, b in re.findall(
        r'<td class="num">([0-9.]+)</td><td class="num">([0-9.]+|—)</td>', drift_table)]
    assert max(a for a, _ in psis) >= 0.25  # far from the training films, by nature
    assert all(b != "—" and float(b) < 0.1 for _, b in psis[:12])  # unchanged since training
    titles = dict(zip(latest["id"].to_pylist(), latest["title"].to_pylist(), strict=True))
    for film in scored_live:
        assert str(escape(titles[film])) in monitoring_page  # as the templates escape

    # No planted secret anywhere: every file written, the logs, the run results.
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(result, default=str)
    leaks = [p for p in home.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == []
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
    assert artifacts and not [a.key for a in artifacts if SECRET in json.dumps(a.data, default=str)]
    assert "drift computed in" in caplog.text  # the runs' logs are captured here...
    # ...and none warned (nor made an artifact), neither of drift nor of a missing baseline
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and "drift" in r.getMessage()]
