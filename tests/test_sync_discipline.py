"""Sync discipline end to end: three `leadsync worker` processes, Redis, the sandbox's limits on.

The workers share one global limit of 20 calls / 2 s and 4 calls in flight, matching the sandbox's,
so any overshoot shows up as a 20023 or 20024 fault in the sandbox's call log.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import WorkerProcess, worker_environment
from worker.celery_wire import task_delivery
from worker.config import Settings
from worker.jobs import validate_job
from worker.policy import Delivery, JobMessage, enqueue, keys
from worker.producer import Connection, connect, job_status

pytestmark = pytest.mark.slow

RATE_CALLS, RATE_WINDOW_S, CONCURRENCY = 20, 2.0, 4
RETRY_BASE_S, RETRY_CAP_S, MAX_ATTEMPTS = 0.2, 0.8, 4
MOVER_INTERVAL_S = 0.25  # how often each worker's scheduler thread publishes due messages
LIMIT_FAULTS = {20023, 20024}
LEASE_S = 4.0  # short, so the killed worker's holds expire quickly; heartbeats keep live ones


@pytest.fixture(scope="module")
def env(redis_url: str, sandbox_server: Any) -> dict[str, str]:
    """Every worker's environment: the sandbox's limits, quick retries, short timeouts."""
    return worker_environment(
        redis_url,
        sandbox_server.soap_endpoint,
        MARKETO_RATE_LIMIT=f"{RATE_CALLS}/{RATE_WINDOW_S:g}",
        MARKETO_MAX_CONCURRENCY=str(CONCURRENCY),
        # Leases, holds and run leases live LEASE_S unless a live worker's heartbeat renews them.
        LEADSYNC_LEASE_TTL=str(LEASE_S),
        MARKETO_TIMEOUT="2",
        LEADSYNC_CONNECT_TIMEOUT="0.5",
        LEADSYNC_RETRY_BASE=str(RETRY_BASE_S),
        LEADSYNC_RETRY_CAP=str(RETRY_CAP_S),
        LEADSYNC_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
    )


@pytest.fixture(scope="module")
def workers(
    env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[WorkerProcess]]:
    """Three worker processes of two pool children each: six callers against a cap of four."""
    log_dir = tmp_path_factory.mktemp("workers")
    started = [WorkerProcess(env, concurrency=2, log_path=log_dir / f"w{n}.log") for n in range(3)]
    try:
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


@pytest.fixture
def producer(
    env: dict[str, str], workers: list[WorkerProcess], redis_client: redis.Redis, sandbox: Any
) -> Connection:
    """A producer on a flushed Redis, with the sandbox enforcing the same limits as the workers."""
    configure_sandbox(
        sandbox,
        rate_limit=f"{RATE_CALLS}/{RATE_WINDOW_S:g}",
        max_concurrency=CONCURRENCY,
        latency_ms=40,
        jitter_ms=20,
        hang_s=3,
    )
    return connect(Settings.from_env(env, env_file=None))


def configure_sandbox(sandbox: Any, **changes: object) -> None:
    httpx.post(f"{sandbox.base_url}/_sandbox/config", json=changes).raise_for_status()


def add_fault(sandbox: Any, key: str, code: str, count: int = 1) -> None:
    body = {"key": key, "code": code, "count": count}
    httpx.post(f"{sandbox.base_url}/_sandbox/faults", json=body).raise_for_status()


def sandbox_calls(sandbox: Any, email: str | None = None) -> list[dict[str, Any]]:
    """The sandbox's call log, oldest first (only calls naming `email`, if given)."""
    calls = httpx.get(f"{sandbox.base_url}/_sandbox/calls").json()
    calls = calls["calls"] if isinstance(calls, dict) else calls
    if email is None:
        return calls
    return [call for call in calls if any(k.get("Email") == email for k in call["keys"])]


def leads_with(sandbox: Any, email: str) -> list[dict[str, Any]]:
    leads = httpx.get(f"{sandbox.base_url}/_sandbox/leads", params={"email": email}).json()
    return leads["leads"] if isinstance(leads, dict) else leads


def submit(
    connection: Connection,
    email: str,
    deliver: Callable[[JobMessage], Delivery] | None = None,
    **attributes: str,
) -> str:
    job = validate_job(email=email, attributes=attributes)
    return enqueue(connection.redis, connection.settings, job, deliver or connection.delivery)


