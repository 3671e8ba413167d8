"""Where metrics are served: the worker's own port, and the intake's `/metrics` route.

Under Celery's prefork pool each process writes its metrics to files in `PROMETHEUS_MULTIPROC_DIR`;
the worker's main process owns that directory (`multiprocess_dir`) and serves the merged view.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import redis
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from worker.config import ConfigError, Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PORT_ENV = "LEADSYNC_METRICS_PORT"
HOST_ENV = "LEADSYNC_METRICS_HOST"
DEFAULT_HOST = "0.0.0.0"  # scraped from other hosts and containers


def metrics_port(environ: dict[str, str] | None = None) -> int | None:
    """`LEADSYNC_METRICS_PORT`, or None when the worker serves no metrics."""
    raw = (os.environ if environ is None else environ).get(PORT_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{PORT_ENV}: expected a TCP port number, got {raw!r}")
    return int(raw)


@contextlib.contextmanager
def multiprocess_dir() -> Iterator[Path]:
    """Set `PROMETHEUS_MULTIPROC_DIR` for this process and its children, empty, and clean it after.

    A directory the user named is emptied of stale files and kept; otherwise a fresh temporary one
    is made and removed on exit.
    """
    named = os.environ.get(MULTIPROC_ENV)
    path = Path(named) if named else Path(tempfile.mkdtemp(prefix="leadsync-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if named:
            for leftover in path.glob("*.db"):
                leftover.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def registry(client: redis.Redis, settings: Settings) -> CollectorRegistry:
    """This process's (or its pool's) metrics plus the Redis gauges, as one registry."""
    from prometheus_client import CollectorRegistry

    from worker.ops.collector import PoolCollector, RedisCollector, ThisProcessCollector

    merged = CollectorRegistry()
    path = os.environ.get(MULTIPROC_ENV)
    merged.register(PoolCollector(Path(path)) if path else ThisProcessCollector())
    merged.register(RedisCollector(client, settings))
    return merged


def serve(port: int, client: redis.Redis, settings: Settings) -> None:
    """Serve `/metrics` on `port` from a daemon thread of this (the worker's main) process."""
    from prometheus_client import start_http_server

    host = os.environ.get(HOST_ENV, DEFAULT_HOST)
    start_http_server(port, addr=host, registry=registry(client, settings))


def metrics_mount(client: redis.Redis, settings: Settings) -> Mount:
    """The intake's `/metrics`: unauthenticated like any Prometheus target, outside the API.

    Mounted as its own ASGI app (as prometheus-client documents for Starlette), so it stays out
    of the OpenAPI document; `/metrics` redirects to `/metrics/`, which scrapers follow.
    """
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    merged = registry(client, settings)

    async def metrics(scope: Scope, receive: Receive, send: Send) -> None:
        if Request(scope).method not in ("GET", "HEAD"):
            await Response(status_code=405, headers={"Allow": "GET"})(scope, receive, send)
            return
        body = await run_in_threadpool(generate_latest, merged)  # Redis reads: off the loop
        await Response(body, media_type=CONTENT_TYPE_LATEST)(scope, receive, send)

    return Mount("/metrics", app=metrics)
