"""Two processes writing the prediction history at once: the writer lock orders them."""

from __future__ import annotations

from pathlib import Path

_MERGER = """
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from movie_ratings.store.local import LocalFeatureStore

store = LocalFeatureStore(Path(sys.argv[1]))
worker = int(sys.argv[2])
time.sleep(max(0.0, float(sys.argv[4]) - time.time()))  # both start merging together
for i in range(int(sys.argv[3])):
    day = date(2026, 3, 1) + timedelta(days=i)
    store.merge_rows("movie_predictions", 1, pa.table({
        "id": [worker * 1000 + i, 1], "model_version": [1, worker], "prediction_date": [day, day],
        "predicted_rating": [7.5, 6.0], "status": ["Planned", "Planned"], "release_date": [None, None],
        "rated_when_predicted": [False, False], "store_commit": [1, 1],
        "predicted_at": [datetime(2026, 3, 1, tzinfo=UTC)] * 2,
        "rating_low": [None, None], "rating_high": [None, None],
    }))
"""


def test_two_processes_merging_predictions_at_once_both_succeed(tmp_path: Path) -> None:
    """Before the writer lock covered it, 7 of 16 such merges failed with CommitFailedError."""
    import subprocess
    import sys
    import time

    from movie_ratings.store.local import LocalFeatureStore

    merges = 16
    start = time.time() + 10  # past both interpreters' imports
    procs = [subprocess.Popen([sys.executable, "-c", _MERGER, str(tmp_path / "store"), str(worker), str(merges),
                               str(start)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for worker in (1, 2)]
    for proc in procs:
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
    rows = LocalFeatureStore(tmp_path / "store").read_all_rows("movie_predictions", 1)
    assert rows.num_rows == 2 * merges * 2  # every merge of both processes is there
    keys = set(zip(rows["id"].to_pylist(), rows["model_version"].to_pylist(),
                   rows["prediction_date"].to_pylist(), strict=True))
    assert len(keys) == rows.num_rows