def publish(connection: Connection, message: JobMessage) -> None:
    """Put a message on the workers' queue again (what a broker redelivery looks like)."""
    connection.redis.lpush(*connection.delivery(message))


def set_aside(kept: list[JobMessage]) -> Callable[[JobMessage], Delivery]:
    """A deliver that keeps each new message in `kept` instead of the workers' queue."""

    def deliver(message: JobMessage) -> Delivery:
        kept.append(message)
        return Delivery(queue="leadsync-test:aside", entry=message.to_json())

    return deliver


def wait_states(
    connection: Connection, job_ids: list[str], timeout_s: float = 30
) -> list[dict[str, Any]]:
    """Wait until every job is synced or dead; returns their status objects."""
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = [job_status(job_id, connection=connection) or {} for job_id in job_ids]
        if all(status.get("state") in {"synced", "dead"} for status in statuses):
            return statuses
        if time.monotonic() > deadline:
            raise AssertionError(f"jobs did not finish: {statuses}")
        time.sleep(0.05)


def worker_events(workers: list[WorkerProcess], event: str) -> list[dict[str, Any]]:
    """Every JSON log line with this event, from every worker."""
    found = []
    for worker in workers:
        for line in worker.logs().splitlines():
            if line.startswith("{") and f'"{event}"' in line:
                record = json.loads(line)
                if record.get("event") == event:
                    found.append(record)
    return found


def assert_no_limit_faults(calls: list[dict[str, Any]]) -> None:
    assert [call["fault_code"] for call in calls if call["fault_code"] in LIMIT_FAULTS] == []


def busiest_window(calls: list[dict[str, Any]], window_s: float) -> int:
    """The most calls received within any rolling window (start, start + window_s]."""
    times = sorted(call["received_at"] for call in calls)
    return max(sum(1 for t in times if end - window_s < t <= end) for end in times)


def most_in_flight(calls: list[dict[str, Any]]) -> int:
    edges = sorted(
        [(call["received_at"], 1) for call in calls]
        + [(call["completed_at"], -1) for call in calls]
    )
    return max(itertools.accumulate(change for _, change in edges))


