"""Drift at inference on a store made by ``movie-ratings run``: what it costs and whether it alerts.

For every store commit after the production model's training commit, the inference's drift
step is replayed with the pure functions the task uses: the films to predict at that commit
against the films predicted at training time (the view read at the card's store commit) and
against the training films. ``--write`` puts the table into bench/RESULTS.md, in its own
section. Usage::

    MOVIE_RATINGS_HOME=/tmp/demo movie-ratings run --as-of 2026-05-07 --days 7
    python -m bench.drift --home /tmp/demo --write
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bench.sections import DRIFT, run_section, section_parser

SECTION = DRIFT


def run(home: Path) -> list[dict[str, Any]]:
    from movie_ratings.registry import MODEL_NAME, get_model_registry
    from movie_ratings.schema import MOVIE_PREDICTIONS, MOVIE_RATINGS_VIEW
    from movie_ratings.settings import Settings
    from movie_ratings.store import get_feature_store
    from tasks.drift import baseline_films, inference_drift
    from tasks.predict import RECENT_DAYS, ViewAtCommit, films_to_predict, monitoring

    settings = Settings(home=home, backend="local")
    store = get_feature_store(settings)
    production = get_model_registry(settings).production(MODEL_NAME)
    if production is None:
        raise SystemExit(f"no production model under {home}: run `movie-ratings run` there first")
    card = production.card
    latest = store.latest_commit()
    if latest is None:
        raise SystemExit(f"empty store under {home}")
    history = store.read_all_rows(MOVIE_PREDICTIONS.name, 1)
    rows = []
    for number in range(card.store_commit or 1, latest.number + 1):
        commit = store.commit(number)
        view = store.read_feature_view(MOVIE_RATINGS_VIEW.name, 1, commit=number)
        current = ViewAtCommit(view, commit)
        started = time.perf_counter()
        baseline = baseline_films(store, card, current, view_version=1)
        baseline_seconds = time.perf_counter() - started
        predicted = films_to_predict(view, commit.snapshot_date, RECENT_DAYS)
        # the history as the inference at this commit saw it
        seen = history.filter(pc.less_equal(history["prediction_date"], pa.scalar(commit.snapshot_date)))
        started = time.perf_counter()
        report = inference_drift(view, predicted["id"], card, monitoring(seen, view).films["actual_rating"],
                                 baseline)
        report_seconds = time.perf_counter() - started
        if report is None:
            continue
        label = report.label
        rows.append({
            "commit": number, "date": commit.snapshot_date.isoformat(), "films": predicted.num_rows,
            "baseline": "none" if baseline.rows is None else f"{baseline.rows.num_rows:,}",
            "max_baseline": max((f.psi for f in report.baseline), default=float("nan")),
            "over_training": sum(f.psi >= 0.2 for f in report.features if f is not label),
            "features": sum(1 for f in report.features if f is not label),
            "max_training": max(f.psi for f in report.features if f is not label),
            "label": "—" if label is None else f"{label.psi:.2f} on {label.current_rows} ({label.level})",
            "alerts": ", ".join(f.feature for f in report.alerts) or "none",
            "baseline_s": baseline_seconds, "report_s": report_seconds,
        })
    return rows


def report(rows: list[dict[str, Any]], home: Path, load: str, note: str) -> str:
    lines = [
        SECTION, "",
        f"`python -m bench.drift --home {home} --write`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on the "
        "store of `movie-ratings run` (demo). Per store commit from the production model's training "
        "commit on, the inference's drift step replayed: \"baseline s\" is the films predicted at "
        "training time (one read of the view at the card's commit; none at the training commit "
        "itself), \"report s\" the PSI of every feature against both populations.",
        "",
        f"Load average (1 min) at start / end: {load} (2 cores). {note}",
        "",
        "| commit | date | films predicted | baseline films | max PSI vs baseline | features ≥ 0.2 vs "
        "training | max PSI vs training | ratings vs training labels | alerts | baseline s | report s |",
        "|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['commit']} | {r['date']} | {r['films']:,} | {r['baseline']} | {r['max_baseline']:.3f} | "
                     f"{r['over_training']} of {r['features']} | {r['max_training']:.2f} | {r['label']} | "
                     f"{r['alerts']} | {r['baseline_s']:.2f} | {r['report_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = section_parser((__doc__ or "").splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="MOVIE_RATINGS_HOME of a `movie-ratings run`")
    args = parser.parse_args(argv)
    return run_section(SECTION, args.write, lambda: run(args.home),
                       lambda rows, load: report(rows, args.home, load, args.note))

if __name__ == "__main__":
    raise SystemExit(main())
