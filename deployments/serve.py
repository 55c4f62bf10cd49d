"""Serve every deployment of ``prefect.yaml`` from this one process: no work pool, no worker.

``make serve`` runs it (against the server ``make server`` starts). Each deployment keeps
its name, description, tags, parameters, schedules, triggers and concurrency limit from
``prefect.yaml``, so ``prefect deployment run 'daily-features/daily-features'`` works the
same way in both modes. Ctrl-C (SIGINT) or SIGTERM stops it; Prefect then pauses the
schedules it served, so no run piles up while nothing executes them.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from deployments.config import ROOT, load_deployments

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment


def build_schedule(spec: dict[str, Any]) -> Any:
    """A Prefect schedule from a ``schedules:`` entry of ``prefect.yaml``.

    Args:
        spec: ``cron``, ``interval`` (seconds) or ``rrule``, with optional ``timezone``,
            ``active``, ``parameters``, ``slug``, ``day_or`` and ``anchor_date``.

    Returns:
        A :class:`prefect.schedules.Schedule`.

    Raises:
        ValueError: when the entry has none of ``cron``, ``interval`` and ``rrule``.
    """
    from prefect.schedules import Cron, Interval, RRule

    common = {
        "timezone": spec.get("timezone"),
        "active": spec.get("active", True),
        "parameters": spec.get("parameters") or None,
        "slug": spec.get("slug"),
    }
    if spec.get("cron"):
        return Cron(spec["cron"], day_or=spec.get("day_or", True), **common)
    if spec.get("interval"):
        anchor = spec.get("anchor_date")
        if isinstance(anchor, str):
            anchor = datetime.fromisoformat(anchor)
        return Interval(timedelta(seconds=float(spec["interval"])), anchor, **common)
    if spec.get("rrule"):
        return RRule(spec["rrule"], **common)
    raise ValueError(f"schedule needs cron, interval or rrule: {spec}")


def build_trigger(deployment_name: str, number: int, spec: dict[str, Any]) -> Any:
    """A deployment trigger from a ``triggers:`` entry, named as ``prefect deploy`` names it."""
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    spec = {"name": f"{deployment_name}__automation_{number}", **spec}
    return TypeAdapter(DeploymentTriggerTypes).validate_python(spec)


def build_concurrency(spec: int | dict[str, Any] | None) -> Any:
    """``concurrency_limit:`` as ``prefect deploy`` reads it: a number or ``{limit, collision_strategy}``."""
    if spec is None or isinstance(spec, int):
        return spec
    from prefect.client.schemas.objects import ConcurrencyLimitConfig

    return ConcurrencyLimitConfig(**spec)


def build_deployment(spec: dict[str, Any]) -> RunnerDeployment:
    """A served deployment from one ``deployments:`` entry of ``prefect.yaml``.

    Args:
        spec: the entry (``name``, ``entrypoint`` relative to the repository, ...).

    Returns:
        The deployment, ready for :func:`prefect.serve`.
    """
    from prefect.flows import load_flow_from_entrypoint

    path, _, function = spec["entrypoint"].rpartition(":")
    flow = load_flow_from_entrypoint(f"{ROOT / path}:{function}")
    name = spec["name"]
    return flow.to_deployment(
        name=name,
        description=spec.get("description"),
        tags=spec.get("tags"),
        parameters=spec.get("parameters") or {},
        schedules=[build_schedule(s) for s in spec.get("schedules") or []],
        triggers=[build_trigger(name, i, t) for i, t in enumerate(spec.get("triggers") or [], 1)],
        concurrency_limit=build_concurrency(spec.get("concurrency_limit")),
    )


async def take_over(deployments: list[RunnerDeployment]) -> list[str]:
    """Detach deployments that ``prefect deploy`` created from their work pool, before serving.

    Prefect 3.9's ``serve`` updates an existing deployment without clearing its work pool
    nor setting the path it runs from (PrefectHQ/prefect#15073): the served runs then
    crash on a path of ``None``, and a worker could pick them up too. Clearing pool, pull
    steps and path here makes the deployment exactly what ``serve`` creates on a fresh
    server. ``make deploy`` attaches them to the pool again.

    Returns:
        The names of the deployments that were detached.
    """
    from prefect import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import ObjectNotFound

    detached = []
    async with get_client() as client:
        for deployment in deployments:
            name = f"{deployment.flow_name}/{deployment.name}"
            try:
                existing = await client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            if existing.work_pool_name or existing.pull_steps or existing.path is None:
                await client.update_deployment(existing.id, DeploymentUpdate(
                    path=".", work_pool_name=None, work_queue_name=None, pull_steps=None,
                ))
                detached.append(name)
    return detached


def main() -> int:
    """Serve all deployments until interrupted."""
    from prefect import serve

    from deployments.server_setup import setup_server

    os.chdir(ROOT)  # served runs load their flows by entrypoint, relative to the repository
    for line in asyncio.run(setup_server(work_pools=False)):
        print(line, flush=True)
    deployments = [build_deployment(spec) for spec in load_deployments()]
    for name in asyncio.run(take_over(deployments)):
        print(f"{name}: detached from its work pool, now served here (`make deploy` reattaches it)",
              flush=True)
    serve(*deployments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
