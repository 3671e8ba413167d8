"""The one path by which a job enters the queue: producers and dead-letter replay share it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import redis

from worker.config import Settings
from worker.jobs import SyncLeadJob
from worker.policy import keys
from worker.policy.lua import NOW_LUA
from worker.policy.message import JobMessage
from worker.policy.ordering import REGISTER_LUA, LeadOrdering, lead_queues
from worker.policy.results import QUEUED, WRITE_RECORD_LUA, ResultsStore, field_args

# KEYS[1] job record; KEYS[2] schedule; KEYS[3..] the job's lead queues. ARGV[1] record TTL (s);
# ARGV[2] job id; ARGV[3] order counter key; ARGV[4] message JSON; ARGV[5] its requeue delay (ms);
# ARGV[6..] record field/value pairs. Creates the record, queues the job behind earlier jobs on its
# lead keys and books its safety-net copy in the schedule, in one round trip.
_SUBMIT = (
    WRITE_RECORD_LUA
    + REGISTER_LUA
    + NOW_LUA
    + """
write_record(KEYS[1], ARGV[1], '1', ARGV, 6, now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
local queues = {}
for i = 3, #KEYS do queues[i - 2] = KEYS[i] end
return register_job(queues, ARGV[2], ARGV[3])
"""
)
_NEW_RECORD = field_args({"s": QUEUED, "a": 0, "x": 1})


def enqueue(
    client: redis.Redis,
    settings: Settings,
    job: SyncLeadJob,
    publish: Callable[[JobMessage], None],
    *,
    lineage: Iterable[str] | None = None,
) -> str:
    """Record the job as queued, queue it behind earlier jobs on its lead keys, publish it, and
    return its id; if publishing fails, the record and the queue places are rolled back.

    A copy of the message also waits in the schedule for `requeue_after_s`: a message the broker
    handed to a worker that died before recording it anywhere would otherwise be lost. The
    runner's watchdog replaces that copy when the job starts, and it is gone when the job ends;
    if it fires anyway, the attempt claim drops the duplicate.
    """
    job_id = uuid.uuid4().hex
    message = JobMessage(job_id=job_id, job=job.to_message(), lineage=tuple(lineage or ()))
    lead_keys = job.lead_keys()
    watchdog = message.to_json()
    client.register_script(_SUBMIT)(
        keys=[keys.job(job_id), keys.SCHEDULE, *lead_queues(lead_keys)],
        args=[
            settings.result_ttl_s,
            job_id,
            keys.ORDER_SEQ,
            watchdog,
            int(settings.requeue_after_s * 1000),
            *_NEW_RECORD,
        ],
    )
    try:
        publish(message)
    except BaseException:
        pipe = client.pipeline(transaction=True)
        pipe.zrem(keys.SCHEDULE, watchdog)
        ResultsStore(client, ttl_s=settings.result_ttl_s).delete(job_id, pipeline=pipe)
        LeadOrdering(client).unregister(job_id, lead_keys, pipeline=pipe)
        pipe.execute()
        raise
    return job_id
