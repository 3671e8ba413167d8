"""Delayed deliveries kept in Redis instead of broker ETAs.

Celery's Redis transport redelivers any message left unacknowledged past the visibility timeout,
and a countdown/ETA message is held unacknowledged until it is due, so a long delay there runs the
task twice (Celery docs, "Using Redis", Caveats). Here a delayed message waits in a sorted set
scored by its due time; movers in every worker publish it when due. A mover first pushes the
message's score to a claim deadline, then publishes, then removes it: a mover that dies in between
causes at most one duplicate publish, never a loss, and the attempt claim drops the duplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis
import structlog

from worker.logs import describe_error
from worker.policy import keys
from worker.policy.lua import NOW_LUA
from worker.policy.message import JobMessage

CLAIM_S = 30.0  # a claimed message is published again by another mover if not removed by then
BATCH = 100  # messages claimed per round trip

# KEYS[1] the schedule. ARGV[1] delay (ms); ARGV[2] message JSON. Due time from the Redis clock.
_DEFER = (
    NOW_LUA
    + """
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
"""
)

# KEYS[1] the schedule. ARGV[1] claim time (ms); ARGV[2] batch size. Moves each due message's
# score to now + claim time, so other movers skip it until then; returns {message, score, ...}.
_CLAIM_DUE = (
    NOW_LUA
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local claimed = {}
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), member)
  table.insert(claimed, member)
  table.insert(claimed, redis.call('ZSCORE', KEYS[1], member))
end
return claimed
"""
)

# KEYS[1] the schedule. ARGV[1] message; ARGV[2] the score it was claimed with. Removes it only if
# nobody deferred the same message again meanwhile (a runner re-checking its lead reuses it).
_DONE = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


class Scheduler:
    """Messages waiting for their due time, shared by all workers."""

    def __init__(self, client: redis.Redis, *, claim_s: float = CLAIM_S) -> None:
        self._redis = client
        self._claim_ms = int(claim_s * 1000)
        self._defer = client.register_script(_DEFER)
        self._claim_due = client.register_script(_CLAIM_DUE)
        self._done = client.register_script(_DONE)

    def defer(self, message: JobMessage, delay_s: float) -> None:
        """Publish `message` after `delay_s` seconds (by the Redis clock)."""
        self._defer(keys=[keys.SCHEDULE], args=[max(0, int(delay_s * 1000)), message.to_json()])

    def pending(self) -> int:
        """How many messages wait, due or not."""
        return int(self._redis.zcard(keys.SCHEDULE))

    def move_due(self, publish: Callable[[JobMessage], None]) -> int:
        """Publish every due message; returns how many were published."""
        moved = 0
        while True:
            claimed = self._claim_due(keys=[keys.SCHEDULE], args=[self._claim_ms, BATCH])
            for member, score in zip(claimed[::2], claimed[1::2], strict=True):
                # A publish that raises leaves the message claimed: it is retried after CLAIM_S.
                publish(JobMessage.from_json(member))
                self._done(keys=[keys.SCHEDULE], args=[member, score])
                moved += 1
            if len(claimed) < 2 * BATCH:
                return moved

    def run_forever(
        self,
        stop: threading.Event,
        publish: Callable[[JobMessage], None],
        *,
        interval_s: float = 0.25,
    ) -> None:
        """Move due messages every `interval_s` until `stop` is set (run it in a daemon thread)."""
        log = structlog.get_logger(__name__)
        while not stop.wait(interval_s):
            try:
                self.move_due(publish)
            except Exception as error:  # a broker or Redis hiccup must not kill the mover thread
                log.warning("schedule.move_failed", error=describe_error(error))
