"""Enqueue: one atomic round trip, and a safety net for lost messages."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import redis
import redis.asyncio

from worker.config import Settings
from worker.jobs import validate_job
from worker.marketo.result import SyncResult, unprepared
from worker.policy import keys
from worker.policy.async_scripts import AsyncScripts
from worker.policy.message import Delivery, JobMessage
from worker.policy.runner import JobRunner, Outcome
from worker.policy.schedule import Scheduler
from worker.policy.submit import enqueue, enqueue_async

from .delivery import TEST_QUEUE, recording
from .test_runner import make_all_due


def synced(_: object) -> SyncResult:
    return SyncResult(lead_id=5, status="CREATED")


def test_a_message_lost_before_any_worker_recorded_it_is_published_again(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    job_id = enqueue(
        rds, settings, validate_job(email="lost@example.com"), recording(published.append)
    )
    published.clear()  # the broker handed it to a worker that died at once: nothing holds it now
    scheduler = Scheduler(rds)
    assert scheduler.move_due(published.append) == 0  # not before requeue_after_s
    make_all_due(rds)
    assert scheduler.move_due(published.append) == 1
    runner = JobRunner(rds, settings, prepare=unprepared(synced), publish=published.append)
    assert runner.run(published.pop()) is Outcome.SYNCED
    assert runner.results.get(job_id)["state"] == "synced"  # type: ignore[index]
    assert rds.zcard(keys.SCHEDULE) == 0


def test_a_job_that_runs_leaves_no_safety_net_behind(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    enqueue(rds, replace(settings, requeue_after_s=600), validate_job(email="a@example.com"),
            recording(published.append))  # fmt: skip
    assert rds.zcard(keys.SCHEDULE) == 1
    runner = JobRunner(rds, settings, prepare=unprepared(synced), publish=published.append)
    assert runner.run(published.pop()) is Outcome.SYNCED
    assert rds.zcard(keys.SCHEDULE) == 0


def test_the_record_the_lead_queues_the_safety_net_and_the_message_land_together(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    job_id = enqueue(
        rds, settings, validate_job(email="a@example.com"), recording(published.append)
    )
    [message] = published
    assert rds.lrange(TEST_QUEUE, 0, -1) == [message.to_json()]
    assert rds.hget(keys.job(job_id), "s") == "queued"
    assert rds.zrange(keys.SCHEDULE, 0, -1) == [message.to_json()]
    assert rds.zrange(keys.lead_queue("email", "a@example.com"), 0, -1) == [job_id]


def test_a_message_that_cannot_be_encoded_leaves_nothing(
    rds: redis.Redis, settings: Settings
) -> None:
    def unencodable(_: JobMessage) -> Delivery:
        raise ValueError("cannot encode")

    with pytest.raises(ValueError):
        enqueue(rds, settings, validate_job(email="a@example.com"), unencodable)
    assert rds.keys("*") == []


def test_the_asyncio_enqueue_writes_the_same_record_message_and_safety_net(
    rds: redis.Redis, redis_url: str, settings: Settings, published: list[JobMessage]
) -> None:
    async def submit() -> str:
        scripts = AsyncScripts(redis.asyncio.Redis.from_url(redis_url, decode_responses=True))
        try:
            job = validate_job(email="a@example.com")
            return await enqueue_async(scripts, settings, job, recording(published.append))
        finally:
            await scripts.aclose()

    job_id = asyncio.run(submit())
    [message] = published
    assert message.job_id == job_id
    assert rds.lrange(TEST_QUEUE, 0, -1) == [message.to_json()]
    assert rds.hget(keys.job(job_id), "s") == "queued"
    assert rds.zrange(keys.SCHEDULE, 0, -1) == [message.to_json()]
    assert rds.zrange(keys.lead_queue("email", "a@example.com"), 0, -1) == [job_id]
