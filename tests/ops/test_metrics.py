"""Prometheus metrics from a real prefork worker over HTTP, and from the intake's `/metrics`."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import WorkerProcess, worker_environment
from tests.ops.conftest import add_fault, free_port, metrics_url, scrape, wait_terminal
from worker.config import Settings
from worker.ops.exposition import registry
from worker.policy import keys
from worker.producer import Connection, enqueue_sync_lead

pytestmark = pytest.mark.slow


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_worker_metrics_count_outcomes_reasons_and_call_latency_across_the_pool(
    metrics_worker: WorkerProcess, producer: Connection, sandbox: Any
) -> None:
    url = metrics_url(metrics_worker)
    before = scrape(url)
    add_fault(sandbox, "flaky@example.com", "503")
    add_fault(sandbox, "denied@example.com", "20013")
    emails = [f"m{i}@example.com" for i in range(6)] + ["flaky@example.com", "denied@example.com"]
    job_ids = [enqueue_sync_lead(email=email, connection=producer) for email in emails]
    states = [status["state"] for status in wait_terminal(job_ids, producer)]
    assert states == ["synced"] * 7 + ["dead"]

    after = scrape(url)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("leadsync_jobs_synced_total") == 7
    assert delta("leadsync_jobs_dead_total", reason="permanent error") == 1
    assert delta("leadsync_jobs_retried_total", reason="transient error") == 1
    ok_calls = "leadsync_marketo_call_seconds_count"
    assert delta(ok_calls, operation="soap.syncLead", outcome="ok") == 7
    assert delta(ok_calls, operation="soap.syncLead", outcome="transient") == 1
    assert delta(ok_calls, operation="soap.syncLead", outcome="permanent") == 1
    assert value(after, "leadsync_redis_up") == 1
    assert value(after, "leadsync_dead_letters") == 1
    assert value(after, "leadsync_queue_depth", state="queued") == 0
    assert value(after, "leadsync_marketo_calls_in_flight") == 0
    assert value(after, "leadsync_marketo_calls_in_flight_here") == 0
    assert value(after, "leadsync_limiter_window_calls") >= 9
    assert value(after, "leadsync_limiter_window_limit") == 100


def test_the_redis_gauges_read_the_configured_queue_schedule_and_leases(
    redis_client: redis.Redis, redis_url: str
) -> None:
    # No worker consumes this queue, so what waits in it stays put while it is read.
    settings = Settings(redis_url=redis_url, queue="ops-idle", max_concurrency=7)
    redis_client.lpush("ops-idle", "a", "b", "c")
    redis_client.zadd(keys.SCHEDULE, {"later": 1})
    redis_client.zadd(keys.LEASES, {"held": time.time() * 1000 + 60_000, "stale": 1})
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry(redis_client, settings).collect()
        for sample in family.samples
    }
    assert value(samples, "leadsync_queue_depth", state="queued") == 3
    assert value(samples, "leadsync_queue_depth", state="scheduled") == 1
    assert value(samples, "leadsync_marketo_calls_in_flight") == 1
    assert value(samples, "leadsync_marketo_max_concurrency") == 7


def test_an_unreachable_redis_reads_as_redis_down_not_as_an_error() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:9/0")
    client = redis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=1)
    samples = {s.name: s.value for f in registry(client, settings).collect() for s in f.samples}
    assert samples["leadsync_redis_up"] == 0
    assert "leadsync_queue_depth" not in samples


def test_a_killed_pool_child_is_marked_dead_and_its_counts_are_kept(
    metrics_worker: WorkerProcess, producer: Connection
) -> None:
    url = metrics_url(metrics_worker)
    wait_terminal([enqueue_sync_lead(email="k@example.com", connection=producer)], producer)
    synced = value(scrape(url), "leadsync_jobs_synced_total")
    directory = Path(metrics_worker.env["PROMETHEUS_MULTIPROC_DIR"])
    child = next(pid for pid in live_gauge_pids(directory) if pid != metrics_worker.process.pid)
    os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while child in live_gauge_pids(directory) and time.monotonic() < deadline:
        samples = scrape(url)
        time.sleep(0.1)
    assert child not in live_gauge_pids(directory)
    assert value(samples, "leadsync_jobs_synced_total") == synced
    assert value(samples, "leadsync_marketo_calls_in_flight_here") == 0


def live_gauge_pids(directory: Path) -> set[int]:
    return {int(path.stem.rpartition("_")[2]) for path in directory.glob("gauge_live*_*.db")}


def test_the_worker_makes_and_removes_its_own_multiprocess_directory(
    redis_url: str, sandbox_server: Any, tmp_path: Path
) -> None:
    env = worker_environment(
        redis_url,
        sandbox_server.soap_endpoint,
        LEADSYNC_METRICS_PORT=str(free_port()),
        TMPDIR=str(tmp_path),  # where its temporary directory goes
    )
    worker = WorkerProcess(env, concurrency=1, log_path=tmp_path / "w.log")
    try:
        worker.wait_ready()
        [directory] = tmp_path.glob("leadsync-metrics-*")
        assert httpx.get(metrics_url(worker)).status_code == 200
        assert list(directory.glob("*.db"))
    finally:
        worker.stop()
    assert not directory.exists()
