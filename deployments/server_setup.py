"""What a Prefect server needs before the deployments run: work pool and concurrency limit.

``python -m deployments.server_setup`` (run by ``make deploy`` before
``prefect deploy --all --no-prompt``) creates, when missing:

* the ``process`` work pool(s) named in ``prefect.yaml`` (``movie-ratings``);
* the tag concurrency limit :data:`tasks.policies.STORE_WRITES_TAG` = 1, so that tasks
  writing the feature store never run at the same time, whichever flow runs them.

Both are left alone when they exist (an operator may have raised the limit on purpose).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from deployments.config import load_deployments, work_pool_names
from tasks.policies import STORE_WRITES_TAG

#: Kind of work pool ``make deploy`` creates: the worker runs each flow in a subprocess.
WORK_POOL_TYPE = "process"
#: Concurrent feature-store writes allowed.
STORE_WRITES_LIMIT = 1


async def ensure_work_pool(name: str, pool_type: str = WORK_POOL_TYPE) -> bool:
    """Create the work pool ``name`` unless it exists.

    Args:
        name: work pool name.
        pool_type: worker type of a new pool.

    Returns:
        True if it was created, False if it was there already.
    """
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    async with get_client() as client:
        template = ProcessWorker.get_default_base_job_template() if pool_type == "process" else {}
        return await _create_unless_found(
            lambda: client.read_work_pool(name),
            lambda: client.create_work_pool(
                WorkPoolCreate(name=name, type=pool_type, base_job_template=template)
            ),
        )


async def ensure_tag_limit(tag: str = STORE_WRITES_TAG, limit: int = STORE_WRITES_LIMIT) -> bool:
    """Create the concurrency limit on task tag ``tag`` unless one exists.

    Args:
        tag: the task tag.
        limit: how many task runs with the tag may run at once.

    Returns:
        True if it was created, False if it was there already.
    """
    from prefect import get_client

    async with get_client() as client:
        return await _create_unless_found(
            lambda: client.read_concurrency_limit_by_tag(tag),
            lambda: client.create_concurrency_limit(tag=tag, concurrency_limit=limit),
        )


async def _create_unless_found(
    read: Callable[[], Awaitable[object]], create: Callable[[], Awaitable[object]]
) -> bool:
    """Call ``create`` unless ``read`` finds the object; True if this call created it."""
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    try:
        await read()
        return False
    except ObjectNotFound:
        pass
    try:
        await create()
    except ObjectAlreadyExists:  # created meanwhile (a worker started with --type makes its pool)
        return False
    return True


async def setup_server(*, work_pools: bool = True) -> list[str]:
    """Create what is missing and say what was done.

    Args:
        work_pools: also create the work pools (``make serve`` needs none).

    Returns:
        One line per pool or limit: created, or already there.
    """
    lines = []
    if work_pools:
        for name in work_pool_names(load_deployments()):
            created = await ensure_work_pool(name)
            lines.append(f"work pool {name!r} ({WORK_POOL_TYPE}): {'created' if created else 'exists'}")
    created = await ensure_tag_limit()
    lines.append(
        f"concurrency limit on tag {STORE_WRITES_TAG!r}: "
        + (f"created ({STORE_WRITES_LIMIT})" if created else "exists")
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m deployments.server_setup``."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        print(
            "server_setup: PREFECT_API_URL is not set; start a server (`make server`) and "
            "run `make deploy`, which sets it", file=sys.stderr,
        )
        return 1
    for line in asyncio.run(setup_server()):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
