"""The status record of each job: one small Redis hash, updated at every transition.

Field names are one or two letters to keep a finished record under ~600 bytes of Redis memory:
s state, a attempts, x the attempt number the next delivery must carry, r run-lease deadline (ms,
Redis clock), l lead id, y syncStatus, ec/em last error code and message, c/u created/updated (ms).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import redis

from worker.marketo.result import SyncResult
from worker.policy import keys

# Values up to 64 bytes keep the hash in Redis's compact listpack encoding
# (hash-max-listpack-value); a longer error message is cut to fit.
# The dead letter and the logs keep the full text.
MAX_ERROR_BYTES = 64

QUEUED, RUNNING, RETRYING, SYNCED, DEAD = "queued", "running", "retrying", "synced", "dead"
TERMINAL_STATES = (SYNCED, DEAD)

# KEYS[1] job record. ARGV[1] TTL (s); ARGV[2] '1' creates the record, '0' updates it only if it
# exists (a late update must not resurrect an expired record); ARGV[3..] field/value pairs, where
# an empty value deletes the field. Stamps u (and c on create) from the Redis clock.
_UPDATE = """
local t = redis.call('TIME')
local now = string.format('%.0f', t[1] * 1000 + math.floor(t[2] / 1000))
if ARGV[2] == '0' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'c', now) end
redis.call('HSET', KEYS[1], 'u', now)
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# KEYS[1] job record. ARGV[1] the delivered message's attempt; ARGV[2] run lease (ms);
# ARGV[3] TTL (s). Returns {verdict, ms}: 'run' or 'takeover' (the record now runs this attempt),
# 'busy' (another delivery runs it; ms = lease time left), 'stale' (another attempt is expected),
# 'done' (terminal), 'missing' (no record).
_CLAIM = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local rec = redis.call('HMGET', KEYS[1], 's', 'x', 'r')
local state, expected, lease = rec[1], rec[2], tonumber(rec[3])
if not state then return {'missing', 0} end
if state == 'synced' or state == 'dead' then return {'done', 0} end
if expected ~= ARGV[1] then return {'stale', 0} end
local verdict = 'run'
if state == 'running' then
  if lease and lease > now then return {'busy', lease - now} end
  verdict = 'takeover'
end
redis.call('HSET', KEYS[1], 's', 'running', 'a', ARGV[1], 'u', string.format('%.0f', now),
  'r', string.format('%.0f', now + tonumber(ARGV[2])))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {verdict, 0}
