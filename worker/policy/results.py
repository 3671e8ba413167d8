"""The status record of each job: one small Redis hash, updated at every transition.

Field names are one or two letters to keep a finished record under ~600 bytes of Redis memory:
s state, a attempts, x the attempt number the next delivery must carry, r run-lease deadline (ms,
Redis clock), l lead id, y syncStatus, ec/em last error code and message, c/u created/updated (ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import redis

from worker.marketo.result import SyncResult
from worker.policy import keys
from worker.policy.lua import NOW_LUA

# Values up to 64 bytes keep the hash in Redis's compact listpack encoding
# (hash-max-listpack-value); a longer error message is cut to fit.
# The dead letter and the logs keep the full text.
MAX_ERROR_BYTES = 64

QUEUED, RUNNING, RETRYING, SYNCED, DEAD = "queued", "running", "retrying", "synced", "dead"
TERMINAL_STATES = (SYNCED, DEAD)

# write_record(key, ttl_s, create, args, first, now): the one way a record changes. `create` '1'
# makes the record, '0' updates it only if it exists (a late update must not resurrect an expired
# record); args[first..] are field/value pairs, where an empty value deletes the field. Stamps u
# (and c on create) with `now` (ms, Redis clock) and refreshes the TTL. Returns 1 if written.
WRITE_RECORD_LUA = """
local function write_record(key, ttl_s, create, args, first, now)
  local stamp = string.format('%.0f', now)
  if create == '0' and redis.call('EXISTS', key) == 0 then return 0 end
  if create == '1' then redis.call('HSET', key, 'c', stamp) end
  redis.call('HSET', key, 'u', stamp)
  for i = first, #args, 2 do
    if args[i + 1] == '' then
      redis.call('HDEL', key, args[i])
    else
      redis.call('HSET', key, args[i], args[i + 1])
    end
  end
  redis.call('EXPIRE', key, ttl_s)
  return 1
end
"""

# check_claim(key, attempt, now): whether a delivery of `attempt` may run, without writing.
# Returns verdict, ms: 'run' or 'takeover' (a dead delivery's run lease is over), 'busy' (another
# delivery runs it; ms = lease time left), 'stale' (another attempt is expected), 'done'
# (terminal), 'missing' (no record).
CHECK_CLAIM_LUA = """
local function check_claim(key, attempt, now)
  local rec = redis.call('HMGET', key, 's', 'x', 'r')
  local state, expected, lease = rec[1], rec[2], tonumber(rec[3])
  if not state then return 'missing', 0 end
  if state == 'synced' or state == 'dead' then return 'done', 0 end
  if expected ~= attempt then return 'stale', 0 end
  if state == 'running' then
    if lease and lease > now then return 'busy', lease - now end
    return 'takeover', 0
  end
  return 'run', 0
end
"""

# mark_running(key, attempt, lease_ms, ttl_s, now): the record runs `attempt` until now + lease.
MARK_RUNNING_LUA = """
local function mark_running(key, attempt, lease_ms, ttl_s, now)
  redis.call('HSET', key, 's', 'running', 'a', attempt, 'u', string.format('%.0f', now),
    'r', string.format('%.0f', now + lease_ms))
  redis.call('EXPIRE', key, ttl_s)
end
"""

# KEYS[1] job record. ARGV[1] TTL (s); ARGV[2] '1' creates the record, '0' updates it only if it
# exists; ARGV[3..] field/value pairs (see write_record).
_UPDATE = (
    WRITE_RECORD_LUA + NOW_LUA + "return write_record(KEYS[1], ARGV[1], ARGV[2], ARGV, 3, now)"
)

# KEYS[1] job record. ARGV[1] the delivered message's attempt; ARGV[2] run lease (ms);
# ARGV[3] TTL (s). Returns {verdict, ms} (see check_claim); on 'run' or 'takeover' the record now
# runs this attempt.
_CLAIM = (
    CHECK_CLAIM_LUA
    + MARK_RUNNING_LUA
    + NOW_LUA
    + """
local verdict, ms = check_claim(KEYS[1], ARGV[1], now)
if verdict == 'run' or verdict == 'takeover' then
  mark_running(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], now)
end
return {verdict, ms}
"""
)

# KEYS[1] job record. ARGV[1] attempt; ARGV[2] run lease (ms). Extends the run lease while that
# attempt still runs; returns 1 if extended.
_RENEW = (
    NOW_LUA
    + """
