"""Per-lead ordering: one job per lead key at a time, in enqueue order, others never blocked."""

from __future__ import annotations

import signal
import time

import redis

from tests.policy.children import spawn
from worker.policy.ordering import LeadOrdering
from worker.policy.results import ResultsStore

ANN = {"email": "ann@example.com"}
BOB = {"email": "bob@example.com"}
HOLD_S = 30.0

HOLDER = """
import sys, time
import redis
from worker.policy.ordering import LeadOrdering
ordering = LeadOrdering(redis.Redis.from_url(sys.argv[1]))
assert ordering.acquire("a", {"email": "ann@example.com"}, hold_ttl_s=1.0)
print("held", flush=True)
time.sleep(60)
"""


def enqueue(rds: redis.Redis, job_id: str, lead_keys: dict[str, str]) -> None:
    ResultsStore(rds, ttl_s=3600).create(job_id)
    LeadOrdering(rds).register(job_id, lead_keys)


def test_jobs_on_one_lead_run_one_at_a_time_in_enqueue_order(rds: redis.Redis) -> None:
    ordering = LeadOrdering(rds)
    for job_id in ("a", "b", "c"):
        enqueue(rds, job_id, ANN)
    assert not ordering.acquire("b", ANN, hold_ttl_s=HOLD_S)
    assert not ordering.acquire("c", ANN, hold_ttl_s=HOLD_S)
    assert ordering.acquire("a", ANN, hold_ttl_s=HOLD_S)
    ordering.release("a", ANN)  # a will retry: it keeps its place
    assert not ordering.acquire("b", ANN, hold_ttl_s=HOLD_S)
    ordering.unregister("a", ANN)  # a is finished
    assert not ordering.acquire("c", ANN, hold_ttl_s=HOLD_S)
    assert ordering.acquire("b", ANN, hold_ttl_s=HOLD_S)
    ordering.unregister("b", ANN)
    assert ordering.acquire("c", ANN, hold_ttl_s=HOLD_S)


def test_other_leads_never_wait(rds: redis.Redis) -> None:
    ordering = LeadOrdering(rds)
    enqueue(rds, "a", ANN)
    enqueue(rds, "b", ANN)
    enqueue(rds, "x", BOB)
    assert ordering.acquire("a", ANN, hold_ttl_s=HOLD_S)
    assert ordering.acquire("x", BOB, hold_ttl_s=HOLD_S)


def test_a_job_with_several_keys_waits_on_each_of_them(rds: redis.Redis) -> None:
    ordering = LeadOrdering(rds)
    enqueue(rds, "by-email", ANN)
    enqueue(rds, "by-id", {"id": "5"})
    enqueue(rds, "both", ANN | {"id": "5"})
    assert not ordering.acquire("both", ANN | {"id": "5"}, hold_ttl_s=HOLD_S)
    ordering.unregister("by-email", ANN)
    assert not ordering.acquire("both", ANN | {"id": "5"}, hold_ttl_s=HOLD_S)
    ordering.unregister("by-id", {"id": "5"})
    assert ordering.acquire("both", ANN | {"id": "5"}, hold_ttl_s=HOLD_S)


def test_a_job_whose_record_is_gone_or_finished_no_longer_blocks(rds: redis.Redis) -> None:
    ordering = LeadOrdering(rds)
    enqueue(rds, "expired", ANN)
    enqueue(rds, "finished", ANN)
    enqueue(rds, "next", ANN)
    rds.delete("leadsync:job:expired")
    rds.hset("leadsync:job:finished", "s", "synced")
    assert ordering.acquire("next", ANN, hold_ttl_s=HOLD_S)


def test_a_killed_holders_hold_expires(rds: redis.Redis, redis_url: str) -> None:
    ordering = LeadOrdering(rds)
    enqueue(rds, "a", ANN)
    child = spawn(HOLDER, redis_url)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    # The redelivered job (still first in line) cannot be held twice while the hold lives...
    assert rds.get("leadsync:hold:email:ann@example.com") == "a"
    deadline = time.monotonic() + 5
    while rds.exists("leadsync:hold:email:ann@example.com"):
        assert time.monotonic() < deadline, "the killed worker's hold never expired"
        time.sleep(0.05)
    # ...and runs again once it has expired; later jobs still wait for it to finish.
    enqueue(rds, "b", ANN)
    assert ordering.acquire("a", ANN, hold_ttl_s=HOLD_S)
    assert not ordering.acquire("b", ANN, hold_ttl_s=HOLD_S)
