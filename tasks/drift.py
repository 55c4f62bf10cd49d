"""Drift at inference: the films being predicted against the films predicted when the
production model was trained (the alert), and against its training rows (information).

Neither population is stored with the model; both are read back from the feature view. The
training rows: the labelled films released before the hold-out cut the model card's split
records (films without a release date always trained); a random split trained on a sample
of all labelled films, so all of them stand in for it. The baseline: the films to predict
(:func:`tasks.predict.films_to_predict`) in the view at the card's store commit, as of the
card's snapshot date; every store commit stays readable. The pure drift itself is
:mod:`movie_ratings.monitoring.drift`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.monitoring.drift import ALERT, WATCH, DriftReport, FeatureDrift, drift_report
from movie_ratings.schema import LABEL, MOVIE_RATINGS_VIEW
from movie_ratings.settings import get_settings
from movie_ratings.store import FeatureStore, get_feature_store
from tasks.predict import RECENT_DAYS, LoadedModel, Monitoring, ViewAtCommit, films_to_predict


def _card_value(card: Any, name: str) -> Any:
    return card.get(name) if isinstance(card, Mapping) else getattr(card, name, None)


def training_cut(card: Any) -> date | None:
    """The first release date of the hold-out films in the card's split, None when the
    split was not temporal (or the card does not say).

    Raises:
        ValueError: the split names a cut that is not an ISO date.
    """
    split = _card_value(card, "split")
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


@dataclass(frozen=True)
class Baseline:
    """The films the model was asked to predict when it was trained, or why there are none.

    Attributes:
        rows: their view rows at the card's store commit; None when not computable.
        name: what they are, in words (for the report).
        problem: why they could not be read (``rows`` is then None).
    """

    rows: pa.Table | None
    name: str
    problem: str | None = None


def _not_computable(reason: str) -> Baseline:
    return Baseline(None, "films predicted at training time", reason)


def training_snapshot(card: Any) -> tuple[int | None, date | None]:
    """The model card's store commit and snapshot date (either None when the card lacks it).

    Raises:
        ValueError: the card's snapshot date is not an ISO date, or its commit not a number.
    """
    commit, day = _card_value(card, "store_commit"), _card_value(card, "snapshot_date")
    if commit is not None and (isinstance(commit, bool) or not isinstance(commit, int)):
        raise ValueError(f"the model card's store_commit {commit!r} is not a commit number")
    if day is None or isinstance(day, date):
        return commit, day
    try:
        return commit, date.fromisoformat(str(day))
    except ValueError:
        raise ValueError(f"the model card's snapshot_date {day!r} is not an ISO date") from None


def baseline_films(store: FeatureStore, card: Any, current: ViewAtCommit, *, view_version: int,
                   recent_days: int = RECENT_DAYS, view_name: str = MOVIE_RATINGS_VIEW.name) -> Baseline:
    """The films to predict in the view at the card's store commit, as of its snapshot date.

    The run's own rows are reused when the card's commit is the run's (the inference right
    after training): no second read. Never raises: a card without a store commit, a commit
    that cannot be read (or a view version that did not exist then) gives a baseline that
    says why it is not computable.
    """
    try:
        commit, day = training_snapshot(card)
    except ValueError as exc:
        return _not_computable(str(exc))
    if commit is None:
        return _not_computable("the model card records no store commit")
    try:
        if commit == current.commit.number:
            rows, day = current.rows, day or current.commit.snapshot_date
        else:
            day = day or store.commit(commit).snapshot_date
            rows = store.read_feature_view(view_name, view_version, commit=commit)
        films = films_to_predict(rows, day, recent_days)
    # The baseline is optional: whatever stops this read (a removed commit, a view version
    # not defined then, a backend error) is reported and the run goes on.
    except Exception as exc:
        return _not_computable(f"store commit {commit} cannot be read: {type(exc).__name__}: {exc}")
    name = f"films predicted at training time (store commit {commit}, {day.isoformat()})"
    if films.num_rows == 0:
        return _not_computable(f"no film was to be predicted at store commit {commit} ({day.isoformat()})")
    return Baseline(films, name)


def inference_drift(view: pa.Table, predicted_ids: pa.Array | pa.ChunkedArray, card: Any,
                    new_ratings: pa.Array | pa.ChunkedArray | None,
                    baseline: Baseline | None = None) -> DriftReport | None:
    """The drift report of one inference run, None when the run or the training has no rows.

    Args:
        view: feature-view rows at the run's store commit.
        predicted_ids: ids of the films predicted in the run.
        card: the production model's card (for the training cut).
        new_ratings: real ratings of films rated since they were predicted.
        baseline: the films predicted at training time (:func:`baseline_films`).
    """
    cut = training_cut(card)
    reference = training_rows(view, cut)
    current = view.filter(pc.is_in(view["id"], value_set=pa.array(predicted_ids, pa.int64())))
    if reference.num_rows == 0 or current.num_rows == 0:
        return None
    since = f"released before {cut.isoformat()}" if cut else "(all labelled films)"
    baseline = baseline or _not_computable("not asked for")
    return drift_report(reference, current, new_labels=new_ratings,
                        reference_name=f"training films {since}", current_name="films predicted",
                        baseline=baseline.rows, baseline_name=baseline.name, baseline_problem=baseline.problem)


def run_drift(store: FeatureStore, view: ViewAtCommit, predictions: pa.Table, model: LoadedModel,
              result: Monitoring, *, view_version: int, recent_days: int) -> tuple[DriftReport | None, str | None]:
    """The drift of an inference run: its films against the baseline read from ``store``
    (:func:`baseline_films`) and the training rows, and the new ratings against the labels.

    Returns:
        The report (None when there are no training rows or no film predicted), and why it
        could not be computed (a card or data problem) or None; drift never fails a run.
    """
    card = model.version.card
    baseline = baseline_films(store, card, view, view_version=view_version, recent_days=recent_days)
    try:
        return inference_drift(view.rows, predictions["id"], card, result.films["actual_rating"], baseline), None
    except ValueError as exc:
        return None, str(exc)


def drift_markdown(report: DriftReport, as_of: date) -> str:
    """The Prefect artifact of a threshold crossing."""
    lines = [f"# Drift above threshold, {as_of.isoformat()}", "",
             f"{report.current} against {report.baseline_reference or 'no baseline'} "
             f"(features) and against {report.reference} (real ratings).", "",
             "| compared | kind | PSI | level | unknown before | unknown now | films now |",
             "|---|---|---:|---|---:|---:|---:|"]
    label = report.label
    for f in report.alerts:
        what = ("real ratings since predicted vs training ratings" if f is label
                else f"{f.feature} vs films predicted at training time")
        lines.append(f"| {what} | {f.kind} | {f.psi:.3f} | {f.level} | {f.reference_missing:.0%} | "
                     f"{f.current_missing:.0%} | {f.current_rows:,} |")
    lines += ["", f"PSI {WATCH}-{ALERT} is a moderate shift (watch), {ALERT} and above a major one (alert). "
              "What to do: README, section *Drift*."]
    return "\n".join(lines)


def psi_list(features: Sequence[FeatureDrift]) -> str:
    return ", ".join(f"{f.feature} PSI {f.psi:.2f}" for f in features)


@task(name="drift", cache_policy=NO_CACHE, timeout_seconds=900)
def drift_task(view: ViewAtCommit, predictions: pa.Table, model: LoadedModel, result: Monitoring,
               as_of: date, view_version: int = 1, recent_days: int = RECENT_DAYS) -> DriftReport | None:
    """Compare this run's films with the films predicted at training time (and, as
    information, with the training rows), and the real ratings of films rated since they
    were predicted with the training labels; warn and publish an artifact when one crosses
    the alert threshold. Drift never fails the run."""
    logger = get_run_logger()
    started = time.perf_counter()
    report, problem = run_drift(get_feature_store(get_settings()), view, predictions, model, result,
                                view_version=view_version, recent_days=recent_days)
    if problem is not None:
        logger.warning("drift not computed: %s", problem)
        return None
    if report is None:
        logger.info("drift not computed: no training rows or no film predicted")
        return None
    logger.info("drift computed in %.2f s: %s against %s (alert) and %s (information)",
                time.perf_counter() - started, report.current, report.baseline_reference or "no baseline",
                report.reference)
    if report.baseline_problem is not None:
        logger.warning("drift baseline not computable: %s; the features are compared with the training "
                       "films only, for information, and not alerted", report.baseline_problem)
    if report.watches:
        logger.info("drift to watch (PSI %s-%s): %s", WATCH, ALERT, psi_list(report.watches))
    if report.alerts:
        from prefect.artifacts import create_markdown_artifact

        logger.warning("drift above threshold: %s", psi_list(report.alerts))
        create_markdown_artifact(drift_markdown(report, as_of), key="inference-drift",
                                 description=f"features or ratings whose PSI crossed {ALERT}")
    else:
        logger.info("no drift above threshold (PSI %s) over %s features and the ratings", ALERT,
                    len(report.baseline))
    return report
