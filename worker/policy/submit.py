"""The one path by which a job enters the queue: producers and dead-letter replay share it.

`prepare` builds the script call without touching Redis; `enqueue` runs it on a `redis.Redis`
client and `enqueue_async` through `AsyncScripts` (the HTTP intake's event loop).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import redis

from worker.config import Settings
from worker.jobs import SyncLeadJob
from worker.policy import keys
from worker.policy.async_scripts import AsyncScripts
from worker.policy.lua import NOW_LUA
from worker.policy.message import Delivery, JobMessage
from worker.policy.ordering import REGISTER_LUA, lead_queues
from worker.policy.results import QUEUED, WRITE_RECORD_LUA, field_args

# KEYS[1] job record; KEYS[2] schedule; KEYS[3] the broker's queue; KEYS[4..] the job's lead
# queues. ARGV[1] record TTL (s); ARGV[2] job id; ARGV[3] order counter key; ARGV[4] message JSON;
# ARGV[5] its requeue delay (ms); ARGV[6] the broker's entry; ARGV[7..] record field/value pairs.
# Records the job, queues it behind earlier jobs on its lead keys, books its safety-net copy in the
# schedule and puts it on the broker's queue, atomically and in one round trip.
_SUBMIT = (
    WRITE_RECORD_LUA
    + REGISTER_LUA
    + NOW_LUA
    + """
write_record(KEYS[1], ARGV[1], '1', ARGV, 7, now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[4])
local queues = {}
for i = 4, #KEYS do queues[i - 3] = KEYS[i] end
register_job(queues, ARGV[2], ARGV[3])
return redis.call('LPUSH', KEYS[3], ARGV[6])
"""
)
_NEW_RECORD = field_args({"s": QUEUED, "a": 0, "x": 1})


class Submission(NamedTuple):
    """One job's `_SUBMIT` call, prepared without touching Redis: its new id, keys and arguments."""

    job_id: str
    keys: list[str]
    args: list[Any]


def prepare(
    settings: Settings,
    job: SyncLeadJob,
    deliver: Callable[[JobMessage], Delivery],
    *,
    lineage: Iterable[str] | None = None,
) -> Submission:
    """A fresh job id and the `_SUBMIT` keys and arguments that enqueue `job` under it (pure)."""
    job_id = uuid.uuid4().hex
    message = JobMessage(job_id=job_id, job=job.to_message(), lineage=tuple(lineage or ()))
    delivery = deliver(message)
    return Submission(
        job_id,
        keys=[keys.job(job_id), keys.SCHEDULE, delivery.queue, *lead_queues(job.lead_keys())],
        args=[
            settings.result_ttl_s,
            job_id,
            keys.ORDER_SEQ,
            message.to_json(),
            int(settings.requeue_after_s * 1000),
            delivery.entry,
            *_NEW_RECORD,
        ],
    )


def enqueue(
    client: redis.Redis,
    settings: Settings,
    job: SyncLeadJob,
    deliver: Callable[[JobMessage], Delivery],
    *,
    lineage: Iterable[str] | None = None,
) -> str:
    """Record the job as queued, queue it behind earlier jobs on its lead keys, put its first
    delivery (`deliver(message)`) on the broker's queue, and return its id.

    All of it happens in one Redis script, so there is never a record without its message nor a
    message without its record. A copy of the message also waits in the schedule for
    `requeue_after_s`: a message the broker handed to a worker that died before recording it
    anywhere would otherwise be lost. The runner's watchdog replaces that copy when the job
    starts, and it is gone when the job ends; if it fires anyway, the attempt claim drops the
    duplicate.
    """
    submission = prepare(settings, job, deliver, lineage=lineage)
    client.register_script(_SUBMIT)(keys=submission.keys, args=submission.args)
    return submission.job_id


async def enqueue_async(
    scripts: AsyncScripts,
    settings: Settings,
    job: SyncLeadJob,
    deliver: Callable[[JobMessage], Delivery],
    *,
    lineage: Iterable[str] | None = None,
) -> str:
    """`enqueue` on asyncio: the same prepared script call, awaited."""
    submission = prepare(settings, job, deliver, lineage=lineage)
    await scripts.run(_SUBMIT, submission.keys, submission.args)
    return submission.job_id
