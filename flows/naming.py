"""Flow-run names built from the running flow's parameters (Prefect's ``flow_run_name``)."""

from __future__ import annotations

from collections.abc import Callable

from prefect.runtime import flow_run


def run_name(flow_label: str, *parameters: str) -> Callable[[], str]:
    """A ``flow_run_name`` callable: ``training view_version=1 store_commit=latest split=temporal``.

    Args:
        flow_label: the first word of the name.
        parameters: the flow's parameters to show, in order; one left None (the default
            snapshot date, store commit or model) shows as ``latest``.
    """

    def name() -> str:
        params = flow_run.get_parameters() or {}
        shown = (f"{p}={'latest' if params.get(p) is None else params[p]}" for p in parameters)
        return " ".join([flow_label, *shown])

    return name
