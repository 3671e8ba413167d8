"""The global rate limiter: never over the limit in any rolling window, near full use, FIFO."""

from __future__ import annotations

import itertools
import json
import threading
import time

import redis

from tests.policy.children import spawn
from worker.policy.limiter import RateLimiter

CALLS, WINDOW_S = 20, 1.0

CHILD = """
import json, sys, time
import redis
from worker.policy.limiter import RateLimiter
url, count = sys.argv[1], int(sys.argv[2])
client = redis.Redis.from_url(url)
limiter = RateLimiter(client, calls=20, window_s=1.0)
client.ping()  # imported and connected
print("ready", flush=True)
sys.stdin.readline()
granted = []
for _ in range(count):
    limiter.wait()
    granted.append(time.time())
print(json.dumps(granted))
"""


def assert_no_window_over_limit(granted: list[float]) -> None:
    granted = sorted(granted)
    for first, later in zip(granted, granted[CALLS:], strict=False):
        assert later - first >= WINDOW_S, f"{CALLS + 1} calls within {later - first:.3f} s"


def test_threads_and_processes_together_stay_under_the_limit_and_use_it(
    rds: redis.Redis, redis_url: str
) -> None:
    children = [spawn(CHILD, redis_url, 15) for _ in range(3)]
    for child in children:  # every process has imported and is ready to call
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    go = threading.Event()
    granted: list[float] = []
    lock = threading.Lock()

    def local_worker() -> None:
        limiter = RateLimiter(redis.Redis.from_url(redis_url), calls=CALLS, window_s=WINDOW_S)
        go.wait()
        for _ in range(5):
            limiter.wait()
            with lock:
                granted.append(time.time())

    threads = [threading.Thread(target=local_worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    go.set()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for thread in threads:
        thread.join(timeout=30)
    for child in children:
        out, _ = child.communicate(timeout=30)
        granted += json.loads(out)
    assert len(granted) == 60
    assert_no_window_over_limit(granted)
    # 60 calls at 20 per second fit in three windows: the last comes about 2 s after the first
    # (generous bound: a loaded machine may oversleep a booking and book again).
    span_s = max(granted) - min(granted)
    assert 2 * WINDOW_S <= span_s <= 2 * WINDOW_S * 1.3


def test_waiters_are_served_in_arrival_order(rds: redis.Redis) -> None:
    limiter = RateLimiter(rds, calls=5, window_s=0.5)
    clock = time.monotonic()
    booked = [time.monotonic() - clock + limiter.reserve() for _ in range(17)]
    # Each booking is no earlier than the one before it (to the millisecond the limiter counts in).
    assert all(later >= earlier - 0.002 for earlier, later in itertools.pairwise(booked))
    assert booked[4] < 0.1 and booked[5] >= 0.5 and booked[15] >= 1.5


def test_a_slow_sleeper_books_again_instead_of_calling_late(rds: redis.Redis) -> None:
    naps: list[float] = []

    def oversleep(seconds: float) -> None:
        naps.append(seconds)
        time.sleep(seconds + 0.2)

    limiter = RateLimiter(rds, calls=1, window_s=0.2, sleep=oversleep)
    limiter.reserve()
    limiter.wait()
    assert len(naps) >= 2  # the first booking was overslept, so it booked a second


def test_a_disabled_limiter_never_waits(rds: redis.Redis) -> None:
    limiter = RateLimiter(rds, calls=1, window_s=60, enabled=False)
    assert [limiter.wait() for _ in range(5)] == [0.0] * 5
