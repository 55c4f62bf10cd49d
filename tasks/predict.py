"""Prediction: which films to predict, scoring with the production pipeline, batch scoring.

Pure functions first; the Prefect tasks at the bottom load the model and talk to the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from movie_ratings.cleaning.parse import ParsedSnapshot, read_snapshot_csv
from movie_ratings.cleaning.snapshot import CleanSnapshot, clean_snapshot
from movie_ratings.errors import DataError
from movie_ratings.modeling.artifacts import load_version, predict_ratings
from movie_ratings.modeling.intervals import IntervalCalibration, calibration_of, information_level
from movie_ratings.registry import MODEL_NAME, ModelRegistry, ModelVersion, get_model_registry
from movie_ratings.schema import (
    LABEL,
    MOVIE_PREDICTIONS,
    MOVIE_RATINGS_VIEW,
    UPCOMING_STATUSES,
)
from movie_ratings.settings import get_settings
from movie_ratings.store import FeatureStore, StoreCommit, get_feature_store
from movie_ratings.store.changes import join_on_key
from movie_ratings.timing import stage
from tasks.features import build_features
from tasks.policies import IO_RETRIES, STORE_WRITES_TAG

#: Version of the ``movie_predictions`` group this code writes.
PREDICTIONS_VERSION = 1


def view_rows(groups: dict[str, pa.Table]) -> pa.Table:
    """Feature-group rows joined like the ``movie_ratings`` view (movies ⋈ genres ⋈ signals on id)."""
    rows = groups[MOVIE_RATINGS_VIEW.groups[0]]
    for name in MOVIE_RATINGS_VIEW.groups[1:]:
        rows = join_on_key(rows, groups[name], MOVIE_RATINGS_VIEW.join_key,
                           drop=MOVIE_RATINGS_VIEW.exclude)
    return rows


@dataclass(frozen=True)
class ScoredInput:
    """Rows of a CSV in the Kaggle schema, cleaned and turned into view rows."""

    rows: pa.Table
    clean: CleanSnapshot


def snapshot_view_rows(path: Path, as_of: date, *, source: str = "csv", blanked: tuple[str, ...] = (),
                       max_reject_fraction: float = 1.0) -> ScoredInput:
    """Read, clean and featurise a CSV in the Kaggle schema exactly as ingest does.

    Rejected records are kept in ``clean.rejects`` with their reason (nothing is dropped
    silently).

    Args:
        path: the CSV.
        as_of: snapshot date.
        source: source name, recorded with rejects.
        blanked: columns the file may lack; when present they are read as null.
        max_reject_fraction: a larger rejected share fails (``BrokenSourceError``).
    """
    with stage("read_snapshot_csv"):
        parsed = read_snapshot_csv(path, optional=blanked)
    table = parsed.table
    for column in blanked:
        table = table.set_column(table.column_names.index(column), column,
                                 pa.nulls(table.num_rows, table.schema.field(column).type))
    parsed = ParsedSnapshot(table, parsed.bad_lines, parsed.extra_columns)
    with stage("clean_snapshot"):
        clean = clean_snapshot(parsed, as_of=as_of, source=source,
                               max_reject_fraction=max_reject_fraction)
    with stage("build_features"):
        features = build_features(clean.table, as_of)
    return ScoredInput(view_rows(features.tables), clean)


# --------------------------------------------------------------------------------------
# Which films to predict, and the prediction rows
# --------------------------------------------------------------------------------------

#: Films released this many days before the snapshot or later are still predicted.
RECENT_DAYS = 28


def films_to_predict(view: pa.Table, as_of: date, recent_days: int = RECENT_DAYS) -> pa.Table:
    """Upcoming films and films released in the last ``recent_days`` days.

    Upcoming: Post Production, In Production or Planned with a future or unknown release
    date (or any status dated after ``as_of``). Rumored and Canceled films are left out.
    """
    release = view["release_date"]
    as_of_scalar = pa.scalar(as_of, pa.date32())
    future_or_unknown = pc.or_kleene(pc.is_null(release), pc.greater(release, as_of_scalar))
    upcoming = pc.and_(pc.is_in(view["status"], value_set=pa.array(UPCOMING_STATUSES)), future_or_unknown)
    dated_future = pc.and_(pc.invert(pc.is_in(view["status"], value_set=pa.array(("Rumored", "Canceled")))),
                           pc.greater(release, as_of_scalar))
    since = pa.scalar(as_of - timedelta(days=recent_days), pa.date32())
    recent = pc.and_(pc.equal(view["status"], "Released"),
                     pc.and_(pc.greater_equal(release, since), pc.less_equal(release, as_of_scalar)))
    keep = pc.fill_null(pc.or_(pc.or_(upcoming, dated_future), recent), False)
    return view.filter(keep)


def prediction_rows(films: pa.Table, predicted: np.ndarray, *, model_version: int,
                    prediction_date: date, store_commit: int, predicted_at: datetime,
                    low: np.ndarray | None = None, high: np.ndarray | None = None) -> pa.Table:
    """Rows of the ``movie_predictions`` group for one inference run (interval ends null
    when ``low`` and ``high`` are not given)."""
    n = films.num_rows
    return pa.table({
        "id": films["id"],
        "model_version": pa.array(np.full(n, model_version, dtype=np.int32)),
        "prediction_date": pa.array([prediction_date] * n, pa.date32()),
        "predicted_rating": pa.array(np.round(predicted, 3), pa.float64()),
        "status": films["status"],
        "release_date": films["release_date"],
        "rated_when_predicted": pc.is_valid(films[LABEL]),
        "store_commit": pa.array(np.full(n, store_commit, dtype=np.int64)),
        "predicted_at": pa.array([predicted_at] * n, pa.timestamp("us", tz="UTC")),
        "rating_low": _bound(low, n),
        "rating_high": _bound(high, n),
    }, schema=MOVIE_PREDICTIONS.arrow_schema)


def _bound(values: np.ndarray | None, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, pa.float64())
    return pa.array(np.round(np.asarray(values, dtype=np.float64), 3), pa.float64())


def card_calibration(card: Any) -> tuple[IntervalCalibration | None, str | None]:
    """The model card's interval calibration (None when it has none: models trained before
    intervals), and what is wrong with a malformed one, for a warning: a prediction never
    fails for want of an interval."""
    try:
        return calibration_of(card), None
    except ValueError as exc:
        return None, f"the model card's interval calibration is unusable, predicting without intervals: {exc}"


def interval_bounds(card: Any, films: pa.Table, predicted: np.ndarray,
                    ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """80% interval ends of the predictions of ``films`` (view rows), both None when the
    model card has no usable calibration."""
    calibration, _ = card_calibration(card)
    if calibration is None:
        return None, None
    return calibration.bounds(predicted, information_level(films))


# --------------------------------------------------------------------------------------
# Monitoring: predictions made before a film was rated, joined with its real rating
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Monitoring:
    """The live score of the system.

    Attributes:
        films: per film now rated, the last prediction made before its rating was known
            (id, title, imdb_id, prediction_date, model_version, predicted_rating,
            actual_rating, imdb_votes, abs_error, rating_low, rating_high).
        trend: MAE by prediction date and model version over every such prediction
            (prediction_date, model_version, films, mae).
        coverage: over every such prediction that had an interval, by prediction date and
            model version, how many held the real rating (prediction_date, model_version,
            films, covered); empty while no interval has met a real rating.
    """

    films: pa.Table
    trend: pa.Table
    coverage: pa.Table = field(default_factory=lambda: COVERAGE_SCHEMA.empty_table())

    @property
    def mae(self) -> float | None:
        if self.films.num_rows == 0:
            return None
        return float(pc.mean(self.films["abs_error"]).as_py())


COVERAGE_SCHEMA: pa.Schema = pa.schema([("prediction_date", pa.date32()), ("model_version", pa.int32()),
                             ("films", pa.int64()), ("covered", pa.int64())])


def with_interval_columns(history: pa.Table) -> pa.Table:
    """The history with ``rating_low``/``rating_high``, null where rows predate intervals."""
    for name in ("rating_low", "rating_high"):
        if name not in history.column_names:
            history = history.append_column(pa.field(name, pa.float64()), pa.nulls(history.num_rows, pa.float64()))
    return history


def interval_coverage(joined: pa.Table) -> pa.Table:
    """Per prediction date and model version, predictions with an interval and a real
    rating, and how many of those intervals held it (ends included)."""
    has = joined.filter(pc.and_(pc.is_valid(joined["rating_low"]), pc.is_valid(joined["rating_high"])))
    if has.num_rows == 0:
        return COVERAGE_SCHEMA.empty_table()
    label = has[LABEL]
    held = pc.and_(pc.greater_equal(label, has["rating_low"]), pc.less_equal(label, has["rating_high"]))
    has = has.append_column("held", pc.cast(held, pa.int64()))
    return (has.group_by(["prediction_date", "model_version"])
            .aggregate([("id", "count"), ("held", "sum")])
            .rename_columns(["prediction_date", "model_version", "films", "covered"])
            .sort_by([("prediction_date", "ascending"), ("model_version", "ascending")])
            .cast(COVERAGE_SCHEMA))


def monitoring(history: pa.Table, view: pa.Table) -> Monitoring:
    """Join the predictions history with the films' current ratings."""
    history = with_interval_columns(history)
    blind = history.filter(pc.invert(pc.fill_null(history["rated_when_predicted"], True)))
    rated = view.filter(pc.is_valid(view[LABEL])).select(["id", "title", "imdb_id", "imdb_votes", LABEL])
    joined = blind.join(rated, "id", join_type="inner")
    errors = pc.abs(pc.subtract(joined["predicted_rating"], joined[LABEL]))
    joined = joined.append_column("abs_error", errors)
    trend = (joined.group_by(["prediction_date", "model_version"])
             .aggregate([("abs_error", "mean"), ("id", "count")])
             .rename_columns(["prediction_date", "model_version", "mae", "films"])
             .sort_by([("prediction_date", "ascending"), ("model_version", "ascending")]))
    # Per film, its last blind prediction (latest date, then newest model).
    ordered = joined.sort_by([("id", "ascending"), ("prediction_date", "descending"),
                              ("model_version", "descending")])
    ids = ordered["id"].to_numpy()
    first = np.r_[True, ids[1:] != ids[:-1]] if len(ids) else np.array([], bool)
    films = (ordered.filter(pa.array(first))
             .select(["id", "title", "imdb_id", "prediction_date", "model_version", "predicted_rating",
                      LABEL, "imdb_votes", "abs_error", "rating_low", "rating_high"])
             .rename_columns(["id", "title", "imdb_id", "prediction_date", "model_version",
                              "predicted_rating", "actual_rating", "imdb_votes", "abs_error",
                              "rating_low", "rating_high"])
             .sort_by([("prediction_date", "descending"), ("id", "ascending")]))
    return Monitoring(films, trend.select(["prediction_date", "model_version", "films", "mae"]),
                      interval_coverage(joined))


