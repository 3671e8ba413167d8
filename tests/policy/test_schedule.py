"""Delayed deliveries: published when due, duplicated (never lost) by a mover crash."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from worker.config import Settings
from worker.jobs import validate_job
from worker.marketo.result import SyncResult, unprepared
from worker.policy import keys
from worker.policy.message import JobMessage
from worker.policy.runner import JobRunner, Outcome
from worker.policy.schedule import Scheduler
from worker.policy.submit import enqueue

from .delivery import recording


def message(job_id: str = "j1", attempt: int = 1) -> JobMessage:
    return JobMessage(job_id=job_id, job={"email": "ann@example.com"}, attempt=attempt)


def test_only_due_messages_are_published(rds: redis.Redis) -> None:
    scheduler = Scheduler(rds)
    scheduler.defer(message("now"), 0)
    scheduler.defer(message("later"), 60)
    published: list[JobMessage] = []
    assert scheduler.move_due(published.append) == 1
    assert [m.job_id for m in published] == ["now"]
    assert scheduler.pending() == 1


def test_a_mover_that_dies_mid_publish_causes_a_duplicate_not_a_loss(rds: redis.Redis) -> None:
    scheduler = Scheduler(rds, claim_s=0.2)
    scheduler.defer(message(), 0)
    published: list[JobMessage] = []

    def publish_then_die(msg: JobMessage) -> None:
        published.append(msg)
        raise KeyboardInterrupt  # the mover process is killed before it removes the message

    with pytest.raises(KeyboardInterrupt):
        scheduler.move_due(publish_then_die)
    assert scheduler.move_due(published.append) == 0  # claimed: other movers wait...
    time.sleep(0.3)
    assert scheduler.move_due(published.append) == 1  # ...then publish it again
    assert len(published) == 2 and published[0] == published[1]
    assert scheduler.pending() == 0


def test_the_attempt_claim_drops_the_duplicate(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    calls: list[object] = []

    def call(job: object) -> SyncResult:
        calls.append(job)
        return SyncResult(lead_id=1, status="CREATED")

    runner = JobRunner(rds, settings, prepare=unprepared(call), publish=published.append)
    enqueue(rds, settings, validate_job(email="ann@example.com"), recording(published.append))
    first = published.pop()
    duplicate = JobMessage.from_json(first.to_json())
    assert runner.run(first) is Outcome.SYNCED
    assert runner.run(duplicate) is Outcome.DROPPED
    assert len(calls) == 1


def test_the_mover_thread_publishes_until_stopped(rds: redis.Redis) -> None:
    scheduler = Scheduler(rds)
    published: list[JobMessage] = []
    stop = threading.Event()
    mover = threading.Thread(
        target=scheduler.run_forever, args=(stop, published.append), kwargs={"interval_s": 0.02}
    )
    mover.start()
    scheduler.defer(message(), 0.1)
    deadline = time.monotonic() + 5
    while not published:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stop.set()
    mover.join(timeout=5)
    assert not mover.is_alive()
    assert rds.zcard(keys.SCHEDULE) == 0


def test_a_message_deferred_again_while_being_moved_is_kept(rds: redis.Redis) -> None:
    scheduler = Scheduler(rds)
    scheduler.defer(message(), 0)

    def publish_and_redefer(msg: JobMessage) -> None:
        scheduler.defer(msg, 60)  # a fast worker already got it and must look again later

    assert scheduler.move_due(publish_and_redefer) == 1
    assert scheduler.pending() == 1
