"""The Celery application: JSON only, late acks, prefetch 1, task events on.

`app` is configured from the environment at import (so `celery -A worker.celery_app` works with
REDIS_URL set); leadsync's entry points call `configure` again once they know the Redis URL.
Celery's broker URL is that Redis URL in kombu's spelling (`broker_url_for`); leadsync's own Redis
clients in the worker read the URL itself from `REDIS_URL_SETTING`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from celery import Celery
from celery.signals import setup_logging

from worker.config import Settings
from worker.embedded import recorded_url
from worker.logs import configure_logging

TASK_NAME = "leadsync.sync_lead"
REDIS_URL_SETTING = "leadsync_redis_url"  # the Redis URL as given, for leadsync's own clients

app = Celery("leadsync", include=["worker.tasks"])


def configure(settings: Settings, redis_url: str | None) -> Celery:
    """Apply leadsync's Celery settings for the resolved Redis URL."""
    app.conf.update(celery_settings(settings, redis_url))
    return app


def celery_settings(settings: Settings, redis_url: str | None) -> dict[str, Any]:
    """leadsync's Celery configuration for the Redis at `redis_url` (spelled as REDIS_URL takes
    it); the benchmarks' bare Celery baseline uses it too."""
    return dict(
        broker_url=broker_url_for(redis_url) if redis_url else None,
        broker_connection_retry_on_startup=True,
        # A message stays unacknowledged only while one attempt runs; waits between attempts live
        # in leadsync's own schedule, so the visibility timeout only has to outlast one attempt.
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        task_serializer="json",
        result_serializer="json",
        event_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_send_task_events=True,
        task_default_queue=settings.queue,
        task_routes={TASK_NAME: {"queue": settings.queue}},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        **{REDIS_URL_SETTING: redis_url},
    )


def broker_url_for(redis_url: str) -> str:
    """`redis_url` as Celery's Redis transport takes it: kombu knows no `unix://` scheme and reads
    a socket path from `redis+socket://PATH` and its database from `virtual_host`."""
    parts = urlsplit(redis_url)
    if parts.scheme != "unix":
        return redis_url
    pairs = parse_qsl(parts.query)
    query = urlencode([("virtual_host" if name == "db" else name, value) for name, value in pairs])
    return f"redis+socket://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


@setup_logging.connect
def _use_leadsync_logging(**_: object) -> None:
    # Connecting this signal stops Celery from installing its own handlers: its records go
    # through leadsync's structlog pipeline instead.
    settings = Settings.from_env()
    configure_logging(
        secrets=settings.secrets(),
        log_pii=settings.log_pii,
    )
    from worker.ops.metrics import install_event_counter  # after the multiprocess dir is set

    install_event_counter()


def _configure_from_env() -> None:
    settings = Settings.from_env()
    configure(settings, settings.redis_url or recorded_url(settings.state_dir))


_configure_from_env()
