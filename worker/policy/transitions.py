"""The two atomic steps of every delivery, one Redis round trip each.

`begin` claims the attempt, takes the lead holds and a concurrency lease and books the watchdog (or
defers the message when it cannot run yet); `finish` writes the attempt's transition and releases
what `begin` took. Both compose the Lua of the policies they stand for (results, ordering, leases,
schedule), so each rule is written once and tested on its own as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from worker.policy import keys
from worker.policy.deadletters import error_entry
from worker.policy.leases import TAKE_LEASE_LUA
from worker.policy.lua import NOW_LUA
from worker.policy.message import JobMessage
from worker.policy.ordering import ACQUIRE_LEADS_LUA, TOUCH_HOLDS_LUA, lead_holds, lead_queues
from worker.policy.results import (
    CHECK_CLAIM_LUA,
    MARK_RUNNING_LUA,
    QUEUED,
    RETRYING,
    WRITE_RECORD_LUA,
    field_args,
)
from worker.policy.script_line import ErrorHandler, ScriptLine

# KEYS[1] job record; KEYS[2] schedule; KEYS[3] lease set; KEYS[4..3+n] lead queues;
# KEYS[4+n..3+2n] the matching holds.
# ARGV[1] attempt; ARGV[2] run lease (ms); ARGV[3] record TTL (s); ARGV[4] message JSON;
# ARGV[5] recheck margin after a busy run lease (ms); ARGV[6] recheck delay when the lead is held
# (ms); ARGV[7] record state while waiting for the lead; ARGV[8] concurrency limit ('0': no lease);
# ARGV[9] lease id; ARGV[10] job id; ARGV[11] record key prefix; ARGV[12] order counter key.
# Returns {verdict, ms, leased}: 'missing', 'done', 'stale' (nothing written); 'busy' (message
# deferred until the other delivery's run lease ends plus the margin; ms = lease left); 'wait'
# (the lead is held: record back to waiting, message deferred by the recheck delay); 'run' or
# 'takeover' (record running, holds set, message deferred as this delivery's watchdog, and
# leased = 1 if a concurrency lease was taken).
_BEGIN = (
    CHECK_CLAIM_LUA
    + MARK_RUNNING_LUA
    + ACQUIRE_LEADS_LUA
    + TAKE_LEASE_LUA
    + NOW_LUA
    + """
local verdict, left = check_claim(KEYS[1], ARGV[1], now)
if verdict == 'busy' then
  redis.call('ZADD', KEYS[2], now + left + tonumber(ARGV[5]), ARGV[4])
end
if verdict ~= 'run' and verdict ~= 'takeover' then return {verdict, left, 0} end
local n = (#KEYS - 3) / 2
local queues, holds = {}, {}
for i = 1, n do queues[i], holds[i] = KEYS[3 + i], KEYS[3 + n + i] end
local lease_ms = tonumber(ARGV[2])
if acquire_leads(queues, holds, ARGV[10], lease_ms, ARGV[11], ARGV[12]) == 0 then
  local stamp = string.format('%.0f', now)
  redis.call('HSET', KEYS[1], 's', ARGV[7], 'a', tonumber(ARGV[1]) - 1, 'u', stamp)
  redis.call('HDEL', KEYS[1], 'r')
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[4])
  return {'wait', 0, 0}
end
mark_running(KEYS[1], ARGV[1], lease_ms, ARGV[3], now)
redis.call('ZADD', KEYS[2], now + lease_ms + tonumber(ARGV[5]), ARGV[4])
local leased = 0
if ARGV[8] ~= '0' then leased = take_lease(KEYS[3], ARGV[8], lease_ms, ARGV[9], now) end
return {verdict, 0, leased}
"""
)

# KEYS[1] job record; KEYS[2] schedule; KEYS[3] lease set; KEYS[4] the job's error list;
# KEYS[5] the outcome tallies; KEYS[6..5+n] its holds; KEYS[6+n..5+2n] its lead queues (passed only
# when it leaves them).
# ARGV[1] record TTL (s); ARGV[2] job id; ARGV[3] lease id ('': none); ARGV[4] watchdog message
# to cancel ('': keep it); ARGV[5] n; ARGV[6] error entry to append ('': none); ARGV[7] error list
# TTL (s); ARGV[8] next message ('': none); ARGV[9] its delay (ms); ARGV[10] the outcome to tally
# ('': none); ARGV[11..] record field/value
# pairs (none: record untouched). Schedules the next message before the record changes, releases
# the holds, leaves the queues and drops the error list when they are passed, frees the lease and
# cancels the watchdog. Returns 1.
_FINISH = (
    WRITE_RECORD_LUA
    + TOUCH_HOLDS_LUA
    + NOW_LUA
    + """
