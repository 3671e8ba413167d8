"""The baseline: a bare Celery no-op task under leadsync's own Celery configuration."""

from __future__ import annotations

import os

from celery import Celery

from worker.celery_app import celery_settings
from worker.config import Settings

QUEUE = "noop"

app = Celery("noop")
app.conf.update(
    celery_settings(Settings.from_env(), os.environ.get("REDIS_URL"))
    | {"task_default_queue": QUEUE, "task_routes": {}}
)


@app.task(name="bench.noop")
def noop(message: dict[str, object]) -> None:
    """Does nothing: the cost of Celery itself."""
