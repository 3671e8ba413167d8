"""The one path by which a job enters the queue: producers and dead-letter replay share it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import redis

from worker.config import Settings
from worker.jobs import SyncLeadJob
from worker.policy.message import JobMessage
from worker.policy.ordering import LeadOrdering
from worker.policy.results import ResultsStore


def enqueue(
    client: redis.Redis,
    settings: Settings,
    job: SyncLeadJob,
    publish: Callable[[JobMessage], None],
    *,
    lineage: Iterable[str] | None = None,
) -> str:
    """Record the job as queued, queue it behind earlier jobs on its lead keys, publish it, and
    return its id; if publishing fails, the record and the queue places are rolled back."""
    job_id = uuid.uuid4().hex
    message = JobMessage(job_id=job_id, job=job.to_message(), lineage=tuple(lineage or ()))
    results = ResultsStore(client, ttl_s=settings.result_ttl_s)
    ordering = LeadOrdering(client)
    lead_keys = job.lead_keys()
    pipe = client.pipeline(transaction=True)
    results.create(job_id, pipeline=pipe)
    ordering.register(job_id, lead_keys, pipeline=pipe)
    pipe.execute()
    try:
        publish(message)
    except BaseException:
        pipe = client.pipeline(transaction=True)
        results.delete(job_id, pipeline=pipe)
        ordering.unregister(job_id, lead_keys, pipeline=pipe)
        pipe.execute()
        raise
    return job_id
