"""The typed model card: old cards still load, unknown keys survive, bad cards are clear
errors, and the site and summaries show comparisons that could not be computed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movie_ratings.errors import DataError
from movie_ratings.modeling.card import Comparison, ModelCard
from movie_ratings.registry.local import LocalModelRegistry
from movie_ratings.site.data import site_model_card
from movie_ratings.summary import training_line

#: A card as written before the card was typed (and before recipes and refits existed).
OLD_CARD = {
    "description": "xgboost_tuned predicting the IMDb rating before release", "estimator": "xgboost_tuned",
    "metrics": {"mse": 0.556, "rmse": 0.7458, "mae": 0.5925, "r2": 0.6052, "films": 120445},
    "baseline": {"mse": 1.43, "rmse": 1.1991, "mae": 0.95, "r2": -0.0001},
    "parity": {"old_notebook_random_split": {"mse": 0.98, "rmse": 0.9928, "mae": 0.7, "r2": 0.3,
                                             "rows": 400000, "features": 27}},
    "candidates": {"xgboost_tuned": {"mse": 0.556, "rmse": 0.7458, "mae": 0.5925, "r2": 0.6052,
                                     "fit_seconds": 46.7, "trees": 287}},
    "text_ablation": {"model": "xgboost", "with_text": {"rmse": 0.7482}, "fit_seconds": 13.0},
    "production_on_this_holdout": {"version": 1, "mse": 0.6, "rmse": 0.77, "mae": 0.6, "r2": 0.58},
    "promotion": {"promote": True, "reason": "rmse 0.7458 beats production v1's 0.7700 on the same hold-out"},
    "params": {"split": "temporal", "test_size": 0.2, "test_start": None, "candidates": ["xgboost_tuned"],
               "seed": 42},
    "split": {"kind": "temporal", "train_rows": 488184, "test_rows": 120445, "test_size": 0.1979,
              "test_start": "2019-03-01", "seed": None},
    "input_columns": ["runtime"], "features": ["runtime"], "label": "imdb_rating",
    "feature_view": {"name": "movie_ratings", "version": 1}, "store_commit": 3,
    "training_dataset_version": None, "snapshot_date": "2026-11-20", "source": "demo", "is_demo": True,
    "code_commit": "abc", "created_at": "2026-11-20T10:00:00+00:00", "preprocessing_seconds": 60.5,
    "name": "movie_ratings_model", "version": 2, "registered_at": "2026-11-20T10:01:00+00:00",
    "some_future_key": {"kept": True},
}


def _stored(tmp_path: Path, card: dict) -> Path:
    folder = tmp_path / "registry" / "movie_ratings_model" / "2"
    folder.mkdir(parents=True)
    (folder / "card.json").write_text(json.dumps(card))
    return tmp_path / "registry"


def test_an_old_card_loads_from_the_registry_with_typed_fields(tmp_path: Path) -> None:
    version = LocalModelRegistry(_stored(tmp_path, OLD_CARD)).get("movie_ratings_model", 2)
    card = version.card
    assert version.metric("rmse") == 0.7458 and card.metrics.films == 120445
    assert card.parity["old_notebook_random_split"].computable
    assert card.candidates["xgboost_tuned"].status == "ok" and card.candidates["xgboost_tuned"].trees == 287
    assert card.production_on_this_holdout.version == 1 and card.production_on_this_holdout.comparable
    assert card.recipe is None and card.refit is None and card.tuning is None
    assert card.feature_view.name == "movie_ratings" and card.split.test_start == "2019-03-01"
    # The JSON shape is kept: the old card comes back with the same values and its unknown key.
    again = card.to_json()
    assert _contains(again, OLD_CARD)
    assert ModelCard.from_json(again) == card


def _contains(new: object, old: object) -> bool:
    """Every key and value of ``old`` is in ``new`` (which may add keys)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and _contains(new[k], v) for k, v in old.items())
    return new == old


@pytest.mark.parametrize("broken, field", [
    ({"metrics": {"rmse": "low"}}, "metrics.rmse"),
    ({"parity": {"old": {"rows": "many"}}}, "parity.old.rows"),
    ({"promotion": {"promote": True}}, "promotion.reason"),
])
def test_a_card_that_does_not_fit_is_a_clear_error(tmp_path: Path, broken: dict, field: str) -> None:
    registry = LocalModelRegistry(_stored(tmp_path, {**OLD_CARD, **broken}))
    with pytest.raises(DataError, match=rf"card\.json is not a model card: {field}"):
        registry.get("movie_ratings_model", 2)


