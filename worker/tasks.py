"""The Celery task: thin glue between the Marketo client and the policy layer.

Each worker process builds one `JobRunner` (one Redis client, one SOAP client with its parsed WSDL
and keep-alive session) on its first job; the worker's main process runs the scheduler thread that
moves due retries back onto the queue.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import redis
import structlog
from celery.signals import worker_ready, worker_shutdown

from worker.celery_app import TASK_NAME, app
from worker.config import Settings
from worker.logs import lead_summary
from worker.marketo import SoapClient
from worker.policy import JobMessage, JobRunner, Scheduler

_scheduler_stop = threading.Event()


def publish(message: JobMessage) -> None:
    """Send one attempt of a job to the queue (used by producers, the scheduler and replays)."""
    sync_lead.apply_async(args=[message.to_dict()], task_id=f"{message.job_id}.{message.attempt}")


def _redis() -> redis.Redis:
    return redis.Redis.from_url(app.conf.broker_url, decode_responses=True)


@functools.cache
def _process() -> tuple[Settings, JobRunner]:
    # Built on the first job in each pool process, after the fork: sockets are never shared.
    settings = Settings.from_env()
    client = SoapClient.from_settings(settings)
    return settings, JobRunner(_redis(), settings, call=client.sync_lead, publish=publish)


@app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sync_lead(message: dict[str, Any]) -> str:
    """Run one attempt of a lead-sync job; returns the job's state after it (no lead data)."""
    job_message = JobMessage.from_dict(message)
    settings, runner = _process()
    lead = lead_summary(job_message.sync_job().lead_keys(), log_pii=settings.log_pii)
    with structlog.contextvars.bound_contextvars(
        job_id=job_message.job_id, attempt=job_message.attempt, lead=lead
    ):
        outcome = runner.run(job_message)
    return str(outcome.state)


@worker_ready.connect
def _start_scheduler(**_: Any) -> None:
    scheduler = Scheduler(_redis())
    _scheduler_stop.clear()
    thread = threading.Thread(
        target=scheduler.run_forever,
        kwargs={"stop": _scheduler_stop, "publish": publish},
        name="leadsync-scheduler",
        daemon=True,
    )
    thread.start()


@worker_shutdown.connect
def _stop_scheduler(**_: Any) -> None:
    _scheduler_stop.set()
