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
from celery.signals import task_postrun, worker_process_shutdown, worker_ready, worker_shutdown

from worker.celery_app import REDIS_URL_SETTING, TASK_NAME, app
from worker.celery_wire import task_delivery
from worker.config import Settings
from worker.logs import lead_summary
from worker.ops import exposition
from worker.ops.metrics import timed_sends
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
    prepare = timed_sends(build_call(settings, client), operation=f"{settings.api}.syncLead")
    # A synced delivery's finish is confirmed at the next begin, off the path between two jobs.
    return JobRunner(client, settings, prepare=prepare, publish=_send, confirm_finish=False)


@app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sync_lead(message: dict[str, Any]) -> str:
    """Run one attempt of a lead-sync job; returns the job's state after it (no lead data)."""
    delivery = JobMessage.from_dict(message)
    job = delivery.sync_job()
    # Bound until the task ends, so Celery's own lines about the task (a failure) carry it too.
    structlog.contextvars.bind_contextvars(
        job_id=delivery.job_id, attempt=delivery.attempt, lead=lead_summary(job.lead_keys())
    )
    return str(_runner().run(delivery, job))


@task_postrun.connect(sender=sync_lead)
def _clear_job_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


@worker_process_shutdown.connect
def _settle_last_finish(**_: Any) -> None:
    if _runner.cache_info().currsize:  # this pool process ran a job
        _runner().settle()


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
