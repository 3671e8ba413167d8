"""The global concurrency cap: never over the limit; a killed holder's lease expires."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import redis

from tests.policy.children import spawn
from worker.policy import keys
from worker.policy.leases import ConcurrencyLeases

HOLDER = """
import sys, time
import redis
from worker.policy.leases import ConcurrencyLeases
leases = ConcurrencyLeases(redis.Redis.from_url(sys.argv[1]), limit=1, lease_ttl_s=1.0)
with leases.acquire():
    print("held", flush=True)
    time.sleep(60)
"""


def test_threads_never_exceed_the_cap_and_fill_it(rds: redis.Redis, redis_url: str) -> None:
    in_flight, peak = 0, 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal in_flight, peak
        leases = ConcurrencyLeases(redis.Redis.from_url(redis_url), limit=3, lease_ttl_s=10)
        for _ in range(4):
            with leases.acquire():
                with lock:
                    in_flight += 1
                    peak = max(peak, in_flight)
                time.sleep(0.02)
                with lock:
                    in_flight -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert peak == 3
    assert rds.zcard(keys.LEASES) == 0


def test_a_lease_is_released_when_the_block_raises(rds: redis.Redis) -> None:
    leases = ConcurrencyLeases(rds, limit=1, lease_ttl_s=10)
    with pytest.raises(RuntimeError), leases.acquire():
        raise RuntimeError("call failed")
    assert leases.try_take("next")


def test_a_killed_holder_frees_its_place_when_the_lease_expires(
    rds: redis.Redis, redis_url: str
) -> None:
    child = spawn(HOLDER, redis_url)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    leases = ConcurrencyLeases(rds, limit=1, lease_ttl_s=1.0)
    assert not leases.try_take("mine")  # the dead worker's lease still counts...
    deadline = time.monotonic() + 5
    while not leases.try_take("mine"):  # ...until it expires
        assert time.monotonic() < deadline, "the killed worker's lease never expired"
        time.sleep(0.05)


def test_renewing_a_reclaimed_lease_takes_a_new_one(rds: redis.Redis) -> None:
    leases = ConcurrencyLeases(rds, limit=1, lease_ttl_s=10)
    with leases.acquire() as lease:
        rds.zadd(keys.LEASES, {lease.lease_id: 0})  # expired during a long wait
        lease.renew()
        assert rds.zscore(keys.LEASES, lease.lease_id) is not None
        assert not leases.try_take("other")