local n = tonumber(ARGV[5])
local holds = {}
for i = 1, n do holds[i] = KEYS[5 + i] end
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[2], now + tonumber(ARGV[9]), ARGV[8]) end
if ARGV[6] ~= '' then
  redis.call('RPUSH', KEYS[4], ARGV[6])
  redis.call('EXPIRE', KEYS[4], ARGV[7])
end
if #ARGV >= 11 then write_record(KEYS[1], ARGV[1], '0', ARGV, 11, now) end
if ARGV[10] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[10], 1) end
touch_holds(holds, ARGV[2], '0')
if #KEYS > 5 + n then
  for i = 6 + n, #KEYS do redis.call('ZREM', KEYS[i], ARGV[2]) end
  redis.call('DEL', KEYS[4])
end
if ARGV[3] ~= '' then redis.call('ZREM', KEYS[3], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('ZREM', KEYS[2], ARGV[4]) end
return 1
"""
)


@dataclass(frozen=True, slots=True)
class Begun:
    """What `begin` decided: the claim verdict, the other run lease's time left, a lease taken."""

    verdict: str
    left_s: float
    leased: bool


class Transitions:
    """The begin and finish steps of a delivery, each one atomic script."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        record_ttl_s: int,
        errors_ttl_s: int,
        run_lease_s: float,
        busy_margin_s: float,
    ) -> None:
        self._record_ttl_s = int(record_ttl_s)
        self._errors_ttl_s = int(errors_ttl_s)
        self._lease_ms = int(run_lease_s * 1000)
        self._margin_ms = int(busy_margin_s * 1000)
        self._line = ScriptLine(client)
        self._finish_in_pipeline = client.register_script(_FINISH)

    def begin(
        self,
        message: JobMessage,
        watchdog: str,
        lead_keys: Mapping[str, str],
        *,
        recheck_s: float,
        lease_limit: int,
        lease_id: str,
        meanwhile: Callable[[], None] | None = None,
    ) -> Begun:
        """Claim `message`'s attempt and take what it needs to call (`watchdog` is its JSON);
        `meanwhile` runs while Redis decides (it must not raise)."""
        waiting = RETRYING if message.attempt > 1 or message.deferrals > 0 else QUEUED
        verdict, left_ms, leased = self._line.call(
            _BEGIN,
            [
                keys.job(message.job_id),
                keys.SCHEDULE,
                keys.LEASES,
                *lead_queues(lead_keys),
                *lead_holds(lead_keys),
            ],
            [
                message.attempt,
                self._lease_ms,
                self._record_ttl_s,
                watchdog,
                self._margin_ms,
                int(recheck_s * 1000),
                waiting,
                lease_limit,
                lease_id,
                message.job_id,
                keys.JOB_PREFIX,
                keys.ORDER_SEQ,
            ],
            meanwhile=meanwhile,
        )
        return Begun(keys.decode(verdict) or "", int(left_ms) / 1000, bool(leased))

    def finish(
        self,
        job_id: str,
        lead_keys: Mapping[str, str],
        *,
        fields: dict[str, Any] | None = None,
        lease_id: str = "",
        watchdog: str = "",
        leave_queues: bool = False,
        error: dict[str, Any] | None = None,
        later: JobMessage | None = None,
        delay_s: float = 0.0,
        outcome: str = "",
        pipeline: redis.client.Pipeline | None = None,
        on_late_error: ErrorHandler | None = None,
    ) -> None:
        """Write the attempt's transition and release its holds, lease and watchdog at once;
        `outcome` (synced, dead, ...) is tallied for `leadsync stats` in the same step.

        Queued on `pipeline` if given. With `on_late_error`, returns once the script is sent: its
        reply is read before this thread's next begin (or by `settle`), and a failure then goes
        to `on_late_error` (the delivery's watchdog copy, left in place, takes the job over)."""
        holds = lead_holds(lead_keys)
        queues = lead_queues(lead_keys) if leave_queues else []
        entry = error_entry(error) if error is not None else ""
        script_keys = [
            keys.job(job_id),
            keys.SCHEDULE,
            keys.LEASES,
            keys.errors(job_id),
            keys.OUTCOMES,
            *holds,
            *queues,
        ]
        args = [
            self._record_ttl_s,
            job_id,
            lease_id,
            watchdog,
            len(holds),
            entry,
            self._errors_ttl_s,
            later.to_json() if later is not None else "",
            max(0, int(delay_s * 1000)),
            outcome,
            *field_args(fields or {}),
        ]
        if pipeline is not None:
            self._finish_in_pipeline(keys=script_keys, args=args, client=pipeline)
        elif on_late_error is not None:
            self._line.send(_FINISH, script_keys, args, on_error=on_late_error)
        else:
            self._line.call(_FINISH, script_keys, args)

    def settle(self) -> None:
        """Read the reply of a finish sent without waiting, if any (see `finish`)."""
        self._line.settle()
