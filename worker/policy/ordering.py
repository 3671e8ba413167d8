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
_REGISTER = """
local seq = redis.call('INCR', ARGV[2])
for i = 1, #KEYS do redis.call('ZADD', KEYS[i], 'NX', seq, ARGV[1]) end
return seq
"""

# KEYS[1..n] the job's lead queues, KEYS[n+1..2n] the matching holds. ARGV[1] job id; ARGV[2] hold
# TTL (ms); ARGV[3] job record key prefix; ARGV[4] order counter key. Heads whose record is gone or
# terminal are pruned (their job can never unregister). Returns 1 and sets every hold when this job
# is first in every queue and no other job holds any key, else 0. (Record and counter keys are
# built here, not passed in KEYS: leadsync does not support Redis Cluster.)
_ACQUIRE = """
local n = #KEYS / 2
local job = ARGV[1]
for i = 1, n do
  if not redis.call('ZSCORE', KEYS[i], job) then
    redis.call('ZADD', KEYS[i], redis.call('INCR', ARGV[4]), job)
  end
  while true do
    local head = redis.call('ZRANGE', KEYS[i], 0, 0)[1]
    if head == job then break end
    local state = redis.call('HGET', ARGV[3] .. head, 's')
    if state and state ~= 'synced' and state ~= 'dead' then return 0 end
    redis.call('ZREM', KEYS[i], head)
  end
  local holder = redis.call('GET', KEYS[n + i])
  if holder and holder ~= job then return 0 end
end
for i = 1, n do redis.call('SET', KEYS[n + i], job, 'PX', ARGV[2]) end
return 1
"""

# KEYS: the job's holds. ARGV[1] job id; ARGV[2] hold TTL (ms), or '0' to release them.
# Touches only holds this job owns.
_HOLDS = """
local count = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    if ARGV[2] == '0' then
      redis.call('DEL', KEYS[i])
    else
      redis.call('PEXPIRE', KEYS[i], ARGV[2])
    end
    count = count + 1
  end
end
return count
"""


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
        self._register(keys=_queues(lead_keys), args=[job_id, keys.ORDER_SEQ], client=pipeline)

    def acquire(self, job_id: str, lead_keys: Mapping[str, str], *, hold_ttl_s: float) -> bool:
        """Hold every lead key if this job is next on all of them; False means "not yet"."""
        found = self._acquire(
            keys=_queues(lead_keys) + _holds(lead_keys),
            args=[job_id, int(hold_ttl_s * 1000), keys.JOB_PREFIX, keys.ORDER_SEQ],
        )
        return bool(found)

    def renew(self, job_id: str, lead_keys: Mapping[str, str], *, hold_ttl_s: float) -> None:
        """Extend this job's holds (after a long wait for the limiter)."""
        self._holds(keys=_holds(lead_keys), args=[job_id, max(1, int(hold_ttl_s * 1000))])

    def release(
        self,
        job_id: str,
        lead_keys: Mapping[str, str],
        *,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Drop the holds but keep the queue places (the job will retry, still first in line)."""
        self._holds(keys=_holds(lead_keys), args=[job_id, 0], client=pipeline)

    def unregister(
        self,
        job_id: str,
        lead_keys: Mapping[str, str],
        *,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Leave every queue and drop the holds (the job is terminal, or was never published)."""
        self.release(job_id, lead_keys, pipeline=pipeline)
        target = pipeline or self._redis
        for queue in _queues(lead_keys):
            target.zrem(queue, job_id)


def _queues(lead_keys: Mapping[str, str]) -> list[str]:
    return [keys.lead_queue(kind, value) for kind, value in sorted(lead_keys.items())]


def _holds(lead_keys: Mapping[str, str]) -> list[str]:
    return [keys.lead_hold(kind, value) for kind, value in sorted(lead_keys.items())]
