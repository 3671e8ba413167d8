"""Dead letters: every job that failed for good, with its full history, until purged or expired.

A dead letter is one JSON string (`leadsync:dead:<job id>`, expiring after `dead_ttl_s`) indexed by
the time the job died (`leadsync:dead`); past `dead_max_count` the oldest are evicted. While a job
lives, its attempt errors collect in a short list that moves into its dead letter when it dies.
Purging touches only dead letters, never live jobs.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis

from worker.config import Settings
from worker.jobs import SyncLeadJob
from worker.policy import keys
from worker.policy.message import Delivery, JobMessage
from worker.policy.submit import enqueue

# KEYS[1] the dead index. ARGV[1] maximum count; ARGV[2] oldest time kept (ms); ARGV[3] dead letter
# key prefix. Drops index entries past retention (their letters expire by TTL) and evicts the
# oldest letters beyond the maximum count. Returns how many were evicted for the count.
_TRIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
local oldest = redis.call('ZPOPMIN', KEYS[1], excess)
for i = 1, #oldest, 2 do redis.call('DEL', ARGV[3] .. oldest[i]) end
return excess
"""


def _now_ms() -> int:
    return int(time.time() * 1000)


def error_entry(error: dict[str, Any]) -> str:
    """One attempt's error (code, message) stamped with its time, as kept for the dead letter."""
    return json.dumps({**error, "at": time.time()}, separators=(",", ":"))


class DeadLetters:
    """The dead-letter store behind `leadsync dead list|show|replay|purge`."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._redis = client
        self._settings = settings
        self._ttl_s = settings.dead_ttl_s
        self._trim = client.register_script(_TRIM)

    def note_error(self, job_id: str, error: dict[str, Any]) -> None:
        """Remember one attempt's error (code, message) with its time, for the dead letter."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.rpush(keys.errors(job_id), error_entry(error))
        pipe.expire(keys.errors(job_id), self._settings.result_ttl_s)
        pipe.execute()

    def errors(self, job_id: str) -> list[dict[str, Any]]:
        """The attempt errors noted so far for a live job, oldest first."""
        return [json.loads(item) for item in self._redis.lrange(keys.errors(job_id), 0, -1)]

    def forget_errors(self, job_id: str, *, pipeline: redis.client.Pipeline | None = None) -> None:
        """Drop a finished job's error list."""
        (pipeline or self._redis).delete(keys.errors(job_id))

    def add(
        self,
        message: JobMessage,
        *,
        reason: str,
        attempts: int,
        errors: list[dict[str, Any]],
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Store the dead letter of `message`'s job (in `pipeline` with the state change)."""
        dead_at = time.time()
        letter = {
            "job_id": message.job_id,
            "job": message.job,
            "lineage": list(message.lineage),
            "reason": reason,
            "attempts": attempts,
            "errors": errors,
            "first_at": errors[0]["at"] if errors else dead_at,
            "last_at": errors[-1]["at"] if errors else dead_at,
            "dead_at": dead_at,
            "replayed_as": [],
        }
        target = pipeline or self._redis.pipeline(transaction=True)
        target.set(keys.dead(message.job_id), json.dumps(letter), ex=self._ttl_s)
        target.zadd(keys.DEAD_INDEX, {message.job_id: int(dead_at * 1000)})
        self.forget_errors(message.job_id, pipeline=target)
        self._trim(keys=[keys.DEAD_INDEX], args=self._trim_args(), client=target)
        if pipeline is None:
            target.execute()

    def list(self) -> list[dict[str, Any]]:
        """Every dead letter, newest first."""
        self._trim(keys=[keys.DEAD_INDEX], args=self._trim_args())
        ids = self._ids(self._redis.zrevrange(keys.DEAD_INDEX, 0, -1))
        if not ids:
            return []
        raw = self._redis.mget([keys.dead(job_id) for job_id in ids])
        letters = [json.loads(item) for item in raw if item is not None]
        gone = [job_id for job_id, item in zip(ids, raw, strict=True) if item is None]
        if gone:
            self._redis.zrem(keys.DEAD_INDEX, *gone)
        return letters

    def show(self, job_id: str) -> dict[str, Any] | None:
        """One dead letter, or None."""
        raw = self._redis.get(keys.dead(job_id))
        return None if raw is None else json.loads(raw)

    def replay(self, job_id: str, deliver: Callable[[JobMessage], Delivery]) -> str | None:
        """Enqueue the dead job again as a new job whose lineage names it; returns the new id.

        The dead letter stays, recording the replay, until purged or expired.
        """
        letter = self.show(job_id)
        if letter is None:
            return None
        job = SyncLeadJob.model_validate(letter["job"])
        lineage = [*letter.get("lineage", []), job_id]
        new_id = enqueue(self._redis, self._settings, job, deliver, lineage=lineage)
        letter["replayed_as"] = [*letter.get("replayed_as", []), new_id]
        self._redis.set(keys.dead(job_id), json.dumps(letter), keepttl=True)
        return new_id

    def replay_all(self, deliver: Callable[[JobMessage], Delivery]) -> dict[str, str]:
        """Replay every dead letter not replayed yet; returns old id -> new id."""
        replayed: dict[str, str] = {}
        for letter in self.list():
            if not letter.get("replayed_as"):
                new_id = self.replay(letter["job_id"], deliver)
                if new_id is not None:
                    replayed[letter["job_id"]] = new_id
        return replayed

    def purge(self, job_ids: Iterable[str]) -> int:
        """Delete these dead letters (ids that are not dead letters are ignored); returns count."""
        ids = list(job_ids)
        if not ids:
            return 0
        pipe = self._redis.pipeline(transaction=True)
        pipe.zrem(keys.DEAD_INDEX, *ids)
        pipe.delete(*[keys.dead(job_id) for job_id in ids])
        _, deleted = pipe.execute()
        return int(deleted)

    def purge_all(self) -> int:
        """Delete every dead letter; returns count."""
        ids = self._ids(self._redis.zrange(keys.DEAD_INDEX, 0, -1))
        return self.purge(ids)

    @staticmethod
    def _ids(members: Any) -> builtins.list[str]:
        # The index's members: ZRANGE without scores (redis-py types every option's reply).
        return [keys.decode(member) or "" for member in members]

    def _trim_args(self) -> builtins.list[Any]:  # `list` here is the method above
        oldest_ms = _now_ms() - self._ttl_s * 1000
        return [self._settings.dead_max_count, oldest_ms, keys.DEAD_PREFIX]
