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
import json
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


def timed_side_by_side(
    baseline: Callable[[], object], measured: Callable[[], object], count: int
) -> tuple[list[float], list[float]]:
    """Latencies (s) of `count` calls of each, alternating one and the other after a short
    warm-up, so that both see the same moments of a noisy machine."""
    for _ in range(min(100, count)):
        baseline()
        measured()
    latencies: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for call, kept in zip((baseline, measured), latencies, strict=True):
            start = time.perf_counter()
            call()
            kept.append(time.perf_counter() - start)
    return latencies


def summary(name: str, latencies: list[float]) -> float:
    """Print requests/s, p50 and p99; return the median latency."""
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    rate = 1 / statistics.fmean(latencies)
    print(f"  {name:<34} {rate:>8.0f}/s  p50 {p50 * 1000:6.2f} ms  p99 {p99 * 1000:6.2f} ms")
    return p50


def bench_intake(settings: Settings, count: int) -> tuple[float, float]:
    """POST /v1/leads beside GET /healthz; returns both median latencies."""
    intake = IntakeSettings(api_keys=(Secret(KEY),))
    server = start_in_thread(create_app(settings, intake, connect(settings)))
    try:
        with httpx.Client(base_url=server.base_url) as client:
            # The body is encoded once, as a load generator sends it: the server's cost is measured.
            body = json.dumps(JOB).encode()
            headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

            def post() -> None:
                assert client.post("/v1/leads", content=body, headers=headers).status_code == 202

            def trivial() -> None:
                assert client.get("/healthz").status_code == 200

            print(f"intake over HTTP/1.1 keep-alive, {count} requests each, alternating:")
            trivial_latencies, post_latencies = timed_side_by_side(trivial, post, count)
            base = summary("GET /healthz (trivial)", trivial_latencies)
            leads = summary("POST /v1/leads", post_latencies)
    finally:
        server.stop()
    return leads, base


def bench_producer(settings: Settings, count: int) -> tuple[float, float]:
    """enqueue_sync_lead beside a bare apply_async; returns both median latencies."""
    connection = connect(settings)
    from worker.tasks import sync_lead

    message = JobMessage(job_id="0" * 32, job=JOB).to_dict()

    def bare() -> None:
        sync_lead.apply_async(args=[message], task_id=f"{time.perf_counter_ns()}.1")

    def produce() -> None:
        enqueue_sync_lead(**JOB, connection=connection)

    print(f"producer, {count} enqueues each, alternating:")
    bare_latencies, producer_latencies = timed_side_by_side(bare, produce, count)
    base = summary("celery apply_async (bare)", bare_latencies)
    producer = summary("enqueue_sync_lead", producer_latencies)
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
    print(f"intake / trivial endpoint, median latency: {leads / trivial:.2f}x (target <= 2.0x)")
    print(f"producer / bare apply_async, median:     {producer / bare:.2f}x (target <= 1.5x)")
    # What the HTTP layer itself adds once the enqueue it performs is taken out.
    own_ms = (leads - trivial - producer) * 1000
    print(f"intake's own cost beyond a trivial request and one enqueue: {own_ms:.2f} ms")


if __name__ == "__main__":
    main()