# --------------------------------------------------------------------------------------
# Prefect tasks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    pipeline: Any


def load_production_model(registry: ModelRegistry) -> LoadedModel:
    """The production model and its fitted pipeline (never refitted).

    Raises:
        DataError: there is no production model, or its file is missing or corrupt.
    """
    production = registry.production(MODEL_NAME)
    if production is None:
        raise DataError("no production model in the registry: run `movie-ratings train` first")
    try:
        pipeline = load_version(production)
    except DataError as exc:
        raise DataError(f"production {exc}") from None  # load_version names the model
    return LoadedModel(production, pipeline)


@task(name="load-production-model", cache_policy=NO_CACHE, timeout_seconds=600, **IO_RETRIES)
def load_production_model_task() -> LoadedModel:
    model = load_production_model(get_model_registry(get_settings()))
    get_run_logger().info("production model: %s v%s (%s)", model.version.name, model.version.version,
                          model.version.card.estimator)
    return model


@dataclass(frozen=True)
class ViewAtCommit:
    rows: pa.Table
    commit: StoreCommit


def read_view(store: FeatureStore, view_version: int, store_commit: int | None) -> ViewAtCommit:
    """The ``movie_ratings`` view at a store commit (the latest when None).

    Raises:
        DataError: the store is empty.
    """
    commit = store.latest_commit() if store_commit is None else store.commit(store_commit)
    if commit is None:
        raise DataError("the feature store is empty: run a backfill first")
    return ViewAtCommit(store.read_feature_view(MOVIE_RATINGS_VIEW.name, view_version, commit=commit.number),
                        commit)