def leadsync(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `leadsync` command line against the test Redis."""
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_three_workers_never_exceed_the_global_rate_or_concurrency_limit(
    producer: Connection, sandbox: Any, workers: list[WorkerProcess]
) -> None:
    configure_sandbox(sandbox, latency_ms=120, jitter_ms=60)
    job_ids = [submit(producer, f"rate{n}@example.com", FirstName="R") for n in range(60)]
    statuses = wait_states(producer, job_ids)
    assert {status["state"] for status in statuses} == {"synced"}
    calls = sandbox_calls(sandbox)
    assert len(calls) == 60
    assert_no_limit_faults(calls)
    assert busiest_window(calls, RATE_WINDOW_S) <= RATE_CALLS
    assert most_in_flight(calls) <= CONCURRENCY
    # Waiters proceed in order and use the limit to the brim: 60 calls take about two windows.
    received = sorted(call["received_at"] for call in calls)
    assert received[-1] - received[0] < 2 * RATE_WINDOW_S + 1.5
    assert worker_events(workers, "limiter.wait")


def test_transient_faults_back_off_by_the_policy_then_sync(
    producer: Connection, sandbox: Any, workers: list[WorkerProcess]
) -> None:
    add_fault(sandbox, "back@example.com", "503", count=MAX_ATTEMPTS - 1)
    job_id = submit(producer, "back@example.com", FirstName="B")
    [status] = wait_states(producer, [job_id])
    assert (status["state"], status["attempts"]) == ("synced", MAX_ATTEMPTS)
    calls = sandbox_calls(sandbox, "back@example.com")
    assert [call["outcome"] for call in calls] == ["HTTP_503"] * (MAX_ATTEMPTS - 1) + ["CREATED"]
    scheduled = sorted(
        (e for e in worker_events(workers, "retry.scheduled") if e["job_id"] == job_id),
        key=lambda event: event["attempt"],
    )
    assert [event["attempt"] for event in scheduled] == list(range(1, MAX_ATTEMPTS))
    for event, before, after in zip(scheduled, calls, calls[1:], strict=False):
        ceiling_s = min(RETRY_CAP_S, RETRY_BASE_S * 2 ** (event["attempt"] - 1))
        assert 0 <= event["delay_s"] <= ceiling_s  # full jitter under the exponential ceiling
        gap_s = after["received_at"] - before["completed_at"]
        assert event["delay_s"] - 0.01 <= gap_s <= event["delay_s"] + MOVER_INTERVAL_S + 1.0


def test_a_stale_signature_is_re_signed_at_once_without_a_retry(
    producer: Connection, sandbox: Any, workers: list[WorkerProcess]
) -> None:
    add_fault(sandbox, "resign@example.com", "20016")
    job_id = submit(producer, "resign@example.com", FirstName="S")
    [status] = wait_states(producer, [job_id])
    assert (status["state"], status["attempts"]) == ("synced", 1)
    calls = sandbox_calls(sandbox, "resign@example.com")
    assert [call["fault_code"] for call in calls] == [20016, None]
    assert calls[1]["received_at"] - calls[0]["completed_at"] < 0.5
    assert [e for e in worker_events(workers, "job.resign") if e["job_id"] == job_id]
    assert not [e for e in worker_events(workers, "retry.scheduled") if e["job_id"] == job_id]


def test_a_permanent_fault_is_dead_at_once_and_the_dead_commands_work(
    producer: Connection, sandbox: Any, env: dict[str, str]
) -> None:
    add_fault(sandbox, "denied@example.com", "20013", count=2)
    first = submit(producer, "denied@example.com", FirstName="D")
    [status] = wait_states(producer, [first])
    assert (status["state"], status["attempts"]) == ("dead", 1)
    assert status["error"]["code"] == 20013
    assert len(sandbox_calls(sandbox, "denied@example.com")) == 1

    listed = json.loads(leadsync(env, "dead", "list", "--json").stdout)
    assert [letter["job_id"] for letter in listed] == [first]
    shown = json.loads(leadsync(env, "dead", "show", first).stdout)
    assert shown["reason"] == "permanent error" and shown["attempts"] == 1
    assert [error["code"] for error in shown["errors"]] == [20013]

    # Replay keeps the lineage: the replay dies too (the fault fires twice), its replay syncs.
    second = leadsync(env, "dead", "replay", first).stdout.split()[1]
    assert wait_states(producer, [second])[0]["state"] == "dead"
    assert json.loads(leadsync(env, "dead", "show", second).stdout)["lineage"] == [first]
    third = leadsync(env, "dead", "replay", second).stdout.split()[1]
    assert wait_states(producer, [third])[0]["state"] == "synced"
    assert json.loads(leadsync(env, "dead", "show", first).stdout)["replayed_as"] == [second]

    # Purge removes dead letters only: a live job named with them keeps its record and message.
    parked: list[JobMessage] = []
    live = submit(producer, "parked@example.com", set_aside(parked), FirstName="P")
    purged = leadsync(env, "dead", "purge", first, live)
    assert purged.returncode == 0 and purged.stdout.strip() == "purged 1"
    assert (job_status(live, connection=producer) or {}).get("state") == "queued"
    assert producer.redis.zscore(keys.lead_queue("email", "parked@example.com"), live)
    remaining = {
        letter["job_id"] for letter in json.loads(leadsync(env, "dead", "list", "--json").stdout)
    }
    assert remaining == {second}
    publish(producer, parked[0])
    assert wait_states(producer, [live])[0]["state"] == "synced"


def test_jobs_for_one_email_never_overlap_and_apply_in_enqueue_order(
    producer: Connection, sandbox: Any
) -> None:
    configure_sandbox(sandbox, duplicate_race=True, latency_ms=60, jitter_ms=30)
    emails = [f"burst{n}@example.com" for n in range(4)]
    order = {
        email: [submit(producer, email, FirstName=f"v{n}") for n in range(5)] for email in emails
    }
    # Enqueued interleaved above per email; all 20 go out as one burst across six callers.
    statuses = {email: wait_states(producer, ids) for email, ids in order.items()}
    calls = sandbox_calls(sandbox)
    assert_no_limit_faults(calls)
    for email in emails:
        assert len(leads_with(sandbox, email)) == 1  # the duplicate race never fired
        mine = sandbox_calls(sandbox, email)
        assert [call["outcome"] for call in mine] == ["CREATED"] + ["UPDATED"] * 4
        assert all(a["completed_at"] <= b["received_at"] for a, b in itertools.pairwise(mine))
        done = statuses[email]
        assert [status["sync_status"] for status in done] == ["CREATED"] + ["UPDATED"] * 4
        assert [s["updated_at"] for s in done] == sorted(s["updated_at"] for s in done)
        assert leads_with(sandbox, email)[0]["attributes"]["FirstName"] == "v4"
    # Other leads never waited behind one another.
    spans = [(c["received_at"], c["completed_at"], c["keys"][0]["Email"]) for c in calls]
    assert any(a[2] != b[2] and a[0] < b[1] and b[0] < a[1] for a, b in itertools.pairwise(spans))


def test_redelivered_messages_of_waiting_jobs_are_neither_lost_nor_run_twice(
    producer: Connection, sandbox: Any
) -> None:
    # What the broker's visibility-timeout redelivery looks like to a worker: the same message
    # again, while its job waits for a retry, waits behind another job on its lead, or is done.
    add_fault(sandbox, "again@example.com", "503", count=2)
    sent: list[JobMessage] = []

    def deliver(message: JobMessage) -> Delivery:
        sent.append(message)
        return producer.delivery(message)

    first = submit(producer, "again@example.com", deliver, FirstName="first")
    second = submit(producer, "again@example.com", deliver, FirstName="second")
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        for message in sent[:2]:
            publish(producer, message)
        time.sleep(0.1)
    statuses = wait_states(producer, [first, second])
    for message in sent[:2]:
        publish(producer, message)  # once more after both finished
    time.sleep(1.0)
    assert [(s["state"], s["attempts"]) for s in statuses] == [("synced", 3), ("synced", 1)]
    calls = sandbox_calls(sandbox, "again@example.com")
    assert [call["outcome"] for call in calls] == ["HTTP_503", "HTTP_503", "CREATED", "UPDATED"]
    assert leads_with(sandbox, "again@example.com")[0]["attributes"]["FirstName"] == "second"


def test_a_worker_killed_holding_a_lease_and_a_lead_wedges_neither(
    producer: Connection, sandbox: Any, env: dict[str, str], tmp_path: Path
) -> None:
    # A fourth worker on its own queue takes the job that hangs in the sandbox, and is killed
    # mid-call; its lease, lead hold and run lease expire, and its watchdog copy is taken over.
    doomed = WorkerProcess(
        env | {"LEADSYNC_QUEUE": "doomed"}, concurrency=1, log_path=tmp_path / "doomed.log"
    )
    try:
        doomed.wait_ready()
        add_fault(sandbox, "stuck@example.com", "hang")

        def to_doomed(message: JobMessage) -> Delivery:
            return task_delivery(message, "doomed")

        stuck = submit(producer, "stuck@example.com", to_doomed, FirstName="one")
        hold = keys.lead_hold("email", "stuck@example.com")
        deadline = time.monotonic() + 10
        while not (producer.redis.exists(hold) and producer.redis.zcard(keys.LEASES)):
            assert time.monotonic() < deadline, "the doomed worker never called"
            time.sleep(0.01)
        time.sleep(0.3)  # the call hangs in the sandbox for longer than the 2 s read timeout
        doomed.kill()
    finally:
        doomed.stop()
    killed_at = time.monotonic()
    behind = submit(producer, "stuck@example.com", FirstName="two")
    others = [submit(producer, f"free{n}@example.com", FirstName="F") for n in range(6)]
    # Other leads and the limiter carry on meanwhile, with one place of the cap lost for now.
    assert {s["state"] for s in wait_states(producer, others, timeout_s=10)} == {"synced"}
    assert (job_status(behind, connection=producer) or {}).get("state") != "synced"
    statuses = wait_states(producer, [stuck, behind], timeout_s=45)
    assert [(s["state"], s["attempts"]) for s in statuses] == [("synced", 1), ("synced", 1)]
    assert time.monotonic() - killed_at > LEASE_S  # it waited for the expiry, not for luck
    assert leads_with(sandbox, "stuck@example.com")[0]["attributes"]["FirstName"] == "two"
    assert producer.redis.zcard(keys.LEASES) == 0
    assert not producer.redis.exists(hold)
    assert_no_limit_faults(sandbox_calls(sandbox))
