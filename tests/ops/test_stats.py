"""`leadsync stats` against a real Redis: one JSON snapshot, and the live view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import redis

from tests.conftest import REPO
from worker.ops.snapshot import UNACKED
from worker.policy import keys


def stats_env(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADSYNC_"))}
    # A queue no worker of the suite consumes, and a limit that makes utilization easy to read.
    env.update(
        REDIS_URL=redis_url,
        LEADSYNC_QUEUE="ops-stats",
        MARKETO_RATE_LIMIT="10/20",
        MARKETO_MAX_CONCURRENCY="4",
        PYTHONPATH=str(REPO),
    )
    return env


def seed(client: redis.Redis) -> None:
    now_ms = time.time() * 1000
    client.lpush("ops-stats", "m1", "m2", "m3")
    client.lpush("ops-stats\x06\x169", "urgent")
    client.hset(UNACKED, "tag", "m")
    client.zadd(keys.SCHEDULE, {"r1": now_ms + 5000, "r2": now_ms + 9000})
    client.zadd(keys.DEAD_INDEX, {"d1": now_ms})
    client.zadd(keys.LEASES, {"a": now_ms + 60_000, "b": now_ms + 60_000, "old": now_ms - 1})
    client.zadd(keys.LIMITER, {"1": now_ms - 30_000, "2": now_ms - 1000, "3": now_ms - 500})
    # Booked well ahead: still ahead when a slow start leaves stats reading seconds later.
    client.zadd(keys.LIMITER, {"4": now_ms - 100, "5": now_ms + 15_000})
    tallies = {"synced": 40, "dead": 1, "retry-scheduled": 2, "deferred": 1}
    client.hset(keys.OUTCOMES, mapping=tallies)


def test_stats_json_prints_one_snapshot_with_rates(
    redis_client: redis.Redis, redis_url: str
) -> None:
    seed(redis_client)

    done = threading.Event()

    def finish_jobs() -> None:  # about 100 jobs a second, until stats has read twice
        while not done.wait(0.05):
            redis_client.hincrby(keys.OUTCOMES, "synced", 5)

    thread = threading.Thread(target=finish_jobs)
    thread.start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "worker", "stats", "--json", "--interval", "1.5"],
            env=stats_env(redis_url), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        done.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    snapshot = json.loads(line)
    assert snapshot["queued"] == 4
    assert snapshot["unacked"] == 1
    assert snapshot["scheduled"] == 2
    assert snapshot["dead_letters"] == 1
    assert (snapshot["in_flight"], snapshot["max_concurrency"]) == (2, 4)
    assert (snapshot["window_calls"], snapshot["booked_ahead"]) == (3, 1)
    assert snapshot["limiter_utilization"] == 0.3
    assert (snapshot["dead_total"], snapshot["retried_total"]) == (1, 3)
    assert snapshot["synced_total"] > 40
    assert 60 <= snapshot["synced_per_s"] <= 110
    assert snapshot["dead_per_s"] == 0


def test_stats_draws_a_live_view_until_interrupted(
    redis_client: redis.Redis, redis_url: str
) -> None:
    seed(redis_client)
    process = subprocess.Popen(
        [sys.executable, "-m", "worker", "stats", "--interval", "0.2"],
        env=stats_env(redis_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    for label in ("queued", "calls in flight", "2 / 4", "30% of 10 per 20 s", "dead letters"):
        assert label in out, out
