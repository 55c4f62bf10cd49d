"""One chain, two runners: the flows (Prefect tasks) and the benchmark (timed plain steps,
``bench/worker.py``) run the same chain definitions, so on the same demo snapshots they
must leave the same store, register the same model and predict the same ratings."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ is not an installed package
from bench.worker import Stages, run_chain, run_inference, run_training
from flows.backfill import backfill
from flows.daily_features import daily_features
from flows.inference import inference
from flows.training import training
from movie_ratings.registry import MODEL_NAME
from movie_ratings.registry.local import LocalModelRegistry
from movie_ratings.schema import MOVIE_PREDICTIONS
from movie_ratings.sources.demo import demo_snapshot, write_snapshot_csv
from movie_ratings.store import FeatureStore
from movie_ratings.store.local import LocalFeatureStore
from tasks.predict import PREDICTIONS_VERSION

DAY0 = date(2026, 5, 1)
CANDIDATES = ("linear_regression", "xgboost")
#: Columns that record when a row was written, not what it says.
WALL_CLOCK = ("predicted_at",)


def _store_state(store: FeatureStore) -> list[dict[str, Any]]:
    """Per commit: the snapshot date, the counts, and every group's rows (sorted by id)."""
    state = []
    for commit in store.commits():
        groups = {}
        for key, group in sorted(commit.groups.items()):
            rows = store.read_group(group.name, group.version, commit=commit.number)
            groups[key] = (group.rows, rows.sort_by("id"))
        state.append({"commit": commit.number, "snapshot_date": commit.snapshot_date,
                      "counts": commit.to_json().get("counts"), "groups": groups})
    return state


def _without_wall_clock(table: pa.Table) -> pa.Table:
    return table.drop_columns([c for c in WALL_CLOCK if c in table.column_names]).sort_by(
        [("id", "ascending"), ("prediction_date", "ascending")])


@pytest.mark.slow
def test_flows_and_benchmark_run_the_same_chains(home: Path, tmp_path: Path) -> None:
    csvs = []
    for day in (0, 1):
        as_of = DAY0 + timedelta(days=day)
        path = tmp_path / f"demo-{day}.csv"
        write_snapshot_csv(demo_snapshot(as_of, seed=7, size=1500, churn=0.05), path)
        csvs.append((path, as_of))

    # as the flows run them: Prefect tasks, on the settings' store and registry
    backfill(source="csv", path=str(csvs[0][0]), as_of=csvs[0][1])
    daily_features(source="csv", path=str(csvs[1][0]), as_of=csvs[1][1])
    flow_training = training(candidates=list(CANDIDATES), seed=7)
    flow_inference = inference()

    # as the benchmark runs them: plain steps, timed, on their own store and registry
    store_root, registry_root = tmp_path / "bench-store", tmp_path / "bench-registry"
    stages = Stages()
    for (path, as_of), daily in zip(csvs, (False, True), strict=True):
        run_chain(path, as_of, store_root, require_existing=daily, stages=stages, version="",
                  source="csv", is_demo=False)
    bench_training = run_training(store_root, registry_root, seed=7, stages=stages, candidates=CANDIDATES)
    bench_inference = run_inference(store_root, registry_root, tmp_path / "bench-site", stages=stages)

    # the benchmark timed every step of every chain, and the store's own stages inside the upsert
    assert {"read_snapshot_csv", "clean_snapshot", "build_features", "upsert_snapshot",
            "ensure_feature_view", "upsert.read_index", "upsert.diff", "upsert.write_groups",
            "upsert.write_rejects", "upsert.write_commit", "load_training_data", "make_split",
            "fit_candidates", "seed_parity", "evaluate", "score_production", "refit", "register",
            "load_production_model", "read_feature_view", "films_to_predict + predict",
            "save_predictions (merge_rows)", "monitoring", "drift", "build_site"} == set(stages.items)
    assert stages.items["upsert_snapshot"]["calls"] == 2 and stages.items["ensure_feature_view"]["calls"] == 1

    # the same store: the same commits, counts and rows of every group at every commit
    flow_store, bench_store = LocalFeatureStore(home / "store"), LocalFeatureStore(store_root)
    flow_state, bench_state = _store_state(flow_store), _store_state(bench_store)
    assert [s["commit"] for s in flow_state] == [1, 2]
    assert flow_state[1]["counts"]["changed"] > 0  # the daily wrote changes, not nothing
    assert len(flow_state) == len(bench_state)
    for ours, theirs in zip(flow_state, bench_state, strict=True):
        assert (ours["commit"], ours["snapshot_date"], ours["counts"]) == (
            theirs["commit"], theirs["snapshot_date"], theirs["counts"])
        assert ours["groups"].keys() == theirs["groups"].keys()
        for key, (rows, table) in ours["groups"].items():
            assert rows == theirs["groups"][key][0], key
            assert table.equals(theirs["groups"][key][1]), key
    assert flow_store.read_rejects(commit=2).sort_by("record").equals(
        bench_store.read_rejects(commit=2).sort_by("record"))

    # the same model: estimator, hold-out, metrics of every candidate, promotion
    flow_card = LocalModelRegistry(home / "registry").get(MODEL_NAME, flow_training["model_version"]).card
    bench_card = LocalModelRegistry(registry_root).get(MODEL_NAME, bench_training["model_version"]).card
    assert flow_training["promoted"] and bench_training["promoted"]
    assert flow_card.estimator == bench_card.estimator
    assert flow_card.split == bench_card.split and flow_card.store_commit == bench_card.store_commit == 2
    assert flow_card.metrics == bench_card.metrics
    assert flow_card.candidates.keys() == set(CANDIDATES)
    for name, score in flow_card.candidates.items():
        theirs = bench_card.candidates[name]
        assert (score.rmse, score.mae, score.r2) == (theirs.rmse, theirs.mae, theirs.r2), name
    assert flow_card.parity == bench_card.parity and flow_card.recipe == bench_card.recipe
    assert flow_card.refit is not None and bench_card.refit is not None
    assert flow_card.refit.films == bench_card.refit.films

    # the same predictions, written into the same history
    assert flow_inference["predicted"] == bench_inference["predicted"] > 0
    flow_history = flow_store.read_all_rows(MOVIE_PREDICTIONS.name, PREDICTIONS_VERSION)
    bench_history = bench_store.read_all_rows(MOVIE_PREDICTIONS.name, PREDICTIONS_VERSION)
    assert _without_wall_clock(flow_history).equals(_without_wall_clock(bench_history))
    assert pc.min(flow_history["predicted_rating"]).as_py() >= 1.0
