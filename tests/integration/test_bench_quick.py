"""``python -m bench --quick`` end to end: every measurement is reported and the store checks pass.

Speed ratios are not asserted: at a few thousand rows they measure fixed costs, not the
chain. The full benchmark (``make bench``) checks the speed goals.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _goals(report: str) -> dict[str, str]:
    """Goal name -> PASS/FAIL from the report's Goals table."""
    section = report.split("## Goals", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): cells[-1].strip().strip("*") for cells in rows[1:]}


@pytest.mark.slow
def test_quick_benchmark_reports_every_measurement(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--stages", "--no-fail", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()

    for row in ("| parse |", "| backfill |", "| daily |"):
        assert row in report
    assert "Daily changes (from `UpsertResult`): new " in report
    assert "| read_snapshot_csv |" in report and "| upsert.diff |" in report
    assert "| daily 1 | 2026-01-02 |" in report and "| daily 2 | 2026-01-03 |" in report
    assert "ephemeral API server start" in report and "orchestration overhead" in report
    assert "- machine: " in report and " cores, " in report
    assert "pyarrow " in report and "deltalake " in report

    goals = _goals(report)
    assert set(goals) == {
        "backfill time", "daily time", "daily changed share (precondition)",
        "peak memory (any ingest run)", "store growth per daily", "every commit readable",
    }
    assert goals["store growth per daily"] == "PASS"
    assert goals["every commit readable"] == "PASS"
    assert goals["daily changed share (precondition)"] == "PASS"
    assert "9 of 9 reads ok" in report  # 3 commits x (2 groups + rejects)
    assert done.stdout.count("report written to") == 1
