"""The global rolling-window rate limiter shared by every worker process on every host.

Reservation style: each caller atomically books the earliest call time that keeps every rolling
window of `window_s` at or under `calls`, then sleeps until it. Bookings are handed out in arrival
order, so waiters proceed first come first served and the limit is used to the brim, with no burst
beyond it (a token bucket lets about twice the limit through one rolling window).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
import structlog

from worker.config import Settings
from worker.policy import keys
from worker.policy.lua import NOW_LUA

# A booked time must be this far past the window of the calls-th previous booking: it absorbs the
# gap between a booked time and the moment the request reaches Marketo.
DEFAULT_SAFETY_MARGIN_S = 0.05
MAX_REBOOKINGS = 3  # a sleep that overran its booking books again, at most this often

# KEYS[1] sorted set of booked call times (ms); KEYS[2] counter giving each booking a unique member.
# ARGV[1] calls allowed per window; ARGV[2] window (ms); ARGV[3] safety margin (ms).
# Books t = max(now, last booking, booking[n - calls + 1] + window + margin) on the Redis clock, so
# hosts' clocks do not matter, and returns t - now: how long the caller waits before calling.
_RESERVE = (
    NOW_LUA
    + """
local calls, window, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window - margin))
local slot = now
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then slot = math.max(slot, tonumber(last[2])) end
local nth = redis.call('ZRANGE', KEYS[1], -calls, -calls, 'WITHSCORES')
if nth[2] and redis.call('ZCARD', KEYS[1]) >= calls then
  slot = math.max(slot, tonumber(nth[2]) + window + margin)
end
redis.call('ZADD', KEYS[1], slot, redis.call('INCR', KEYS[2]))
redis.call('PEXPIRE', KEYS[1], slot - now + window + margin + 1000)
return slot - now
"""
)


class RateLimiter:
    """Books Marketo call times so that no rolling window holds more than `calls` calls."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        calls: int,
        window_s: float,
        safety_margin_s: float = DEFAULT_SAFETY_MARGIN_S,
        enabled: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.calls = calls
        self.window_s = window_s
        self.enabled = enabled
        self._margin_ms = max(1, int(safety_margin_s * 1000))
        self._sleep = sleep
        self._reserve = client.register_script(_RESERVE)

    @classmethod
    def from_settings(cls, client: redis.Redis, settings: Settings) -> RateLimiter:
        """The limiter for `MARKETO_RATE_LIMIT` (off when `LEADSYNC_LIMITER=0`)."""
        return cls(
            client,
            calls=settings.rate_limit.calls,
            window_s=settings.rate_limit.window_s,
            enabled=settings.limiter_enabled,
        )

    def reserve(self) -> float:
        """Book the next call time; returns the seconds to wait before calling."""
        if not self.enabled:
            return 0.0
        wait_ms = self._reserve(
            keys=[keys.LIMITER, keys.LIMITER_SEQ],
            args=[self.calls, int(self.window_s * 1000), self._margin_ms],
        )
        return int(wait_ms) / 1000

    def wait(self) -> float:
        """Book a call time and sleep until it; returns the seconds the bookings asked to wait.

        A sleep that overran its booking by more than the safety margin (a paused process) books
        again: calling late on an old booking could crowd a later window.
        """
        waited = 0.0
        for _ in range(MAX_REBOOKINGS + 1):
            wait_s = self.reserve()
            started = time.monotonic()
            if wait_s > 0:
                self._sleep(wait_s)
            slept = time.monotonic() - started
            waited += wait_s
            if slept - wait_s <= self._margin_ms / 1000:
                break
            structlog.get_logger(__name__).warning(
                "limiter.rebooked", overrun_s=round(slept - wait_s, 3)
            )
        return waited
