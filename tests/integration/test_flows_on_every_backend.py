"""The main job (backfill, training, inference, daily-features) and batch predict on every
backend (the ``backend`` fixture: the embedded store, and Hopsworks through the SDK fake)."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest
from hopsworks_fake import FakeHopsworks

from flows.main import main as main_flow
from movie_ratings.cli import main as cli
from movie_ratings.registry import MODEL_NAME, get_model_registry
from movie_ratings.schema import MOVIE_PREDICTIONS
from movie_ratings.settings import get_settings
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.store import get_feature_store

DAY0 = date(2026, 6, 1)


def test_main_job_and_batch_predict(
    backend: FakeHopsworks | None, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MOVIE_RATINGS_DEMO_SIZE", "4000")
    result = main_flow(source="demo", as_of=DAY0 + timedelta(days=1), days=2,
                       train="always")
    assert [r["flow"] for r in result["runs"]] == [
        "backfill", "training", "inference", "daily-features", "inference"]

    settings = get_settings()
    store, registry = get_feature_store(settings), get_model_registry(settings)
    assert type(store).__name__ == ("LocalFeatureStore" if backend is None else "HopsworksFeatureStore")
    production = registry.production(MODEL_NAME)
    assert production is not None and production.version == 1
    assert production.card.store_commit == 1
    history = store.read_all_rows(MOVIE_PREDICTIONS.name, 1)
    days = sorted(set(history["prediction_date"].to_pylist()))
    assert days == [DAY0, DAY0 + timedelta(days=1)]
    assert pc.all(pc.is_valid(history["predicted_rating"])).as_py()

    capsys.readouterr()
    assert cli(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["commit"] == 2 and status["model"]["production"]["version"] == 1

    snapshot = demo_snapshot(DAY0, size=200, seed=9)
    source = write_snapshot_csv(snapshot, tmp_path / "batch.csv")
    output = tmp_path / "scores.csv"
    assert cli(["predict", "--input", str(source), "--output", str(output)]) == 0
    scored = list(csv.DictReader(output.open()))
    assert len(scored) >= snapshot.num_rows - 5  # a few absurd demo records are quarantined
    assert all(1 <= float(r["predicted_rating"]) <= 10 and r["model_version"] == "1" for r in scored)

    if backend is not None:
        # what Hopsworks was asked to hold: the model and a training dataset of the view
        assert (MODEL_NAME, 1) in backend.registry.models
        view = backend.feature_store.views[("movie_ratings", 1)]
        (training,) = view.training_datasets.values()
        assert production.card.training_dataset_version == 1
        assert training["end_time"].date() == DAY0 + timedelta(days=1)


def _stored(backend: FakeHopsworks | None, home: Path) -> dict[str, object]:
    """Everything stored: the local store's files and sizes, or the rows of every fake group."""
    if backend is None:
        root = home / "store"
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    return {f"{n}_{v}": g.table for (n, v), g in backend.feature_store.groups.items()}


def test_a_feed_that_renames_30_percent_of_the_films_is_refused_with_the_store_unchanged(
    backend: FakeHopsworks | None, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(["backfill", "--source", "demo", "--as-of", DAY0.isoformat()]) == 0
    before = _stored(backend, home)
    assert before

    import pyarrow as pa

    day1 = DAY0 + timedelta(days=1)
    snapshot = demo_snapshot(day1, size=2000)
    titles = snapshot["title"].to_pylist()
    renamed = [f"{t} (renamed)" if t is not None and i % 10 < 3 else t for i, t in enumerate(titles)]
    snapshot = snapshot.set_column(snapshot.schema.get_field_index("title"), "title",
                                   pa.array(renamed, snapshot.schema.field("title").type))
    source = write_snapshot_csv(snapshot, tmp_path / "renamed.csv")
    capsys.readouterr()
    code = cli(["daily", "--source", "csv", "--path", str(source), "--as-of", day1.isoformat()])

    assert code == 1
    assert "BrokenSourceError" in capsys.readouterr().err
    after = _stored(backend, home)
    assert after.keys() == before.keys()
    assert all(after[k] == before[k] if backend is None else after[k].equals(before[k]) for k in before)
