"""The runner under several workers: per-lead order, no overlap, and recovery from SIGKILL."""

from __future__ import annotations

import dataclasses
import itertools
import queue
import signal
import threading
import time

import pytest
import redis

from tests.policy.children import spawn
from worker.config import Settings
from worker.jobs import SyncLeadJob, validate_job
from worker.marketo.result import SyncResult, unprepared
from worker.policy import keys
from worker.policy.message import JobMessage
from worker.policy.runner import JobRunner, Outcome
from worker.policy.submit import enqueue

from .delivery import recording

KILLED_MID_CALL = """
import sys, time
import redis
from worker.config import Settings
from worker.policy.message import JobMessage
from worker.policy.runner import JobRunner
from worker.marketo.result import unprepared

def hang(job):
    print("calling", flush=True)
    time.sleep(60)

client = redis.Redis.from_url(sys.argv[1])
runner = JobRunner(client, Settings(), prepare=unprepared(hang), publish=print, lease_ttl_s=1.0)
runner.run(JobMessage.from_json(sys.argv[2]))
"""


@pytest.mark.parametrize(
    "shared",
    [False, True],
    ids=["a runner per worker", "threads sharing one runner, as a threads pool does"],
)
def test_jobs_on_one_lead_never_overlap_and_apply_in_order(
    rds: redis.Redis, redis_url: str, settings: Settings, shared: bool
) -> None:
    inbox: queue.Queue[JobMessage] = queue.Queue()
    spans: list[tuple[str, str, float, float]] = []  # email, FirstName, start, end
    lock = threading.Lock()

    def call(job: SyncLeadJob) -> SyncResult:
        start = time.monotonic()
        time.sleep(0.03)
        with lock:
            spans.append((job.email or "", job.attributes["n"], start, time.monotonic()))
        return SyncResult(lead_id=1, status="UPDATED")

    stop = threading.Event()

    # The Celery task's runner, shared by a threads pool's threads: finishes confirmed later.
    one_runner = JobRunner(
        rds, settings, prepare=unprepared(call), publish=inbox.put, confirm_finish=False
    )

    def worker() -> None:
        runner = (
            one_runner
            if shared
            else JobRunner(
                redis.Redis.from_url(redis_url),
                settings,
                prepare=unprepared(call),
                publish=inbox.put,
            )
        )
        while not stop.is_set():
            try:
                runner.run(inbox.get(timeout=0.05))
            except queue.Empty:
                continue

    workers = [threading.Thread(target=worker) for _ in range(4)]
    mover = threading.Thread(
        target=JobRunner(
            rds, settings, prepare=unprepared(call), publish=inbox.put
        ).scheduler.run_forever,
        args=(stop, inbox.put),
        kwargs={"interval_s": 0.02},
    )
    job_ids = [
        enqueue(
            rds, settings, validate_job(email=email, attributes={"n": str(n)}), recording(inbox.put)
        )
        for n in range(4)
        for email in ("ann@example.com", "bob@example.com")
    ]
    for thread in [*workers, mover]:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while any(rds.hget(keys.job(job_id), "s") != "synced" for job_id in job_ids):
            assert time.monotonic() < deadline, "jobs did not finish"
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in [*workers, mover]:
            thread.join(timeout=5)
    for email in ("ann@example.com", "bob@example.com"):
        mine = sorted((span for span in spans if span[0] == email), key=lambda span: span[2])
        assert [span[1] for span in mine] == ["0", "1", "2", "3"]
        assert all(a[3] <= b[2] for a, b in itertools.pairwise(mine))
    # The two leads did overlap: neither waited behind the other.
    ann = [span for span in spans if span[0] == "ann@example.com"]
    bob = [span for span in spans if span[0] == "bob@example.com"]
    assert any(a[2] < b[3] and b[2] < a[3] for a in ann for b in bob)


def test_a_worker_killed_mid_call_wedges_neither_the_lead_nor_the_cap(
    rds: redis.Redis, redis_url: str, settings: Settings
) -> None:
    published: list[JobMessage] = []
    first = enqueue(
        rds, settings, validate_job(email="ann@example.com"), recording(published.append)
    )
    second = enqueue(
        rds, settings, validate_job(email="ann@example.com"), recording(published.append)
    )
    first_message, second_message = published
    published.clear()
    child = spawn(KILLED_MID_CALL, redis_url, first_message.to_json())
    assert child.stdout is not None and child.stdout.readline().strip() == "calling"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)

    calls: list[SyncLeadJob] = []

    def call(job: SyncLeadJob) -> SyncResult:
        calls.append(job)
        return SyncResult(lead_id=1, status="CREATED")

    one_at_a_time = dataclasses.replace(settings, max_concurrency=1)
    runner = JobRunner(
        rds, one_at_a_time, prepare=unprepared(call), publish=published.append, lease_ttl_s=1.0
    )
    assert runner.run(second_message) is Outcome.WAITING  # the first job still comes first
    assert runner.run(first_message) is Outcome.DUPLICATE  # broker redelivery, lease still live
    time.sleep(1.1)  # the dead worker's run lease, lead hold and concurrency lease expire
    assert runner.run(first_message) is Outcome.SYNCED  # taken over
    assert runner.run(second_message) is Outcome.SYNCED
    states = [(runner.results.get(job_id) or {}).get("state") for job_id in (first, second)]
    assert states == ["synced", "synced"]
    assert len(calls) == 2
    assert rds.zcard(keys.LEASES) == 0
