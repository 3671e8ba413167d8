"""A per-client fixed-window counter in Redis for the public form endpoint."""

from __future__ import annotations

import math

import redis.asyncio

from worker.config import RateLimit
from worker.intake import keys
from worker.intake.errors import ClientError

# KEYS[1] the client's counter. ARGV[1] window (ms). Returns {count in window, ms left in window}.
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""


class ClientRateLimit:
    """At most `limit.calls` posts per client address in each window of `limit.window_s`."""

    def __init__(self, client: redis.asyncio.Redis, limit: RateLimit) -> None:
        self._limit = limit
        self._hit = client.register_script(_HIT)

    async def hit(self, address: str) -> None:
        """Count one post; refuses with 429 and Retry-After once the window's budget is spent."""
        count, left_ms = await self._hit(
            keys=[keys.rate(address)], args=[int(self._limit.window_s * 1000)]
        )
        if int(count) > self._limit.calls:
            retry_after = max(1, math.ceil(int(left_ms) / 1000))
            raise ClientError(
                429,
                "too many form posts from this address; try again later",
                [("client", f"at most {self._limit} posts per window")],
                headers={"Retry-After": str(retry_after)},
            )
