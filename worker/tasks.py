"""The Celery task: thin glue between the Marketo client and the policy layer.

Each worker process builds one `JobRunner` (one Redis client, one SOAP client with its parsed WSDL
and keep-alive session) on its first job; the worker's main process runs the scheduler thread that
moves due retries back onto the queue, and serves `/metrics` when `LEADSYNC_METRICS_PORT` is set.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import redis
import structlog
from celery.signals import task_postrun, task_prerun, worker_ready, worker_shutdown

from worker.celery_app import REDIS_URL_SETTING, TASK_NAME, app
from worker.celery_wire import task_delivery
from worker.config import Settings
from worker.logs import lead_summary
from worker.ops import exposition
from worker.ops.metrics import timed_call
from worker.policy import JobMessage, JobRunner, Scheduler
from worker.transports import build_call

_scheduler_stop = threading.Event()


def _send(message: JobMessage) -> None:
    # Retries and due scheduled messages: the same entry a producer writes, pushed on its own.
    _client().lpush(*task_delivery(message, app.conf.task_default_queue))


def _redis() -> redis.Redis:
    return redis.Redis.from_url(app.conf[REDIS_URL_SETTING], decode_responses=True)


@functools.cache
def _client() -> redis.Redis:
    # One per process: redis-py's pool opens fresh connections in a forked child.
    return _redis()


@functools.cache
def _runner() -> JobRunner:
    # Built on the first job in each pool process, after the fork: sockets are never shared.
    settings = Settings.from_env()
    client = _client()
    call = timed_call(build_call(settings, client), operation=f"{settings.api}.syncLead")
    return JobRunner(client, settings, call=call, publish=_send)


@app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sync_lead(message: dict[str, Any]) -> str:
    """Run one attempt of a lead-sync job; returns the job's state after it (no lead data)."""
    return str(_runner().run(JobMessage.from_dict(message)))


@task_prerun.connect(sender=sync_lead)
def _bind_job_context(args: tuple[Any, ...], **_: Any) -> None:
    # Bound here rather than in the task so Celery's own lines about the task carry it too.
    message = JobMessage.from_dict(args[0])
    lead = lead_summary(message.sync_job().lead_keys())
    structlog.contextvars.bind_contextvars(
        job_id=message.job_id, attempt=message.attempt, lead=lead
    )


@task_postrun.connect(sender=sync_lead)
def _clear_job_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


@worker_ready.connect
def _start_scheduler(**_: Any) -> None:
    scheduler = Scheduler(_redis())
    _scheduler_stop.clear()
    thread = threading.Thread(
        target=scheduler.run_forever,
        kwargs={"stop": _scheduler_stop, "publish": _send},
        name="leadsync-scheduler",
        daemon=True,
    )
    thread.start()


@worker_ready.connect
def _serve_metrics(**_: Any) -> None:
    port = exposition.metrics_port()
    if port is not None:
        exposition.serve(port, _redis(), Settings.from_env())


@worker_shutdown.connect
def _stop_scheduler(**_: Any) -> None:
    _scheduler_stop.set()
