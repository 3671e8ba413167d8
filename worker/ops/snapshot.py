"""One reading of leadsync's shared state in Redis: what `stats` shows and `/metrics` gauges.

Everything here is read at once through one pipeline, on the Redis clock, so readings taken from
different hosts agree; it writes nothing (the runner tallies outcomes as each delivery finishes).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import redis

from worker.config import Settings
from worker.policy import keys

UNACKED = "unacked"  # kombu's Redis transport: delivered, unacknowledged messages
PRIORITY_SEPARATOR = "\x06\x16"  # kombu's Redis transport: `queue<sep><priority>` lists
PRIORITY_STEPS = (3, 6, 9)  # kombu's default steps above 0 (0 is the queue's own list)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counts at one moment (`at`, Redis time in seconds)."""

    at: float
    queued: int  # messages waiting in the broker queue
    unacked: int  # messages delivered to a worker and not yet acknowledged
    scheduled: int  # retries and deferrals waiting in leadsync's schedule
    in_flight: int  # concurrency leases held: calls in flight (or about to be) on every host
    max_concurrency: int
    dead_letters: int
    window_calls: int  # calls made in the last rolling window of the rate limit
    booked_ahead: int  # calls booked for later: callers sleeping until their slot
    rate_calls: int
    rate_window_s: float
    synced_total: int
    dead_total: int
    retried_total: int  # retries scheduled plus limit and quota deferrals

    @property
    def limiter_utilization(self) -> float:
        """Share of the rate limit used by the last rolling window (0..1)."""
        return self.window_calls / self.rate_calls

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, utilization included."""
        return {**asdict(self), "limiter_utilization": round(self.limiter_utilization, 4)}


def take(client: redis.Redis, settings: Settings) -> Snapshot:
    """Read every count in one round trip."""
    queue = settings.queue
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for name in (queue, *(f"{queue}{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)):
        pipe.llen(name)
    pipe.hlen(UNACKED)
    pipe.zcard(keys.SCHEDULE)
    pipe.zcard(keys.DEAD_INDEX)
    pipe.hgetall(keys.OUTCOMES)  # tallied by the runner's finish step
    pipe.zrange(keys.LEASES, 0, -1, withscores=True)
    pipe.zrange(keys.LIMITER, 0, -1, withscores=True)
    now, *lengths, unacked, scheduled, dead, tallies, leases, bookings = pipe.execute()
    now_ms = now[0] * 1000 + now[1] / 1000
    window_ms = settings.rate_limit.window_s * 1000
    tally = {keys.decode(k): int(v) for k, v in tallies.items()}
    return Snapshot(
        at=now_ms / 1000,
        queued=sum(lengths[: 1 + len(PRIORITY_STEPS)]),
        unacked=unacked,
        scheduled=scheduled,
        in_flight=sum(1 for _, expiry in leases if expiry > now_ms),
        max_concurrency=settings.max_concurrency,
        dead_letters=dead,
        window_calls=sum(1 for _, at in bookings if now_ms - window_ms < at <= now_ms),
        booked_ahead=sum(1 for _, at in bookings if at > now_ms),
        rate_calls=settings.rate_limit.calls,
        rate_window_s=settings.rate_limit.window_s,
        synced_total=tally.get("synced", 0),
        dead_total=tally.get("dead", 0),
        retried_total=tally.get("retry-scheduled", 0) + tally.get("deferred", 0),
    )


def rates(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Per-second rates of the tallies between two snapshots."""
    elapsed = max(after.at - before.at, 1e-6)
    return {
        "synced_per_s": round((after.synced_total - before.synced_total) / elapsed, 3),
        "dead_per_s": round((after.dead_total - before.dead_total) / elapsed, 3),
        "retried_per_s": round((after.retried_total - before.retried_total) / elapsed, 3),
    }


def sample(client: redis.Redis, settings: Settings, interval_s: float) -> dict[str, Any]:
    """Two snapshots `interval_s` apart: the later one's counts with the rates between them."""
    before = take(client, settings)
    time.sleep(interval_s)
    after = take(client, settings)
    return {**after.as_dict(), **rates(before, after)}
