"""Per-lead ordering: jobs sharing a lead key run one at a time, in enqueue order.

Each job joins the queue of every one of its lead keys at enqueue, scored by one global counter, so
all queues agree on the order and the oldest live job is first everywhere it is queued (no
deadlock). A job runs only while it is first in every queue and holds every key; holds expire, so a
crashed worker's hold does not wedge the lead. Jobs on other leads never wait.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

from worker.policy import keys

# KEYS: the lead queues of one job. ARGV[1] job id; ARGV[2] the global order counter's key name.
# Joins every queue with one fresh sequence number (a job already queued keeps its place).
# register_job(queues, job, order_key): queue `job` behind earlier jobs on each lead queue.
REGISTER_LUA = """
local function register_job(queues, job, order_key)
  local seq = redis.call('INCR', order_key)
  for i = 1, #queues do redis.call('ZADD', queues[i], 'NX', seq, job) end
  return seq
end
"""
# KEYS the job's lead queues. ARGV[1] job id; ARGV[2] order counter key.
_REGISTER = REGISTER_LUA + "return register_job(KEYS, ARGV[1], ARGV[2])"

# acquire_leads(queues, holds, job, hold_ms, record_prefix, order_key): returns 1 and sets every
# hold when `job` is first in every queue and no other job holds any key, else 0. Heads whose
# record is gone or terminal are pruned (their job can never unregister). (Record and counter keys
# are built here, not passed in KEYS: leadsync does not support Redis Cluster.)
ACQUIRE_LEADS_LUA = """
local function acquire_leads(queues, holds, job, hold_ms, record_prefix, order_key)
  for i = 1, #queues do
    if not redis.call('ZSCORE', queues[i], job) then
      redis.call('ZADD', queues[i], redis.call('INCR', order_key), job)
    end
    while true do
      local head = redis.call('ZRANGE', queues[i], 0, 0)[1]
      if head == job then break end
      local state = redis.call('HGET', record_prefix .. head, 's')
      if state and state ~= 'synced' and state ~= 'dead' then return 0 end
      redis.call('ZREM', queues[i], head)
    end
    local holder = redis.call('GET', holds[i])
    if holder and holder ~= job then return 0 end
  end
  for i = 1, #holds do redis.call('SET', holds[i], job, 'PX', hold_ms) end
  return 1
end
"""

# touch_holds(holds, job, hold_ms): extends the holds `job` owns, or deletes them when hold_ms is
# '0'; never touches another job's hold. Returns how many it touched.
TOUCH_HOLDS_LUA = """
local function touch_holds(holds, job, hold_ms)
  local count = 0
  for i = 1, #holds do
    if redis.call('GET', holds[i]) == job then
      if hold_ms == '0' then
        redis.call('DEL', holds[i])
      else
        redis.call('PEXPIRE', holds[i], hold_ms)
      end
      count = count + 1
    end
  end
  return count
end
"""

# KEYS[1..n] the job's lead queues, KEYS[n+1..2n] the matching holds. ARGV[1] job id; ARGV[2] hold
# TTL (ms); ARGV[3] job record key prefix; ARGV[4] order counter key. See acquire_leads.
_ACQUIRE = (
    ACQUIRE_LEADS_LUA
    + """
local n = #KEYS / 2
local queues, holds = {}, {}
for i = 1, n do queues[i], holds[i] = KEYS[i], KEYS[n + i] end
return acquire_leads(queues, holds, ARGV[1], ARGV[2], ARGV[3], ARGV[4])
"""
)

# KEYS: the job's holds. ARGV[1] job id; ARGV[2] hold TTL (ms), or '0' to release them.
_HOLDS = TOUCH_HOLDS_LUA + "return touch_holds(KEYS, ARGV[1], ARGV[2])"


class LeadOrdering:
    """Registration, holds and release of lead keys (the `keys` are `SyncLeadJob.lead_keys()`)."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._register = client.register_script(_REGISTER)
        self._acquire = client.register_script(_ACQUIRE)
        self._holds = client.register_script(_HOLDS)

    def register(
        self,
        job_id: str,
        lead_keys: Mapping[str, str],
        *,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Queue the job behind earlier jobs on each of its lead keys (call at enqueue)."""
        self._register(keys=lead_queues(lead_keys), args=[job_id, keys.ORDER_SEQ], client=pipeline)

    def acquire(self, job_id: str, lead_keys: Mapping[str, str], *, hold_ttl_s: float) -> bool:
        """Hold every lead key if this job is next on all of them; False means "not yet"."""
        found = self._acquire(
            keys=lead_queues(lead_keys) + lead_holds(lead_keys),
            args=[job_id, int(hold_ttl_s * 1000), keys.JOB_PREFIX, keys.ORDER_SEQ],
        )
        return bool(found)

    def renew(self, job_id: str, lead_keys: Mapping[str, str], *, hold_ttl_s: float) -> None:
        """Extend this job's holds (after a long wait for the limiter)."""
        self._holds(keys=lead_holds(lead_keys), args=[job_id, max(1, int(hold_ttl_s * 1000))])

    def release(
        self,
        job_id: str,
        lead_keys: Mapping[str, str],
        *,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Drop the holds but keep the queue places (the job will retry, still first in line)."""
        self._holds(keys=lead_holds(lead_keys), args=[job_id, 0], client=pipeline)

    def unregister(
        self,
        job_id: str,
        lead_keys: Mapping[str, str],
        *,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Leave every queue and drop the holds (the job is terminal)."""
        self.release(job_id, lead_keys, pipeline=pipeline)
        target = pipeline or self._redis
        for queue in lead_queues(lead_keys):
            target.zrem(queue, job_id)


def lead_queues(lead_keys: Mapping[str, str]) -> list[str]:
    """The queue keys of a job's lead keys, in the one order every script uses."""
    return [keys.lead_queue(kind, value) for kind, value in sorted(lead_keys.items())]


def lead_holds(lead_keys: Mapping[str, str]) -> list[str]:
    """The hold keys matching `lead_queues`."""
    return [keys.lead_hold(kind, value) for kind, value in sorted(lead_keys.items())]
