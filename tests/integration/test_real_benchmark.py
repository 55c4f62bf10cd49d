"""``python -m bench.real`` on a sample of the real films: the whole chain runs and scores.

The short version of ``make bench-real`` (3,000 of the ~13k films). The goal itself
(ours <= 0.90x the old recipe's RMSE on all films) is checked by ``make bench-real``;
on a sample only the direction is asserted.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_real_benchmark_short_version(tmp_path: Path) -> None:
    out, raw = tmp_path / "RESULTS.md", tmp_path / "real.json"
    out.write_text("# Benchmark\n\nearlier stages\n")
    done = subprocess.run(
        [sys.executable, "-m", "bench.real", "--limit", "3000", "--out", str(out), "--json", str(raw)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(raw.read_text())
    assert result["sampled"] == 3000 and result["ingest"]["rejected"] == 0
    assert result["train_films"] + result["upcoming_films"] == 3000
    assert result["upcoming_films"] > 500
    metrics = result["metrics"]
    for name in ("ours", "mean", "old_recipe"):
        assert all(math.isfinite(metrics[name][k]) for k in ("rmse", "mae", "r2")), name
    # real signal, not noise: ours beats the mean and the old recipe on unseen years
    assert metrics["ours"]["rmse"] < metrics["mean"]["rmse"]
    assert metrics["ours"]["rmse"] < metrics["old_recipe"]["rmse"]
    report = out.read_text()
    assert report.startswith("# Benchmark\n\nearlier stages\n")
    assert "critic rating" in report and "not IMDb's" in report
    assert f"{metrics['ours']['rmse']:.4f}" in report
