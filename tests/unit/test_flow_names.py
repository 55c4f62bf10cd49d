"""Flow-run names come from the running flow's parameters, in one helper for every flow."""

from __future__ import annotations

import pytest

from flows import naming
from flows.naming import run_name


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"view_version": 2, "store_commit": None, "split": "random"},
         "training view_version=2 store_commit=latest split=random"),
        ({"view_version": 1, "store_commit": 7, "split": "temporal"},
         "training view_version=1 store_commit=7 split=temporal"),
        ({}, "training view_version=latest store_commit=latest split=latest"),
    ],
)
def test_run_name_shows_the_parameters_in_order(monkeypatch, params, expected) -> None:
    monkeypatch.setattr(naming.flow_run, "get_parameters", lambda: params)
    assert run_name("training", "view_version", "store_commit", "split")() == expected


def test_every_flow_names_its_runs_from_parameters_it_has() -> None:
    import inspect

    from flows.backfill import backfill
    from flows.daily_features import daily_features
    from flows.inference import inference
    from flows.main import main
    from flows.training import training

    for flow in (backfill, daily_features, inference, main, training):
        name = flow.flow_run_name
        assert isinstance(name, naming.RunName), flow.name
        assert set(name.parameters) <= set(inspect.signature(flow.fn).parameters), flow.name
