"""Drift at inference: the films being predicted against the production model's training rows.

The training rows are not stored with the model; they are read back from the feature view:
the labelled films released before the hold-out cut the model card's split records (films
without a release date always trained). A random split trained on a sample of all labelled
films, so all of them stand in for it. The pure drift itself is
:mod:`movie_ratings.monitoring.drift`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.monitoring.drift import DriftReport, drift_report
from movie_ratings.schema import LABEL
from tasks.predict import LoadedModel, Monitoring, ViewAtCommit


def training_cut(card: Any) -> date | None:
    """The first release date of the hold-out films in the card's split, None when the
    split was not temporal (or the card does not say).

    Raises:
        ValueError: the split names a cut that is not an ISO date.
    """
    split = card.get("split") if isinstance(card, Mapping) else getattr(card, "split", None)
    if split is not None and not isinstance(split, Mapping):
        split = vars(split) if hasattr(split, "__dict__") else None
    if not split or split.get("kind") != "temporal" or split.get("test_start") is None:
        return None
    start = split["test_start"]
    if isinstance(start, date):
        return start
    try:
        return date.fromisoformat(str(start))
    except ValueError:
        raise ValueError(f"the model card's split has test_start {start!r}, not an ISO date") from None


def training_rows(view: pa.Table, cut: date | None) -> pa.Table:
    """Labelled view rows the model trained on: released before ``cut`` or undated
    (all labelled rows without a cut)."""
    labelled = view.filter(pc.is_valid(view[LABEL]))
    if cut is None:
        return labelled
    before = pc.less(labelled["release_date"], pa.scalar(cut, pa.date32()))
    return labelled.filter(pc.fill_null(before, True))


def inference_drift(view: pa.Table, predicted_ids: pa.Array | pa.ChunkedArray, card: Any,
                    new_ratings: pa.Array | pa.ChunkedArray | None) -> DriftReport | None:
    """The drift report of one inference run, None when a side has no rows.

    Args:
        view: feature-view rows at the run's store commit.
        predicted_ids: ids of the films predicted in the run.
        card: the production model's card (for the training cut).
        new_ratings: real ratings of films rated since they were predicted.
    """
    cut = training_cut(card)
    reference = training_rows(view, cut)
    current = view.filter(pc.is_in(view["id"], value_set=pa.array(predicted_ids, pa.int64())))
    if reference.num_rows == 0 or current.num_rows == 0:
        return None
    since = f"released before {cut.isoformat()}" if cut else "(all labelled films)"
    return drift_report(reference, current, new_labels=new_ratings,
                        reference_name=f"training films {since}", current_name="films predicted")


def drift_markdown(report: DriftReport, as_of: date) -> str:
    """The Prefect artifact of a threshold crossing."""
    lines = [f"# Drift above threshold, {as_of.isoformat()}", "",
             f"{report.current} against {report.reference}.", "",
             "| feature | kind | PSI | level | unknown in training | unknown now |",
             "|---|---|---:|---|---:|---:|"]
    lines += [f"| {f.feature} | {f.kind} | {f.psi:.3f} | {f.level} | {f.reference_missing:.0%} | "
              f"{f.current_missing:.0%} |" for f in report.alerts]
    lines += ["", "PSI 0.1-0.25 is a moderate shift, 0.25 and above a major one. What to do: README, "
              "section *Drift*."]
    return "\n".join(lines)


@task(name="drift", cache_policy=NO_CACHE, timeout_seconds=900)
def drift_task(view: ViewAtCommit, predictions: pa.Table, model: LoadedModel, result: Monitoring,
               as_of: date) -> DriftReport | None:
    """Compare this run's films with the training rows, and the real ratings of films rated
    since they were predicted with the training labels; warn and publish an artifact when a
    feature crosses the moderate threshold. Drift never fails the run."""
    logger = get_run_logger()
    try:
        report = inference_drift(view.rows, predictions["id"], model.version.card,
                                 result.films["actual_rating"])
    except ValueError as exc:
        logger.warning("drift not computed: %s", exc)
        return None
    if report is None:
        logger.info("drift not computed: no training rows or no film predicted")
        return None
    if report.alerts:
        from prefect.artifacts import create_markdown_artifact

        logger.warning("drift above threshold: %s", ", ".join(
            f"{f.feature} PSI {f.psi:.2f} ({f.level})" for f in report.alerts))
        create_markdown_artifact(drift_markdown(report, as_of), key="inference-drift",
                                 description="features whose PSI crossed 0.1")
    else:
        logger.info("no drift above threshold over %s features", len(report.features))
    return report