@task(name="read-feature-view", cache_policy=NO_CACHE, timeout_seconds=1800, **IO_RETRIES)
def read_view_task(view_version: int, store_commit: int | None) -> ViewAtCommit:
    view = read_view(get_feature_store(get_settings()), view_version, store_commit)
    get_run_logger().info("read %s v%s at store commit %s (%s): %s films", MOVIE_RATINGS_VIEW.name,
                          view_version, view.commit.number, view.commit.snapshot_date,
                          f"{view.rows.num_rows:,}")
    return view


def predict_films(model: LoadedModel, view: ViewAtCommit, as_of: date, recent_days: int,
                  predicted_at: datetime) -> pa.Table:
    """Prediction rows of the films to predict (:func:`films_to_predict`) at ``as_of``."""
    films = films_to_predict(view.rows, as_of, recent_days)
    predicted = predict_ratings(model.pipeline, films) if films.num_rows else np.array([])
    low, high = interval_bounds(model.version.card, films, predicted)
    return prediction_rows(films, predicted, model_version=model.version.version, prediction_date=as_of,
                           store_commit=view.commit.number, predicted_at=predicted_at, low=low, high=high)


def save_predictions(store: FeatureStore, rows: pa.Table) -> tuple[pa.Table, int | None]:
    """Merge one run's predictions into the history.

    Returns:
        The whole history, and the history table's version written (None when ``rows``
        is empty and nothing was written).
    """
    version = store.merge_rows(MOVIE_PREDICTIONS.name, PREDICTIONS_VERSION, rows) if rows.num_rows else None
    return store.read_all_rows(MOVIE_PREDICTIONS.name, PREDICTIONS_VERSION), version


