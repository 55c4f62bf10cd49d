"""prefect.yaml names flows that exist, with complete and valid parameters, and the rules of issue 5.

Deploying against a running server is tested with the deployments (tests/e2e). Every test
here is per deployment, so a deployment appended to prefect.yaml is checked the same way.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

from deployments.config import PREFECT_YAML, load_deployments, work_pool_names
from deployments.serve import build_deployment, build_trigger

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = yaml.safe_load(PREFECT_YAML.read_text())
DEPLOYMENTS = load_deployments()
BY_NAME = {d["name"]: d for d in DEPLOYMENTS}
ids = [d["name"] for d in DEPLOYMENTS]


def _flow(deployment: dict, monkeypatch: pytest.MonkeyPatch) -> Flow:
    monkeypatch.chdir(ROOT)
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    return flow


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=ids)
def test_parameters_are_explicit_complete_and_valid_for_the_flow(
    deployment: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = _flow(deployment, monkeypatch)
    accepted = set(inspect.signature(flow.fn).parameters)
    assert set(deployment["parameters"]) == accepted  # every parameter written out
    flow.validate_parameters(deployment["parameters"])  # and each value of the right type


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=ids)
def test_each_deployment_is_described_tagged_pooled_and_limited(deployment: dict) -> None:
    assert deployment["name"] == deployment["entrypoint"].rsplit(":", 1)[1].replace("_", "-")
    assert len(deployment["description"]) > 40
    assert "movie-ratings" in deployment["tags"]
    assert deployment["work_pool"] == {"name": "movie-ratings", "work_queue_name": "default"}
    # A deployment never overlaps itself; a run that collides waits for the previous one.
    assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=ids)
def test_schedules_are_explicit_and_in_utc(deployment: dict) -> None:
    assert "schedules" in deployment  # an empty list says "on demand", on purpose
    for schedule in deployment["schedules"]:
        assert schedule["timezone"] == "UTC"
        assert schedule["active"] is True
        assert len(schedule["cron"].split()) == 5


DEFINED_TRIGGERS = DOCUMENT["definitions"].get("triggers", {})


@pytest.mark.parametrize("name", sorted(DEFINED_TRIGGERS))
def test_defined_triggers_are_valid_prefect_triggers_on_a_completed_run(name: str) -> None:
    spec = DEFINED_TRIGGERS[name]
    trigger = build_trigger("some-deployment", 1, spec)
    assert trigger.expect == {"prefect.flow-run.Completed"}
    assert trigger.enabled
    assert spec["match_related"]["prefect.resource.role"] == "deployment"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=ids)
def test_triggers_of_a_deployment_wait_for_a_deployment_of_this_file(deployment: dict) -> None:
    for trigger in deployment.get("triggers") or []:
        assert trigger in DEFINED_TRIGGERS.values()  # through an anchor, defined once
        assert trigger["match_related"]["prefect.resource.name"] in BY_NAME  # a typo never fires


def test_the_daily_update_runs_every_day_at_six_utc_and_the_manual_ones_never() -> None:
    assert [s["cron"] for s in BY_NAME["daily-features"]["schedules"]] == ["0 6 * * *"]
    assert BY_NAME["backfill"]["schedules"] == []
    assert BY_NAME["main"]["schedules"] == []


def test_deploys_from_any_clone_and_one_pool_for_all() -> None:
    # No pull step with a path: `prefect deploy` records the directory it runs from.
    assert "pull" not in DOCUMENT
    assert all("pull" not in d for d in DEPLOYMENTS)
    assert work_pool_names(DEPLOYMENTS) == ["movie-ratings"]
    # The pool is defined once, as an anchor, and every deployment uses it.
    assert DOCUMENT["definitions"]["work_pools"]["movie_ratings"]["name"] == "movie-ratings"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=ids)
def test_serve_builds_the_same_deployment(deployment: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    served = build_deployment(deployment)

    assert served.name == deployment["name"]
    assert served.description == deployment["description"]
    assert sorted(served.tags) == sorted(deployment["tags"])
    assert served.parameters == deployment["parameters"]
    assert served.work_pool_name is None  # served from the process, not through the pool
    assert served.concurrency_limit == 1
    assert served.concurrency_options.collision_strategy == "ENQUEUE"
    crons = [(s.schedule.cron, s.schedule.timezone, s.active) for s in served.schedules or []]
    assert crons == [(s["cron"], "UTC", True) for s in deployment["schedules"]]
    assert len(served.triggers) == len(deployment.get("triggers") or [])
    assert served.entrypoint.split(":")[-1] == deployment["entrypoint"].split(":")[-1]
