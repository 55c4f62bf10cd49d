"""``python -m bench --quick`` end to end: every stage is measured and reported, the store
and registry checks pass.

Speed ratios are not asserted: at a few thousand rows they measure fixed costs, not the
chains. The full benchmark (``make bench``) checks the speed goals at 1.2M rows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

REPO = Path(__file__).resolve().parents[2]


def _goals(report: str) -> dict[str, str]:
    """Goal name -> PASS/FAIL/n/a from the report's Goals table."""
    section = report.split("## Goals", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): cells[-1].strip().strip("*") for cells in rows[1:]}


def _stage_table(report: str) -> dict[str, list[str]]:
    """Stage label -> its cells, from the report's Stages table."""
    section = report.split("\n## Stages", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in section.splitlines()
            if line.startswith("| ")]
    return {cells[0]: cells for cells in rows[1:]}


@pytest.mark.slow
def test_quick_benchmark_reports_every_stage(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-fail", "--out", str(out),
         # the session's Prefect server (tests/integration/conftest.py): no second start
         "--prefect-api-url", PREFECT_API_URL.value()],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()

    stages = _stage_table(report)
    labels = {
        "parse limit: `pyarrow.csv.read_csv`", "old notebook replica (pandas)", "backfill",
        "daily (next day, copies of the backfilled store)", "daily (growth series)",
        "training, all candidates", "inference of the daily batch", "batch predict (1,000 rows)",
    }
    assert set(stages) == labels
    for label, cells in stages.items():
        median, peak_mb, cpu = float(cells[1].strip("*")), float(cells[5].replace(",", "")), float(cells[6])
        assert median > 0 and peak_mb > 0 and cpu >= 0, (label, cells)
        assert " cores, " in cells[8]
    assert stages["parse limit: `pyarrow.csv.read_csv`"][4] == "1.00x"
    assert stages["inference of the daily batch"][2] == "2"  # one per daily

    # every candidate was fitted and the stage tables are there
    for name in ("xgboost_tuned", "xgboost", "random_forest", "linear_regression", "svr",
                 "decision_tree"):
        assert f"| {name} |" in report
    for stage in ("| read_snapshot_csv |", "| upsert.diff |", "| read_csv |",
                  "| fit_candidates |", "| seed_parity |", "| refit |", "| register |",
                  "| save_predictions (merge_rows) |", "| build_site |", "| clean_snapshot |"):
        assert stage in report, stage
    assert "`xgboost_tuned` search: 5 configurations in " in report and "Production refit on all " in report
    assert "Daily changes (from `UpsertResult`): new " in report
    assert "| daily 1 | 2026-01-02 |" in report and "| daily 2 | 2026-01-03 |" in report
    for flow in ("backfill", "training", "inference"):
        assert f"| `{flow}` |" in report
    assert "- machine: " in report and "xgboost " in report and "deltalake " in report

    goals = _goals(report)
    assert set(goals) == {
        "backfill time", "daily time", "daily changed share (precondition)",
        "peak memory (any ingest run)", "training time (all candidates)", "training peak memory",
        "inference of the daily batch", "batch predict 1,000 rows", "store growth per daily",
        "store after 30 dailies", "every commit readable",
        "every registered model's training data readable",
    }
    assert goals["store growth per daily"] == "PASS"
    assert goals["every commit readable"] == "PASS"
    assert goals["every registered model's training data readable"] == "PASS"
    assert goals["daily changed share (precondition)"] == "PASS"
    # a 2-day, 1,000-row run cannot check goals stated for 30 days and 100k rows
    assert goals["store after 30 dailies"].startswith("n/a")
    assert goals["batch predict 1,000 rows"].startswith("n/a")
    assert "12 of 12 reads ok" in report  # 3 commits x (3 groups + rejects)
    assert done.stdout.count("report written to") == 1
