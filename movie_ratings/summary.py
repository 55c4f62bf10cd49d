"""One-line summaries of flow runs, the same in the run logs and in the CLI's output."""

from __future__ import annotations

from typing import Any

from movie_ratings.modeling.card import Comparison

DEMO_TAG = " [DEMO DATA]"


def _demo(run: dict[str, Any]) -> str:
    return DEMO_TAG if run.get("is_demo") else ""


def ingest_line(run: dict[str, Any]) -> str:
    """Summarise an ingest run (``backfill`` or ``daily-features``) in one line.

    Args:
        run: the summary the flow returns (``flow``, ``snapshot_date``, counts, ``store_commit``).

    Returns:
        For example ``daily-features 2026-11-20 [DEMO DATA]: read 22,924, rejected 3, new 9,
        changed 19, unchanged 22,893, deleted 0 -> store commit 2``.
    """
    demo = _demo(run)
    written = "" if run.get("created_commit", True) else " (already stored, nothing written)"
    return (
        f"{run['flow']} {run['snapshot_date']}{demo}: read {run['rows_read']:,}, "
        f"rejected {run['rejected']:,}, new {run['new']:,}, changed {run['changed']:,}, "
        f"unchanged {run['unchanged']:,}, deleted {run['deleted']:,} "
        f"-> store commit {run['store_commit']}{written}"
    )


def training_line(run: dict[str, Any]) -> str:
    """Summarise a training run: the model, its error beside the old recipe's, refit, promotion.

    Args:
        run: the summary the training flow returns (:func:`tasks.register.training_summary`);
            ``parity`` and ``baseline`` entries are :class:`~movie_ratings.modeling.card.Comparison`
            records, each a score or why it is not computable.
    """
    demo = _demo(run)
    parity = Comparison.model_validate(
        run.get("parity", {}).get("old_notebook_temporal_no_votes")
        or {"not_computable": "not reported"})
    baseline = Comparison.model_validate(run.get("baseline") or {"not_computable": "not reported"})
    refit = (f"; refitted on all {run['refit_films']:,} labelled films" if run.get("refit_films") else "")
    failed = run.get("failed_candidates") or {}
    failures = f"; failed: {', '.join(sorted(failed))}" if failed else ""
    return (
        f"training{demo}: {run['model']} v{run['model_version']} ({run['estimator']}): "
        f"rmse {run['metrics']['rmse']:.4f} (old notebook recipe without votes, same hold-out: "
        f"{parity.rmse_text()}; mean baseline {baseline.rmse_text()}){refit}{failures}; "
        f"{'promoted' if run['promoted'] else 'not promoted'}: {run['promotion_reason']}"
    )


def inference_line(run: dict[str, Any]) -> str:
    """Summarise an inference run: films predicted, model version, live score."""
    demo = _demo(run)
    mae = "not yet known" if run["live_mae"] is None else f"{run['live_mae']:.3f}"
    return (
        f"inference {run['snapshot_date']}{demo}: {run['predicted']:,} films predicted with "
        f"v{run['model_version']}; live MAE over {run['monitored_films']:,} films predicted "
        f"before their rating: {mae}"
    )


def run_line(run: dict[str, Any]) -> str:
    """One line for any flow's summary."""
    if run["flow"] == "training":
        return training_line(run)
    if run["flow"] == "inference":
        return inference_line(run)
    return ingest_line(run)


def main_line(runs: list[dict[str, Any]]) -> str:
    """Summarise the main job: its runs by flow, the snapshot dates, the last store commit.

    Args:
        runs: the summaries of the runs the main job made, in order (each with ``flow``).

    Returns:
        For example ``main: 1 backfill + 6 daily-features run(s), 2026-11-14 to 2026-11-20
        [DEMO DATA] -> store commit 7``, or ``main: nothing to do`` when ``runs`` is empty.
    """
    if not runs:
        return "main: nothing to do"
    counts: dict[str, int] = {}
    for run in runs:
        counts[run["flow"]] = counts.get(run["flow"], 0) + 1
    line = "main: " + " + ".join(f"{n} {flow}" for flow, n in counts.items()) + " run(s)"
    dates = [run["snapshot_date"] for run in runs if run.get("snapshot_date")]
    if dates:
        line += f", {dates[0]}" + (f" to {dates[-1]}" if len(dates) > 1 else "")
    if any(run.get("is_demo") for run in runs):
        line += DEMO_TAG
    commits = [run["store_commit"] for run in runs if run.get("store_commit") is not None]
    if commits:
        line += f" -> store commit {commits[-1]}"
    return line
