"""The intake's Redis side on asyncio: the once-store and the producer's async entry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import redis
import redis.asyncio
from prometheus_client import REGISTRY

from tests.intake.conftest import QUEUE, queued
from worker.config import Settings
from worker.intake.once import OnceStore
from worker.jobs import validate_job
from worker.policy.async_scripts import AsyncScripts
from worker.producer import Connection, enqueue_sync_lead, submit_job


def with_once_store(
    redis_url: str, steps: Callable[[OnceStore, redis.asyncio.Redis], Awaitable[None]]
) -> None:
    """Run `steps` on a fresh event loop with a once-store over a `redis.asyncio` client."""

    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            await steps(OnceStore(client), client)
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_a_failed_first_request_lets_go_of_its_key(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def failing() -> dict[str, str]:
        raise RuntimeError("the enqueue failed")

    async def first() -> dict[str, str]:
        return {"job_id": "first"}

    async def steps(once: OnceStore, client: redis.asyncio.Redis) -> None:
        with pytest.raises(RuntimeError):
            await once.run("k", "fp", ttl_s=60, work=failing)
        assert await client.get("k") is None
        assert await once.run("k", "fp", ttl_s=60, work=first) == ({"job_id": "first"}, True)
        assert await once.run("k", "fp", ttl_s=60, work=failing) == ({"job_id": "first"}, False)

    with_once_store(redis_url, steps)


def test_a_duplicate_waits_on_the_same_loop_while_the_first_finishes(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def never() -> dict[str, str]:
        raise AssertionError("a duplicate must not enqueue")

    async def steps(once: OnceStore, _: redis.asyncio.Redis) -> None:
        started, finish = asyncio.Event(), asyncio.Event()

        async def slow() -> dict[str, str]:
            started.set()
            await finish.wait()
            return {"job_id": "first"}

        first = asyncio.create_task(once.run("k", "fp", ttl_s=60, work=slow))
        await started.wait()
        duplicate = asyncio.create_task(once.run("k", "fp", ttl_s=60, work=never))
        await asyncio.sleep(0.1)
        assert not duplicate.done()  # waiting for the first request, without blocking it
        finish.set()
        assert await first == ({"job_id": "first"}, True)
        assert await duplicate == ({"job_id": "first"}, False)

    with_once_store(redis_url, steps)


def test_submit_job_enqueues_as_enqueue_sync_lead_does(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = Settings(redis_url=redis_url, queue=QUEUE, workspace="Europe")
    connection = Connection(settings=settings, url=redis_url, redis=redis_client)

    async def submit(email: str, **fields: str) -> str:
        scripts = AsyncScripts(connection.open_async())
        try:
            return await submit_job(
                validate_job(email=email, **fields), connection=connection, scripts=scripts
            )
        finally:
            await scripts.aclose()

    before = REGISTRY.get_sample_value("leadsync_jobs_enqueued_total") or 0.0
    asyncio.run(submit("a@example.com"))
    asyncio.run(submit("b@example.com", workspace="Asia"))
    enqueue_sync_lead(email="a@example.com", connection=connection)
    assert REGISTRY.get_sample_value("leadsync_jobs_enqueued_total") - before == 3
    jobs = [message["job"] for message in queued(redis_client)]
    assert jobs == [
        {"email": "a@example.com", "workspace": "Europe"},
        {"email": "b@example.com", "workspace": "Asia"},
        {"email": "a@example.com", "workspace": "Europe"},
    ]