@task(name="predict", cache_policy=NO_CACHE, timeout_seconds=1800)
def predict_task(model: LoadedModel, view: ViewAtCommit, as_of: date, recent_days: int) -> pa.Table:
    rows = predict_films(model, view, as_of, recent_days, datetime.now(UTC))
    calibration, problem = card_calibration(model.version.card)
    if problem is not None:
        get_run_logger().warning("%s", problem)
    elif calibration is None:
        get_run_logger().info("the model card has no interval calibration: predictions without intervals")
    get_run_logger().info("predicted %s films (upcoming or released since %s) with v%s",
                          f"{rows.num_rows:,}", as_of - timedelta(days=recent_days), model.version.version)
    return rows


@task(name="save-predictions", cache_policy=NO_CACHE, timeout_seconds=900, tags=[STORE_WRITES_TAG],
      **IO_RETRIES)
def save_predictions_task(rows: pa.Table) -> pa.Table:
    """Merge this run's predictions into the history; returns the whole history."""
    history, version = save_predictions(get_feature_store(get_settings()), rows)
    if version is not None:
        get_run_logger().info("stored %s predictions (%s v%s, table version %s)", f"{rows.num_rows:,}",
                              MOVIE_PREDICTIONS.name, PREDICTIONS_VERSION, version)
    return history


@task(name="monitor", cache_policy=NO_CACHE, timeout_seconds=900)
def monitoring_task(history: pa.Table, view: ViewAtCommit) -> Monitoring:
    result = monitoring(history, view.rows)
    mae = result.mae
    get_run_logger().info("live score: %s films predicted before their rating; MAE %s",
                          result.films.num_rows, "n/a" if mae is None else f"{mae:.3f}")
    return result


