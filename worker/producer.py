"""Producers' side: validate a job, record it and put it on the queue.

`enqueue_sync_lead` and `job_status` serve the Python API and the CLI over a sync Redis client;
`submit_job` and `job_status_async` serve the HTTP intake's event loop over `redis.asyncio`, for a
job already validated by the same job model (`worker.jobs.validate_job`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import redis
from redis.asyncio import Redis as AsyncRedis

from worker.celery_app import configure
from worker.celery_wire import task_delivery
from worker.config import Settings
from worker.embedded import resolve_redis_url
from worker.jobs import SyncLeadJob, in_workspace, validate_job
from worker.policy import JobMessage, ResultsStore, enqueue, keys
from worker.policy.async_scripts import AsyncScripts
from worker.policy.message import Delivery
from worker.policy.results import decode_status
from worker.policy.submit import enqueue_async


@dataclass(frozen=True)
class Connection:
    """What a producer needs: settings, the Redis client and the queue entry for a message."""

    settings: Settings
    url: str
    redis: redis.Redis

    def delivery(self, message: JobMessage) -> Delivery:
        """The entry that puts `message` on the workers' queue."""
        return task_delivery(message, self.settings.queue)

    def open_async(self) -> AsyncRedis:
        """A `redis.asyncio` client on the same server (and timeouts) as `redis`.

        Its connections belong to the event loop that first uses them: open it in that loop.
        """
        given = self.redis.connection_pool.connection_kwargs
        timeouts = {
            name: given[name]
            for name in ("socket_timeout", "socket_connect_timeout")
            if given.get(name) is not None
        }
        return AsyncRedis.from_url(self.url, decode_responses=True, **timeouts)


@functools.cache
def connect(settings: Settings | None = None) -> Connection:
    """Resolve Redis (REDIS_URL or the embedded server) once per process and configure Celery."""
    settings = settings or Settings.from_env()
    url = resolve_redis_url(settings.redis_url, settings.state_dir)
    configure(settings, url)
    return Connection(
        settings=settings, url=url, redis=redis.Redis.from_url(url, decode_responses=True)
    )


def enqueue_sync_lead(
    *,
    email: str | None = None,
    lead_id: int | None = None,
    foreign_sys_person_id: str | None = None,
    foreign_sys_type: str | None = None,
    marketo_cookie: str | None = None,
    workspace: str | None = None,
    return_lead: bool = False,
    attributes: Any = None,
    connection: Connection | None = None,
) -> str:
    """Validate and enqueue one syncLead job; returns its job id.

    Raises `worker.jobs.InvalidJob` naming the field and the rule, and enqueues nothing, on bad
    input. `attributes` is a mapping of name to value, or a list of (name, value) pairs.
    """
    fields: dict[str, Any] = {
        "email": email,
        "lead_id": lead_id,
        "foreign_sys_person_id": foreign_sys_person_id,
        "foreign_sys_type": foreign_sys_type,
        "marketo_cookie": marketo_cookie,
        "workspace": workspace,
        "return_lead": return_lead,
        "attributes": attributes if attributes is not None else {},
    }
    connection = connection or connect()
    job = validate_job({name: value for name, value in fields.items() if value is not None})
    job = in_workspace(job, connection.settings.workspace)
    job_id = enqueue(connection.redis, connection.settings, job, connection.delivery)
    _count_enqueued()
    return job_id


async def submit_job(job: SyncLeadJob, *, connection: Connection, scripts: AsyncScripts) -> str:
    """Enqueue one job that `validate_job` already accepted, through `scripts` (on
    `connection`'s server); returns its job id. The HTTP intake's path: the same script, message
    and default workspace (`in_workspace`) as `enqueue_sync_lead`.
    """
    job = in_workspace(job, connection.settings.workspace)
    job_id = await enqueue_async(scripts, connection.settings, job, connection.delivery)
    _count_enqueued()
    return job_id


def job_status(job_id: str, *, connection: Connection | None = None) -> dict[str, Any] | None:
    """The job's status object (as `leadsync status --json` prints it), or None if unknown."""
    connection = connection or connect()
    return ResultsStore(connection.redis, ttl_s=connection.settings.result_ttl_s).get(job_id)


async def job_status_async(job_id: str, *, client: AsyncRedis) -> dict[str, Any] | None:
    """`job_status` over a `redis.asyncio` client."""
    return decode_status(job_id, await client.hgetall(keys.job(job_id)))


def _count_enqueued() -> None:
    from worker.ops.metrics import JOBS_ENQUEUED  # not at import: `leadsync worker` sets it up

    JOBS_ENQUEUED.inc()