def test_the_site_and_the_summary_say_why_a_comparison_is_not_computable() -> None:
    card = ModelCard.model_validate({
        **OLD_CARD,
        "parity": {"old_notebook_temporal_no_votes": {"not_computable": "leaves 0 training films", "rows": 0}},
        "candidates": {**OLD_CARD["candidates"], "svr": {"status": "failed", "error": "ValueError: boom"}},
        "refit": {"films": 608629, "seconds": 80.0},
        "recipe": {"estimator": "xgboost_tuned", "params": {"max_depth": 6}, "rounds": 102},
        "tuning": {"grid": [{}, {"max_depth": 6}], "chosen": {"max_depth": 6}, "rounds": 102, "fit_rows": 7126,
                   "validation_rows": 1240, "validation_start": "2018-12-24",
                   "trials": [{"params": {}, "rmse": 0.91}, {"params": {"max_depth": 6}, "rmse": 0.9}]},
    })
    shown = site_model_card(card)
    assert shown["parity"] == {"old_notebook_temporal_no_votes": {"note": "not computable: leaves 0 training films"}}
    assert shown["candidates"]["svr"] == {"note": "failed: ValueError: boom"}
    assert shown["candidates"]["xgboost_tuned"]["trees"] == 287
    assert "608,629 labelled films" in shown["refit"] and "some_future_key" in shown
    assert shown["recipe"] == "xgboost_tuned {'max_depth': 6}, 102 rounds"
    assert shown["tuning"] == ("2 configurations fitted on 7,126 training films and validated on 1,240 "
                               "(a validation slice, released from 2018-12-24): validation RMSE 0.9100, "
                               "0.9000; chose {'max_depth': 6} with 102 rounds")
    assert site_model_card(None) == {}

    line = training_line({
        "flow": "training", "model": "movie_ratings_model", "model_version": 2, "estimator": "xgboost_tuned",
        "metrics": {"rmse": 0.7458}, "parity": {k: c.model_dump() for k, c in card.parity.items()},
        "baseline": card.baseline.model_dump(), "refit_films": 608629, "failed_candidates": {"svr": "boom"},
        "promoted": True, "promotion_reason": "no production model", "is_demo": True,
    })
    assert "same hold-out: not computable: leaves 0 training films; mean baseline 1.1991" in line
    assert "refitted on all 608,629 labelled films; failed: svr; promoted" in line


def test_a_comparison_is_computable_only_with_a_finite_score() -> None:
    assert Comparison(rmse=0.9).computable and Comparison(rmse=0.9).rmse_text() == "0.9000"
    assert not Comparison(rmse=float("nan")).computable
    assert Comparison.failed("too few films").rmse_text() == "not computable: too few films"


def test_the_run_artifacts_say_why_a_comparison_is_not_computable_and_which_candidate_failed() -> None:
    from movie_ratings.registry import ModelVersion
    from tasks.register import training_report

    card = ModelCard.model_validate({
        **OLD_CARD,
        "parity": {"old_notebook_temporal_no_votes": {"not_computable": "leaves 0 training films"},
                   "old_notebook_random_split": {"not_computable": "leaves 3 training films"}},
        "candidates": {**OLD_CARD["candidates"], "svr": {"status": "failed", "error": "ValueError: boom"}},
        "refit": {"films": 608629},
    })
    rows, markdown = training_report(ModelVersion("movie_ratings_model", 2, card, Path("/models/2")))
    by_model = {row["model"]: row for row in rows}
    assert by_model["svr"]["note"] == "failed: ValueError: boom" and by_model["svr"]["rmse"] is None
    assert by_model["old_notebook_temporal_no_votes"]["note"] == "not computable: leaves 0 training films"
    assert len({tuple(row) for row in rows}) == 1  # every row has the same columns
    assert "without imdb_votes: not computable: leaves 0 training films" in markdown
    assert "refitted with the same recipe on all 608,629 labelled films" in markdown
