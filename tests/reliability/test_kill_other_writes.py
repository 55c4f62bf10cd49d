"""SIGKILL in the middle of the other writes: a registry save, a site publish, a prediction merge.

Each write runs in a child process that stops at a chosen point inside the write (the
registry's and the site's files written but not made visible; the prediction merge holding
the writer lock) and is killed there with SIGKILL: no handler runs. What readers see must be
exactly what they saw before, and the next write must succeed at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from movie_ratings.modeling.artifacts import load_version, save_pipeline
from movie_ratings.modeling.card import ModelCard
from movie_ratings.registry.local import LocalModelRegistry
from movie_ratings.store.local import LocalFeatureStore

_DRIVER = r'''
import json, sys, time
from pathlib import Path

what, root, reached = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])


def stop_here(*args, **kwargs):
    reached.write_text("here")
    time.sleep(3600)  # killed here


if what == "register":
    import movie_ratings.registry.local as local
    from movie_ratings.modeling.card import ModelCard
    local.sync_tree = stop_here  # after the version's files are copied into staging
    local.LocalModelRegistry(root / "registry").register("m", root / "artifacts-2", ModelCard.model_validate({"metrics": {"rmse": 0.5}}))
elif what == "publish":
    import movie_ratings.site.publish as publish
    publish._fsync_dir = stop_here  # the new build is written, the link not yet swapped
    sys.path.insert(0, sys.argv[4])
    from test_kill_other_writes import site_data
    publish.build_site(site_data("Second build"), root / "site")
elif what == "merge":
    import deltalake
    from movie_ratings.store.local import LocalFeatureStore
    sys.path.insert(0, sys.argv[4])
    from test_kill_other_writes import prediction_rows
    # killed holding the store's writer lock, as the merge starts

    def execute(self):
        reached.write_text("here")
        time.sleep(3600)

    deltalake.table.TableMerger.execute = execute
    LocalFeatureStore(root / "store").merge_rows("movie_predictions", 1, prediction_rows(2))
'''


def site_data(title: str):
    from datetime import UTC, date, datetime

    from movie_ratings.site import FilmCard, SiteData

    film = FilmCard(id=1, title=title, release_date=None, status="Planned", genres=(),
                    predicted_rating=6.0, model_version=1, imdb_id=None, poster_path=None,
                    updated=date(2026, 11, 20))
    return SiteData(generated_at=datetime(2026, 11, 20, tzinfo=UTC), snapshot_date=date(2026, 11, 20),
                    source="demo", is_demo=False, store_commit=1, model_card={}, cards=(film,),
                    monitoring=(), mae_trend=())


def prediction_rows(day: int):
    from datetime import UTC, date, datetime

    import pyarrow as pa

    n = 50
    return pa.table({
        "id": list(range(n)), "model_version": [1] * n, "prediction_date": [date(2026, 3, day)] * n,
        "predicted_rating": [7.0 + day / 10] * n, "status": ["Planned"] * n, "release_date": [None] * n,
        "rated_when_predicted": [False] * n, "store_commit": [day] * n,
        "predicted_at": [datetime(2026, 3, day, tzinfo=UTC)] * n,
        "rating_low": [6.0 + day / 10] * n, "rating_high": [8.0 + day / 10] * n,
    })


def _kill_inside(what: str, root: Path) -> None:
    reached = root / f"reached-{what}"
    child = subprocess.Popen([sys.executable, "-c", _DRIVER, what, str(root), str(reached),
                              str(Path(__file__).parent)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not reached.exists():
        if child.poll() is not None:
            pytest.fail(f"the {what} driver ended before its stop point:\n{child.stdout.read()}")
        assert time.monotonic() < deadline, f"the {what} driver never reached its stop point"
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def _artifacts(root: Path, tag: str) -> Path:
    from sklearn.dummy import DummyRegressor

    folder = root / f"artifacts-{tag}"
    folder.mkdir()
    save_pipeline(DummyRegressor(constant=float(tag), strategy="constant").fit([[0]], [0]), folder / "model.skops")
    (folder / "plot.png").write_bytes(b"\x89PNG " + tag.encode())
    return folder


def test_a_registry_save_killed_half_way_leaves_no_version(tmp_path: Path) -> None:
    registry = LocalModelRegistry(tmp_path / "registry")
    registry.register("m", _artifacts(tmp_path, "1"), ModelCard.model_validate({"metrics": {"rmse": 1.0}}))
    registry.promote("m", 1, "first")
    _artifacts(tmp_path, "2")

    _kill_inside("register", tmp_path)

    assert list((tmp_path / "registry" / "m").glob(".staging-*"))  # the dead save's leftovers
    assert [v.version for v in registry.versions("m")] == [1]
    assert registry.production("m").version == 1
    assert load_version(registry.production("m")).predict([[0]])[0] == 1.0
    again = registry.register("m", tmp_path / "artifacts-2", ModelCard.model_validate({"metrics": {"rmse": 0.5}}))
    assert again.version == 2 and load_version(again).predict([[0]])[0] == 2.0
    assert not list((tmp_path / "registry" / "m").glob(".staging-*"))


def test_a_site_publish_killed_half_way_keeps_the_previous_site(tmp_path: Path) -> None:
    from movie_ratings.site.publish import build_site

    build_site(site_data("First build"), tmp_path / "site")
    before = {p.name: p.read_bytes() for p in (tmp_path / "site").iterdir() if p.is_file()}

    _kill_inside("publish", tmp_path)

    site = tmp_path / "site"
    assert {p.name: p.read_bytes() for p in site.iterdir() if p.is_file()} == before
    assert b"First build" in (site / "index.html").read_bytes()
    build_site(site_data("Third build"), site)
    assert b"Third build" in (site / "index.html").read_bytes()


def test_a_prediction_merge_killed_half_way_leaves_the_history_as_it_was(tmp_path: Path) -> None:
    store = LocalFeatureStore(tmp_path / "store", lock_timeout=30)
    store.merge_rows("movie_predictions", 1, prediction_rows(1))
    before = store.read_all_rows("movie_predictions", 1).sort_by("id")

    _kill_inside("merge", tmp_path)

    assert store.read_all_rows("movie_predictions", 1).sort_by("id").equals(before)
    # the dead writer's lock was released by the kernel: the next merge goes through at once
    started = time.monotonic()
    store.merge_rows("movie_predictions", 1, prediction_rows(2))
    assert time.monotonic() - started < 20
    rows = store.read_all_rows("movie_predictions", 1)
    assert rows.num_rows == 100 and json.dumps(sorted(set(rows["store_commit"].to_pylist()))) == "[1, 2]"
