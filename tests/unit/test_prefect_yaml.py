"""prefect.yaml names flows that exist, with parameters those flows accept.

Deploying against a running server is tested with the deployments (tests/e2e).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["name"])
def test_each_deployment_points_at_a_flow_that_accepts_its_parameters(
    deployment: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    flow = load_flow_from_entrypoint(deployment["entrypoint"])
    assert isinstance(flow, Flow)
    accepted = set(inspect.signature(flow.fn).parameters)
    assert set(deployment.get("parameters", {})) <= accepted
    assert deployment.get("description")


def test_the_daily_update_is_scheduled_with_an_explicit_timezone() -> None:
    daily = next(d for d in DEPLOYMENTS if d["name"] == "daily-features")
    assert [s["timezone"] for s in daily["schedules"]] == ["UTC"]
