"""The runner's two atomic steps: what one delivery costs in Redis round trips."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import redis
from redis.connection import AbstractConnection

from worker.config import Settings
from worker.jobs import validate_job
from worker.marketo.result import SyncResult, unprepared
from worker.policy import keys
from worker.policy.message import JobMessage
from worker.policy.runner import JobRunner, Outcome
from worker.policy.submit import enqueue

from .delivery import recording

CREATED = SyncResult(lead_id=7, status="CREATED")


def count_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record every request written on a redis-py connection from now on (a pipeline is one)."""
    sent: list[int] = []
    original = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(1)
        original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


@pytest.mark.parametrize(("limiter", "expected"), [(True, 3), (False, 2)])
def test_a_synced_job_costs_two_round_trips_plus_one_for_the_limiter(
    rds: redis.Redis,
    settings: Settings,
    published: list[JobMessage],
    monkeypatch: pytest.MonkeyPatch,
    limiter: bool,
    expected: int,
) -> None:
    settings = dataclasses.replace(settings, limiter_enabled=limiter)
    runner = JobRunner(
        rds, settings, prepare=unprepared(lambda job: CREATED), publish=published.append
    )
    for email in ("ann@example.com", "bob@example.com"):
        enqueue(rds, settings, validate_job(email=email), recording(published.append))
    assert runner.run(published.pop(0)) is Outcome.SYNCED  # loads the scripts into Redis
    sent = count_round_trips(monkeypatch)
    assert runner.run(published.pop(0)) is Outcome.SYNCED
    assert len(sent) == expected
    assert rds.zcard(keys.SCHEDULE) == 0 and rds.zcard(keys.LEASES) == 0
    assert rds.keys(f"{keys.PREFIX}hold:*") == []


def test_without_the_limiter_no_concurrency_lease_is_taken(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    settings = dataclasses.replace(settings, limiter_enabled=False, max_concurrency=1)
    leases: list[int] = []

    def call(job: object) -> SyncResult:
        leases.append(int(rds.zcard(keys.LEASES)))
        return CREATED

    runner = JobRunner(rds, settings, prepare=unprepared(call), publish=published.append)
    enqueue(rds, settings, validate_job(email="ann@example.com"), recording(published.append))
    assert runner.run(published.pop()) is Outcome.SYNCED
    assert leases == [0]