# --------------------------------------------------------------------------------------
# Batch scoring of a CSV file
# --------------------------------------------------------------------------------------

#: Input columns a batch may lack; when present they are blanked before cleaning: the model
#: never reads them, and a bad value there must not reject an otherwise scorable film.
IGNORED_BATCH_COLUMNS: tuple[str, ...] = ("imdb_rating", "imdb_votes")


@dataclass(frozen=True)
class BatchResult:
    scored: int
    rejected: int
    output: Path
    rejects: Path | None
    model_version: int


def explanation_texts(pipeline: Any, rows: pa.Table, limit: int = 5) -> pa.Array:
    """Per row, its largest contributions in one line (``genre Horror −0.30; …``)."""
    from movie_ratings.modeling.explain import explain

    return pa.array([e.text(limit) for e in explain(pipeline, rows)], pa.string())


def score_csv(path: Path, model: LoadedModel, as_of: date, *, explain: bool = False,
              ) -> tuple[pa.Table, pa.Table]:
    """Score every valid row of a CSV in the Kaggle schema; returns (scores, rejects).

    With ``explain`` the scores get a column ``explanation``: the largest contributions to
    each prediction, in words.
    """
    scored = snapshot_view_rows(path, as_of, source="batch", blanked=IGNORED_BATCH_COLUMNS)
    rows, clean = scored.rows, scored.clean
    with stage("predict_ratings"):
        predicted = predict_ratings(model.pipeline, rows) if rows.num_rows else np.array([])
    low, high = interval_bounds(model.version.card, rows, predicted)
    scores = pa.table({
        "id": rows["id"],
        "title": rows["title"],
        "predicted_rating": pa.array(np.round(predicted, 3), pa.float64()),
        "rating_low": _bound(low, rows.num_rows),
        "rating_high": _bound(high, rows.num_rows),
        "model_version": pa.array(np.full(rows.num_rows, model.version.version, dtype=np.int32)),
    })
    if explain:
        scores = scores.append_column("explanation", explanation_texts(model.pipeline, rows)
                                      if rows.num_rows else pa.array([], pa.string()))
    rejects = clean.rejects.select(["record", "id", "column", "reason"])
    return scores, rejects


#: A text cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = r"^[=+\-@\t\r]"


def spreadsheet_safe(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that a spreadsheet would run as a formula prefixed with
    ``'`` (OWASP's advice): a title like ``=HYPERLINK(...)`` is shown as text."""
    out = table
    for index, column_field in enumerate(table.schema):
        if pa.types.is_string(column_field.type) or pa.types.is_large_string(column_field.type):
            column = table[index]
            risky = pc.match_substring_regex(column, _FORMULA_START)
            out = out.set_column(index, column_field, pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column))
    return out


def batch_predict(input_path: Path, output_path: Path, registry: ModelRegistry, as_of: date, *,
                  explain: bool = False) -> BatchResult:
    """Score ``input_path`` with the production model into ``output_path`` (CSV): id, title,
    predicted_rating, rating_low, rating_high (empty without interval calibration),
    model_version and, with ``explain``, explanation.

    Rejected rows go to ``<output>.rejects.csv`` with their record number, id, column and
    reason; none is dropped silently.

    Raises:
        DataError: no production model, or the input is not a CSV in the Kaggle schema.
    """
    import pyarrow.csv as pacsv

    with stage("load_production_model"):
        model = load_production_model(registry)
    scores, rejects = score_csv(Path(input_path), model, as_of, explain=explain)
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = output_path.with_name(f".{output_path.name}.tmp")
    pacsv.write_csv(spreadsheet_safe(scores), tmp)
    tmp.replace(output_path)
    rejects_path = None
    if rejects.num_rows:
        rejects_path = output_path.with_name(f"{output_path.stem}.rejects.csv")
        pacsv.write_csv(spreadsheet_safe(rejects), rejects_path)
    return BatchResult(scores.num_rows, rejects.num_rows, output_path, rejects_path, model.version.version)
