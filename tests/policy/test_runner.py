"""The runner end to end against real Redis, with a plain function standing in for Marketo."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from structlog.testing import capture_logs

from worker.config import Settings
from worker.jobs import SyncLeadJob, validate_job
from worker.marketo.errors import (
    LimitError,
    MarketoError,
    PermanentError,
    QuotaError,
    ResignError,
    TransientError,
)
from worker.marketo.result import SyncResult, unprepared
from worker.policy import keys
from worker.policy.deadletters import DeadLetters
from worker.policy.message import JobMessage
from worker.policy.runner import JobRunner, Outcome
from worker.policy.submit import enqueue

from .delivery import recording

Reply = SyncResult | MarketoError


class FakeMarketo:
    """Answers each call with the next scripted reply (the last one repeats)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.calls: list[SyncLeadJob] = []

    def __call__(self, job: SyncLeadJob) -> SyncResult:
        self.calls.append(job)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, MarketoError):
            raise reply
        return reply


CREATED = SyncResult(lead_id=7, status="CREATED")


def drive(
    runner: JobRunner, published: list[JobMessage], *, max_steps: int = 50
) -> Iterator[tuple[JobMessage, Outcome]]:
    """Run published messages, moving deferred ones due at once, until nothing is left."""
    for _ in range(max_steps):
        if not published:
            make_all_due(runner.scheduler._redis)
            runner.scheduler.move_due(published.append)
            if not published:
                return
        message = published.pop(0)
        yield message, runner.run(message)


def make_all_due(rds: redis.Redis) -> None:
    """Time travel: every scheduled message is due now."""
    waiting = rds.zrange(keys.SCHEDULE, 0, -1)
    if waiting:
        rds.zadd(keys.SCHEDULE, dict.fromkeys(waiting, 0), xx=True)


@pytest.fixture
def make_runner(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> Callable[[FakeMarketo], JobRunner]:
    return lambda fake: make_runner_for(rds, settings, published, fake)


def submit(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], **fields: object
) -> str:
    return enqueue(rds, settings, validate_job(**fields), recording(published.append))