local rec = redis.call('HMGET', KEYS[1], 's', 'x')
if rec[1] ~= 'running' or rec[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'r', string.format('%.0f', now + tonumber(ARGV[2])))
return 1
"""
)


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

    def claim(self, job_id: str, attempt: int, *, run_lease_s: float) -> tuple[Claim, float]:
        """Atomically decide whether this delivery may run; returns the verdict and, if busy, the
        seconds left on the other delivery's run lease."""
        verdict, left_ms = self._claim(
            keys=[keys.job(job_id)], args=[attempt, int(run_lease_s * 1000), self._ttl_s]
        )
        return Claim(keys.decode(verdict) or ""), int(left_ms) / 1000

    def renew(self, job_id: str, attempt: int, *, run_lease_s: float) -> bool:
        """Extend the run lease of an attempt that is still running (after a long limiter wait)."""
        return bool(self._renew(keys=[keys.job(job_id)], args=[attempt, int(run_lease_s * 1000)]))

    def mark_retrying(
        self, job_id: str, *, attempts: int, next_attempt: int, error: dict[str, Any]
    ) -> None:
        """The attempt failed and a later delivery (carrying `next_attempt`) is scheduled."""
        self._write(job_id, retrying_fields(attempts, next_attempt, error))

    def mark_synced(
        self, job_id: str, result: SyncResult, *, pipeline: redis.client.Pipeline | None = None
    ) -> None:
        """Marketo created or updated the lead."""
        self._write(job_id, synced_fields(result), pipeline=pipeline)

    def mark_dead(
        self,
        job_id: str,
        error: dict[str, Any],
        *,
        result: SyncResult | None = None,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """The job failed for good; its dead letter holds the details."""
        self._write(job_id, dead_fields(error, result), pipeline=pipeline)

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The `leadsync status --json` object, or None for an unknown (or expired) id."""
        return decode_status(job_id, self._redis.hgetall(keys.job(job_id)))

    def _write(
        self,
        job_id: str,
        fields: dict[str, Any],
        *,
        create: bool = False,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        args = [self._ttl_s, "1" if create else "0", *field_args(fields)]
        self._update(keys=[keys.job(job_id)], args=args, client=pipeline)


def decode_status(job_id: str, raw: Mapping[Any, Any]) -> dict[str, Any] | None:
    """The status object from a record's `HGETALL` reply (sync or asyncio client, decoded or
    not); None for an empty reply: an unknown or expired id."""
    if not raw:
        return None
    rec = {keys.decode(k): keys.decode(v) for k, v in raw.items()}
    error = None
    if "em" in rec or "ec" in rec:
        code = rec.get("ec")
        error = error_info(int(code) if code else None, rec.get("em") or "")
    lead_id = rec.get("l")
    return {
        "job_id": job_id,
        "state": rec.get("s"),
        "attempts": int(rec.get("a") or 0),
        "lead_id": int(lead_id) if lead_id else None,
        "sync_status": rec.get("y"),
        "error": error,
        "created_at": _iso(rec.get("c")),
        "updated_at": _iso(rec.get("u")),
    }


def retrying_fields(attempts: int, next_attempt: int, error: dict[str, Any]) -> dict[str, Any]:
    """Record fields after a failed attempt whose next delivery carries `next_attempt`."""
    return {"s": RETRYING, "a": attempts, "x": next_attempt, "r": ""} | _error_fields(error)


def synced_fields(result: SyncResult) -> dict[str, Any]:
    """Record fields once Marketo created or updated the lead."""
    fields = {"s": SYNCED, "l": _text(result.lead_id), "y": result.status, "x": "", "r": ""}
    return fields | _error_fields(None)


def dead_fields(error: dict[str, Any], result: SyncResult | None = None) -> dict[str, Any]:
    """Record fields of a job that failed for good."""
    fields: dict[str, Any] = {"s": DEAD, "x": "", "r": ""}
    if result is not None:
        fields |= {"l": _text(result.lead_id), "y": result.status}
    return fields | _error_fields(error)


def field_args(fields: dict[str, Any]) -> list[Any]:
    """Field/value pairs flattened for `write_record`."""
    return [item for pair in fields.items() for item in pair]


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
