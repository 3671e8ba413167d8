"""Intake and producer overhead, each beside its baseline from the same run (loopback only).

    python bench/intake.py [--requests N]

1. `POST /v1/leads` requests/s and p50/p99 beside `GET /healthz` of the same server (target: at
   most 2x the trivial endpoint's latency).
2. `enqueue_sync_lead` latency beside a bare Celery `apply_async` of the same task and payload on
   the same Redis (target: at most 1.5x).
Uses REDIS_URL when set (its queue is flushed), else a throwaway embedded Valkey.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

from worker.config import Secret, Settings
from worker.embedded import launch
from worker.intake import IntakeSettings, create_app, start_in_thread
from worker.policy import JobMessage
from worker.producer import connect, enqueue_sync_lead

KEY = "bench-key"
QUEUE = "leadsync-bench"
JOB = {"email": "ann@example.com", "attributes": {"FirstName": "Ann", "Company": "Example"}}


def timed(call: Callable[[], object], count: int) -> list[float]:
    """Latencies (s) of `count` sequential calls, after a short warm-up."""
    for _ in range(min(100, count)):
        call()
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - start)
    return latencies


def summary(name: str, latencies: list[float]) -> float:
    """Print requests/s, p50 and p99; return the mean latency."""
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    mean = statistics.fmean(latencies)
    print(f"  {name:<34} {1 / mean:>8.0f}/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    return mean


def bench_intake(settings: Settings, count: int) -> tuple[float, float]:
    """POST /v1/leads beside GET /healthz; returns both mean latencies."""
    intake = IntakeSettings(api_keys=(Secret(KEY),))
    server = start_in_thread(create_app(settings, intake, connect(settings)))
    try:
        with httpx.Client(base_url=server.base_url) as client:
            headers = {"Authorization": f"Bearer {KEY}"}

            def post() -> None:
                assert client.post("/v1/leads", json=JOB, headers=headers).status_code == 202

            def trivial() -> None:
                assert client.get("/healthz").status_code == 200

            print(f"intake over HTTP/1.1 keep-alive, {count} sequential requests each:")
            base = summary("GET /healthz (trivial)", timed(trivial, count))
            leads = summary("POST /v1/leads", timed(post, count))
    finally:
        server.stop()
    return leads, base


def bench_producer(settings: Settings, count: int) -> tuple[float, float]:
    """enqueue_sync_lead beside a bare apply_async; returns both mean latencies."""
    connection = connect(settings)
    from worker.tasks import sync_lead

    message = JobMessage(job_id="0" * 32, job=JOB).to_dict()

    def bare() -> None:
        sync_lead.apply_async(args=[message], task_id=f"{time.perf_counter_ns()}.1")

    def produce() -> None:
        enqueue_sync_lead(**JOB, connection=connection)

    print(f"producer, {count} sequential enqueues each:")
    base = summary("celery apply_async (bare)", timed(bare, count))
    producer = summary("enqueue_sync_lead", timed(produce, count))
    return producer, base


def main() -> None:
    """Run both comparisons and print the ratios against their targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    count = max(100, min(parser.parse_args().requests, 100_000))
    server = None
    url = os.environ.get("REDIS_URL")
    if not url:
        server = launch(Path(tempfile.mkdtemp(prefix="leadsync-bench-")))
        url = server.url
    settings = Settings(redis_url=url, queue=QUEUE, result_ttl_s=600)
    try:
        leads, trivial = bench_intake(settings, count)
        producer, bare = bench_producer(settings, count)
    finally:
        client = redis.Redis.from_url(url)
        client.delete(QUEUE)
        client.close()
        if server is not None:
            server.stop()
    print(f"intake / trivial endpoint latency: {leads / trivial:.2f}x (target <= 2.0x)")
    print(f"producer / bare apply_async:       {producer / bare:.2f}x (target <= 1.5x)")
    # What the HTTP layer itself adds once the enqueue it performs is taken out.
    own_ms = (leads - trivial - producer) * 1000
    print(f"intake's own cost beyond a trivial request and one enqueue: {own_ms:.2f} ms")


if __name__ == "__main__":
    main()