def test_a_job_syncs_on_the_first_attempt(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    runner = make_runner(FakeMarketo(CREATED))
    job_id = submit(rds, settings, published, email="ann@example.com")
    assert runner.results.get(job_id)["state"] == "queued"  # type: ignore[index]
    outcomes = [outcome for _, outcome in drive(runner, published)]
    assert outcomes == [Outcome.SYNCED]
    status = runner.results.get(job_id)
    assert status is not None
    assert (status["state"], status["attempts"], status["lead_id"]) == ("synced", 1, 7)
    assert status["sync_status"] == "CREATED"
    assert rds.zcard(keys.lead_queue("email", "ann@example.com")) == 0
    assert rds.zcard(keys.LEASES) == 0


def test_a_transient_fault_is_retried_then_synced(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    runner = make_runner(FakeMarketo(TransientError("busy", code=20011), CREATED))
    job_id = submit(rds, settings, published, email="ann@example.com")
    with capture_logs() as logs:
        outcomes = [outcome for _, outcome in drive(runner, published)]
    assert outcomes == [Outcome.RETRY_SCHEDULED, Outcome.SYNCED]
    assert runner.results.get(job_id)["attempts"] == 2  # type: ignore[index]
    retry = next(event for event in logs if event["event"] == "retry.scheduled")
    assert retry["job_id"] == job_id and retry["attempt"] == 1 and retry["delay_s"] >= 0
    assert rds.exists(keys.errors(job_id)) == 0


def test_a_permanent_fault_is_dead_after_one_attempt_with_its_code(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    fake = FakeMarketo(PermanentError("Unknown lead field", code=20105))
    runner = make_runner(fake)
    job_id = submit(rds, settings, published, email="ann@example.com")
    with capture_logs() as logs:
        assert [outcome for _, outcome in drive(runner, published)] == [Outcome.DEAD]
    status = runner.results.get(job_id)
    assert status is not None
    assert status["state"] == "dead" and status["attempts"] == 1
    assert status["error"] == {"code": 20105, "message": "Unknown lead field"}
    letter = runner.dead_letters.show(job_id)
    assert letter is not None and letter["reason"] == "permanent error"
    assert [error["code"] for error in letter["errors"]] == [20105]
    dead = next(event for event in logs if event["event"] == "job.dead")
    assert dead["reason"] == "permanent error" and dead["job_id"] == job_id
    assert len(fake.calls) == 1


def test_transient_faults_exhaust_the_attempts_into_a_dead_letter(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    runner = make_runner(FakeMarketo(TransientError("HTTP 503")))
    job_id = submit(rds, settings, published, email="ann@example.com")
    outcomes = [outcome for _, outcome in drive(runner, published)]
    assert outcomes == [Outcome.RETRY_SCHEDULED] * 2 + [Outcome.DEAD]
    letter = runner.dead_letters.show(job_id)
    assert letter is not None
    assert letter["reason"] == "retries exhausted" and letter["attempts"] == settings.max_attempts
    assert len(letter["errors"]) == settings.max_attempts
    assert letter["first_at"] <= letter["last_at"]


def test_a_failed_sync_status_is_dead_at_once(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    runner = make_runner(FakeMarketo(SyncResult(lead_id=None, status="FAILED", error="nope")))
    job_id = submit(rds, settings, published, email="ann@example.com")
    assert [outcome for _, outcome in drive(runner, published)] == [Outcome.DEAD]
    status = runner.results.get(job_id)
    assert status is not None and status["sync_status"] == "FAILED"
    assert runner.dead_letters.show(job_id)["reason"] == "sync failed"  # type: ignore[index]


def test_a_stale_signature_is_re_signed_at_once_within_the_attempt(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    fake = FakeMarketo(ResignError("Request expired", code=20016), CREATED)
    runner = make_runner(fake)
    job_id = submit(rds, settings, published, email="ann@example.com")
    with capture_logs() as logs:
        assert [outcome for _, outcome in drive(runner, published)] == [Outcome.SYNCED]
    assert len(fake.calls) == 2
    assert runner.results.get(job_id)["attempts"] == 1  # type: ignore[index]
    assert any(event["event"] == "job.resign" for event in logs)


def test_quota_and_limit_faults_wait_without_counting_an_attempt(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    fake = FakeMarketo(
        QuotaError("Quota exceeded", code=20015),
        LimitError("Rate limit", code=20023),
        LimitError("Concurrency limit", code=20024),
        CREATED,
    )
    runner = make_runner(fake)
    job_id = submit(rds, settings, published, email="ann@example.com")
    with capture_logs() as logs:
        outcomes = [outcome for _, outcome in drive(runner, published)]
    assert outcomes == [Outcome.DEFERRED] * 3 + [Outcome.SYNCED]
    assert runner.results.get(job_id)["attempts"] == 1  # type: ignore[index]
    quota = next(event for event in logs if event["event"] == "quota.deferred")
    assert quota["delay_s"] > 60
    assert [e["reason"] for e in logs if e["event"] == "limit.deferred"] == [
        "rate limit",
        "concurrency limit",
    ]


def test_redelivered_and_duplicate_messages_never_run_twice(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    fake = FakeMarketo(CREATED)
    runner = make_runner(fake)
    job_id = submit(rds, settings, published, email="ann@example.com")
    message = published[0]
    runner.results.claim(job_id, 1, run_lease_s=60)  # another worker is running this attempt
    assert runner.run(message) is Outcome.DUPLICATE
    assert runner.scheduler.pending() == 1  # it looks again when that worker's lease ends
    rds.hset(keys.job(job_id), "r", 0)  # ... which it does: that worker died
    assert runner.run(message) is Outcome.SYNCED
    assert runner.run(message) is Outcome.DROPPED
    assert len(fake.calls) == 1


def test_replay_gives_a_new_job_with_lineage_that_syncs(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], make_runner
) -> None:
    fake = FakeMarketo(PermanentError("Access denied", code=20013), CREATED)
    runner = make_runner(fake)
    old_id = submit(rds, settings, published, email="ann@example.com")
    list(drive(runner, published))
    new_id = DeadLetters(rds, settings).replay(old_id, recording(published.append))
    assert new_id is not None and new_id != old_id
    assert published[0].lineage == (old_id,)
    assert [outcome for _, outcome in drive(runner, published)] == [Outcome.SYNCED]
    assert runner.results.get(new_id)["state"] == "synced"  # type: ignore[index]
    assert runner.dead_letters.show(old_id)["replayed_as"] == [new_id]  # type: ignore[index]


def test_a_delivery_that_dies_unexpectedly_is_taken_over_by_its_watchdog(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    def crash(job: SyncLeadJob) -> SyncResult:
        raise KeyboardInterrupt  # not a Marketo failure: the delivery ends without a transition

    job_id = submit(rds, settings, published, email="ann@example.com")
    with pytest.raises(KeyboardInterrupt):
        JobRunner(rds, settings, prepare=unprepared(crash), publish=published.append).run(
            published.pop()
        )
    assert rds.hget(keys.job(job_id), "s") == "running"
    rds.hset(keys.job(job_id), "r", 0)  # its run lease ran out
    runner = make_runner_for(rds, settings, published, FakeMarketo(CREATED))
    assert [outcome for _, outcome in drive(runner, published)] == [Outcome.SYNCED]


def make_runner_for(
    rds: redis.Redis, settings: Settings, published: list[JobMessage], fake: FakeMarketo
) -> JobRunner:
    return JobRunner(rds, settings, prepare=unprepared(fake), publish=published.append)


def test_an_unconfirmed_finish_is_read_at_the_next_begin_and_its_failure_logged(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    def finish_failures() -> list[dict[str, object]]:
        return [event for event in logs if event["event"] == "job.finish_failed"]

    # Captured from the runner's first line on: a logger caches its pipeline on first use.
    with capture_logs() as logs:
        # The Celery task's runner: a synced delivery returns before Redis confirms its finish.
        runner = JobRunner(
            rds,
            settings,
            prepare=unprepared(FakeMarketo(CREATED)),
            publish=published.append,
            confirm_finish=False,
        )
        ann = submit(rds, settings, published, email="ann@example.com")
        assert runner.run(published.pop()) is Outcome.SYNCED
        runner.settle()
        assert runner.results.get(ann)["state"] == "synced"  # type: ignore[index]
        rds.set(keys.OUTCOMES, "not a hash")  # the next finish script fails half-way
        bob = submit(rds, settings, published, email="bob@example.com")
        assert runner.run(published.pop()) is Outcome.SYNCED
        assert finish_failures() == []  # nobody has read the reply yet
        # The script ran (its record write comes before the tally that fails): only then mend.
        deadline = time.monotonic() + 5
        while rds.hget(keys.job(bob), "s") != "synced" and time.monotonic() < deadline:
            time.sleep(0.01)
        rds.delete(keys.OUTCOMES)
        submit(rds, settings, published, email="cy@example.com")
        assert runner.run(published.pop()) is Outcome.SYNCED  # its begin reads bob's reply
    [failed] = finish_failures()
    assert failed["job_id"] == bob and failed["lead"] == "email=bob@example.com"
    assert str(failed["error"]).startswith("ResponseError: WRONGTYPE")
    # Bob's watchdog copy was not cancelled: it comes back and finds the job done.
    watchdogs = [JobMessage.from_json(entry).job_id for entry in rds.zrange(keys.SCHEDULE, 0, -1)]
    assert watchdogs == [bob]


def test_a_call_is_prepared_while_redis_claims_it_and_only_sent_when_it_may_run(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    prepared: list[str] = []
    sent: list[str] = []

    def prepare(job: SyncLeadJob) -> Callable[[], SyncResult]:
        prepared.append(str(job.email))

        def send() -> SyncResult:
            sent.append(str(job.email))
            return CREATED

        return send

    runner = JobRunner(rds, settings, prepare=prepare, publish=published.append)
    submit(rds, settings, published, email="ann@example.com")
    first = published.pop()
    submit(rds, settings, published, email="ann@example.com")
    assert runner.run(published.pop()) is Outcome.WAITING  # behind the first job on its lead
    assert (prepared, sent) == (["ann@example.com"], [])  # built during the claim, never sent
    assert runner.run(first) is Outcome.SYNCED
    assert sent == ["ann@example.com"]


def test_a_call_that_cannot_be_built_ends_the_job_dead(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    def prepare(job: SyncLeadJob) -> Callable[[], SyncResult]:
        raise PermanentError("invalid request: Missing element returnLead")

    runner = JobRunner(rds, settings, prepare=prepare, publish=published.append)
    job_id = submit(rds, settings, published, email="ann@example.com")
    assert runner.run(published.pop()) is Outcome.DEAD
    status = runner.results.get(job_id)
    assert status is not None and status["state"] == "dead"
    assert "Missing element returnLead" in status["error"]["message"]


def test_a_call_prepared_before_a_wait_for_the_cap_is_signed_again(
    rds: redis.Redis, settings: Settings, published: list[JobMessage]
) -> None:
    prepared: list[float] = []

    def prepare(job: SyncLeadJob) -> Callable[[], SyncResult]:
        prepared.append(time.monotonic())
        return lambda: CREATED

    one_at_a_time = dataclasses.replace(settings, max_concurrency=1)
    runner = JobRunner(rds, one_at_a_time, prepare=prepare, publish=published.append)
    runner.leases.take("another-worker")  # the cap is full when the job begins
    threading.Timer(0.3, runner.leases.release, args=("another-worker",)).start()
    submit(rds, one_at_a_time, published, email="ann@example.com")
    assert runner.run(published.pop()) is Outcome.SYNCED
    assert len(prepared) == 2  # during the claim, and again once a place was free
    assert prepared[1] - prepared[0] >= 0.25