"""

# KEYS[1] job record. ARGV[1] attempt; ARGV[2] run lease (ms). Extends the run lease while that
# attempt still runs; returns 1 if extended.
_RENEW = """
local rec = redis.call('HMGET', KEYS[1], 's', 'x')
if rec[1] ~= 'running' or rec[2] ~= ARGV[1] then return 0 end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('HSET', KEYS[1], 'r', string.format('%.0f', now + tonumber(ARGV[2])))
return 1
"""


class Claim(StrEnum):
    """What the attempt claim decided about a delivered message."""

    RUN = "run"
    TAKEOVER = "takeover"
    BUSY = "busy"
    STALE = "stale"
    DONE = "done"
    MISSING = "missing"


def error_info(code: int | None, message: str) -> dict[str, Any]:
    """The `error` object of the status record."""
    return {"code": code, "message": message}


class ResultsStore:
    """Job status records with a TTL refreshed at every transition."""

    def __init__(self, client: redis.Redis, *, ttl_s: int) -> None:
        self._redis = client
        self._ttl_s = int(ttl_s)
        self._update = client.register_script(_UPDATE)
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)

    def create(self, job_id: str, *, pipeline: redis.client.Pipeline | None = None) -> None:
        """A new record in state queued, expecting attempt 1."""
        self._write(job_id, {"s": QUEUED, "a": 0, "x": 1}, create=True, pipeline=pipeline)

    def delete(self, job_id: str, *, pipeline: redis.client.Pipeline | None = None) -> None:
        """Forget a record (used when publishing a new job failed)."""
        (pipeline or self._redis).delete(keys.job(job_id))

    def claim(self, job_id: str, attempt: int, *, run_lease_s: float) -> tuple[Claim, float]:
        """Atomically decide whether this delivery may run; returns the verdict and, if busy, the
        seconds left on the other delivery's run lease."""
        verdict, left_ms = self._claim(
            keys=[keys.job(job_id)], args=[attempt, int(run_lease_s * 1000), self._ttl_s]
        )
        return Claim(keys.decode(verdict)), int(left_ms) / 1000

    def renew(self, job_id: str, attempt: int, *, run_lease_s: float) -> bool:
        """Extend the run lease of an attempt that is still running (after a long limiter wait)."""
        return bool(self._renew(keys=[keys.job(job_id)], args=[attempt, int(run_lease_s * 1000)]))

    def mark_waiting(self, job_id: str, *, attempt: int, retrying: bool) -> None:
        """Undo a claim whose attempt could not start yet (another job holds the lead)."""
        state = RETRYING if retrying else QUEUED
        self._write(job_id, {"s": state, "a": attempt - 1, "r": ""})

    def mark_retrying(
        self, job_id: str, *, attempts: int, next_attempt: int, error: dict[str, Any]
    ) -> None:
        """The attempt failed and a later delivery (carrying `next_attempt`) is scheduled."""
        fields = {"s": RETRYING, "a": attempts, "x": next_attempt, "r": ""}
        self._write(job_id, fields | _error_fields(error))

    def mark_synced(
        self, job_id: str, result: SyncResult, *, pipeline: redis.client.Pipeline | None = None
    ) -> None:
        """Marketo created or updated the lead."""
        fields = {"s": SYNCED, "l": _text(result.lead_id), "y": result.status, "x": "", "r": ""}
        self._write(job_id, fields | _error_fields(None), pipeline=pipeline)

    def mark_dead(
        self,
        job_id: str,
        error: dict[str, Any],
        *,
        result: SyncResult | None = None,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """The job failed for good; its dead letter holds the details."""
        fields: dict[str, Any] = {"s": DEAD, "x": "", "r": ""}
        if result is not None:
            fields |= {"l": _text(result.lead_id), "y": result.status}
        self._write(job_id, fields | _error_fields(error), pipeline=pipeline)

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The `leadsync status --json` object, or None for an unknown (or expired) id."""
        raw = self._redis.hgetall(keys.job(job_id))
        if not raw:
            return None
        rec = {keys.decode(k): keys.decode(v) for k, v in raw.items()}
        error = None
        if "em" in rec or "ec" in rec:
            code = rec.get("ec")
            error = error_info(int(code) if code else None, rec.get("em", ""))
        lead_id = rec.get("l")
        return {
            "job_id": job_id,
            "state": rec.get("s"),
            "attempts": int(rec.get("a", 0)),
            "lead_id": int(lead_id) if lead_id else None,
            "sync_status": rec.get("y"),
            "error": error,
            "created_at": _iso(rec.get("c")),
            "updated_at": _iso(rec.get("u")),
        }

    def _write(
        self,
        job_id: str,
        fields: dict[str, Any],
        *,
        create: bool = False,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        args: list[Any] = [self._ttl_s, "1" if create else "0"]
        for name, value in fields.items():
            args += [name, value]
        self._update(keys=[keys.job(job_id)], args=args, client=pipeline)


def _error_fields(error: dict[str, Any] | None) -> dict[str, Any]:
    if error is None:
        return {"ec": "", "em": ""}
    return {"ec": _text(error.get("code")), "em": _shorten(str(error.get("message") or "-"))}


def _shorten(message: str) -> str:
    if len(message.encode()) <= MAX_ERROR_BYTES:
        return message
    cut = message.encode()[: MAX_ERROR_BYTES - 3].decode(errors="ignore")
    return cut + "…"


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _iso(ms: str | None) -> str | None:
    if not ms:
        return None
    moment = datetime.fromtimestamp(int(ms) / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
