"""A call that outlasts the lease keeps its hold through the heartbeat; a dead one frees it soon."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import redis

from worker.config import Settings
from worker.jobs import SyncLeadJob, validate_job
from worker.marketo.result import SyncResult, unprepared
from worker.policy import keys
from worker.policy.heartbeat import Heartbeat
from worker.policy.message import JobMessage
from worker.policy.runner import JobRunner, Outcome
from worker.policy.submit import enqueue

from .delivery import recording

LEASE_S = 0.6


def test_heartbeat_calls_renew_until_the_block_ends() -> None:
    beats: list[float] = []
    with Heartbeat(every_s=0.05).keep_alive(lambda: beats.append(time.monotonic())):
        time.sleep(0.3)
    count = len(beats)
    time.sleep(0.15)
    assert count >= 3
    assert len(beats) == count  # stopped with the block


def test_a_call_longer_than_the_lease_is_not_taken_over(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    settings = replace(settings, lease_ttl_s=LEASE_S)
    calls: list[str] = []

    def slow_marketo(job: SyncLeadJob) -> SyncResult:
        calls.append(job.email or "")
        time.sleep(LEASE_S * 4)
        return SyncResult(lead_id=1, status="CREATED")

    runner = JobRunner(rds, settings, prepare=unprepared(slow_marketo), publish=published.append)
    enqueue(rds, settings, validate_job(email="slow@example.com"), recording(published.append))
    [message] = published
    outcomes: list[Outcome] = []
    first = threading.Thread(target=lambda: outcomes.append(runner.run(message)))
    first.start()
    time.sleep(LEASE_S * 2.5)  # past the lease: only the heartbeat keeps it
    assert rds.exists(keys.lead_hold("email", "slow@example.com"))
    assert runner.run(message) is Outcome.DUPLICATE  # a redelivery finds it still running
    first.join()
    assert outcomes == [Outcome.SYNCED]
    assert calls == ["slow@example.com"]
