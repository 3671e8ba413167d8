"""The global concurrency cap: at most `limit` Marketo calls in flight across every process.

Each call holds a lease in a sorted set scored by its expiry; a lease outlives the longest call, so
a worker killed mid-call frees its place when the lease expires instead of wedging the cap.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from worker.config import Settings
from worker.policy import keys
from worker.policy.lua import NOW_LUA

POLL_INTERVAL_S = 0.02  # between attempts while the cap is full (jittered up to twice this)

# take_lease(leases, limit, ttl_ms, lease_id, now): reclaims expired leases in the sorted set
# `leases` (lease id -> expiry ms), then takes one if fewer than `limit` are held; 1 if taken.
TAKE_LEASE_LUA = """
local function take_lease(leases, limit, ttl_ms, lease_id, now)
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  if redis.call('ZCARD', leases) >= tonumber(limit) then return 0 end
  redis.call('ZADD', leases, now + tonumber(ttl_ms), lease_id)
  return 1
end
"""

# KEYS[1] the lease set. ARGV[1] limit; ARGV[2] lease TTL (ms); ARGV[3] lease id. See take_lease.
_ACQUIRE = TAKE_LEASE_LUA + NOW_LUA + "return take_lease(KEYS[1], ARGV[1], ARGV[2], ARGV[3], now)"

# KEYS[1] the lease set. ARGV[1] lease TTL (ms); ARGV[2] lease id. Extends a lease still held
# (returns 1); a lease already reclaimed is not revived (returns 0).
_RENEW = (
    NOW_LUA
    + """
return redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), ARGV[2])
"""
)


def lease_ttl_s(settings: Settings) -> float:
    """How long a lease, lead hold or run lease lives unless renewed (the runner's heartbeat
    renews them while a call runs, so a dead worker's are free again within this time)."""
    return settings.lease_ttl_s


class Lease:
    """One held place under the cap."""

    def __init__(self, leases: ConcurrencyLeases, lease_id: str) -> None:
        self._leases = leases
        self.lease_id = lease_id

    def renew(self) -> None:
        """Extend the lease, or take a new one if it was reclaimed during a long wait."""
        if not self._leases.renew(self.lease_id):
            self._leases.take(self.lease_id)


class ConcurrencyLeases:
    """Leases on a global cap of calls in flight."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        limit: int,
        lease_ttl_s: float,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._redis = client
        self._ttl_ms = int(lease_ttl_s * 1000)
        self._sleep = sleep
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)

    @classmethod
    def from_settings(cls, client: redis.Redis, settings: Settings) -> ConcurrencyLeases:
        """The cap for `MARKETO_MAX_CONCURRENCY`."""
        return cls(client, limit=settings.max_concurrency, lease_ttl_s=lease_ttl_s(settings))

    def try_take(self, lease_id: str) -> bool:
        """Take a place if one is free, reclaiming expired leases first."""
        return bool(self._acquire(keys=[keys.LEASES], args=[self.limit, self._ttl_ms, lease_id]))

    def take(self, lease_id: str) -> None:
        """Wait (polling) until a place is free, then take it."""
        while not self.try_take(lease_id):
            self._sleep(POLL_INTERVAL_S * (1 + random.random()))

    def renew(self, lease_id: str) -> bool:
        """Extend a held lease; False if it had expired and was reclaimed."""
        return bool(self._renew(keys=[keys.LEASES], args=[self._ttl_ms, lease_id]))

    def release(self, lease_id: str) -> None:
        """Give the place back."""
        self._redis.zrem(keys.LEASES, lease_id)

    @contextmanager
    def acquire(self) -> Iterator[Lease]:
        """Hold a place for the duration of the block; released on every exit path."""
        lease_id = uuid.uuid4().hex
        self.take(lease_id)
        try:
            yield Lease(self, lease_id)
        finally:
            self.release(lease_id)
