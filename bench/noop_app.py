"""The baseline: a bare Celery no-op task, configured like leadsync's (JSON, late ack)."""

from __future__ import annotations

import os

from celery import Celery

app = Celery("noop", broker=os.environ.get("REDIS_URL"))
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue="noop",
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")
def noop(message: dict[str, object]) -> None:
    """Does nothing: the cost of Celery itself."""
