"""deployments.server_setup: the work pool and the store-writes tag limit, created once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from deployments.server_setup import ensure_tag_limit, ensure_work_pool


def test_what_is_missing_is_created_once_and_then_left_alone(prefect_test_server: str) -> None:
    pool, tag = f"setup-{uuid.uuid4().hex[:8]}", f"setup-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        from prefect import get_client

        assert await ensure_work_pool(pool) is True
        assert await ensure_work_pool(pool) is False
        assert await ensure_tag_limit(tag, 3) is True
        assert await ensure_tag_limit(tag, 5) is False  # an operator's limit is kept
        async with get_client() as client:
            created = await client.read_work_pool(pool)
            assert created.type == "process" and created.base_job_template
            assert (await client.read_concurrency_limit_by_tag(tag)).concurrency_limit == 3

    asyncio.run(scenario())


def test_a_pool_created_meanwhile_counts_as_there(
    prefect_test_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker started with ``--type`` may create the pool between our read and our create."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.actions import WorkPoolCreate

    pool = f"setup-{uuid.uuid4().hex[:8]}"
    original = PrefectClient.read_work_pool

    async def read_then_race(self: PrefectClient, name: str) -> object:
        try:
            return await original(self, name)
        finally:  # the worker's pool appears right after our read found none
            await self.create_work_pool(WorkPoolCreate(name=name, type="process"))

    monkeypatch.setattr(PrefectClient, "read_work_pool", read_then_race)
    assert asyncio.run(ensure_work_pool(pool)) is False
