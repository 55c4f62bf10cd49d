"""Flow-run names built from the running flow's parameters (Prefect's ``flow_run_name``)."""

from __future__ import annotations

from dataclasses import dataclass

from prefect.runtime import flow_run


@dataclass(frozen=True)
class RunName:
    """A ``flow_run_name`` callable: ``training view_version=1 store_commit=latest split=temporal``.

    Attributes:
        flow_label: the first word of the name.
        parameters: the flow's parameters to show, in order; one left None (the default
            snapshot date, store commit or model) shows as ``latest``.
    """

    flow_label: str
    parameters: tuple[str, ...]

    def __call__(self) -> str:
        params = flow_run.get_parameters() or {}
        shown = (f"{p}={'latest' if params.get(p) is None else params[p]}" for p in self.parameters)
        return " ".join([self.flow_label, *shown])


def run_name(flow_label: str, *parameters: str) -> RunName:
    """The run name of a flow labelled ``flow_label`` showing ``parameters`` (see :class:`RunName`)."""
    return RunName(flow_label, parameters)
