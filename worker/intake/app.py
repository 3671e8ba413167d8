"""The ASGI app: routes, and one boundary that turns every failure into a JSON answer."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import redis
import structlog
from kombu.exceptions import OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from worker.config import Settings
from worker.intake.bridge import bridge_routes
from worker.intake.capture import form_endpoint
from worker.intake.errors import ClientError, error_response
from worker.intake.leads import get_job, post_leads
from worker.intake.openapi import openapi_document
from worker.intake.settings import IntakeSettings
from worker.intake.state import IntakeState, intake_of
from worker.ops.exposition import metrics_mount
from worker.producer import Connection, connect

log = structlog.get_logger("leadsync.intake")


def create_app(
    settings: Settings, intake_settings: IntakeSettings, connection: Connection | None = None
) -> Starlette:
    """Build the intake for one process; `connection` defaults to the producer's `connect`."""
    state = IntakeState(connection or connect(settings), intake_settings)
    if not intake_settings.api_keys:
        log.warning("intake.no_api_keys", hint="set LEADSYNC_API_KEYS; /v1 answers 401 until then")
    routes = [
        Route("/v1/leads", post_leads, methods=["POST"]),
        Route("/v1/jobs/{job_id}", get_job, methods=["GET"]),
        Route("/v1/forms/{name}", form_endpoint, methods=["POST", "OPTIONS"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
        *bridge_routes(settings),  # the legacy syncLead bridge, when LEADSYNC_LEGACY_* are set
        metrics_mount(state.connection.redis, settings),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await state.close()  # the async Redis client, opened by the first request that used it

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ClientError: _client_error,
            HTTPException: _http_error,
            redis.RedisError: _unavailable,
            OperationalError: _unavailable,
        },
    )
    app.state.intake = state
    return app


async def healthz(_: Request) -> JSONResponse:
    """The process is up and serving (the benchmark's trivial endpoint too)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Redis answers PING, so jobs can be accepted."""
    try:
        await intake_of(request).ping()
    except (redis.RedisError, OSError):
        return JSONResponse({"status": "redis unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _client_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, ClientError)
    return error_response(error.status, error.message, error.errors, error.headers)


async def _http_error(_: Request, error: Exception) -> Response:
    # Starlette's own 404 (no route) and 405 (wrong method), in the intake's JSON shape.
    assert isinstance(error, HTTPException)
    if error.status_code in {204, 304}:
        return Response(status_code=error.status_code, headers=error.headers)
    return error_response(error.status_code, str(error.detail), headers=error.headers)


async def _unavailable(_: Request, error: Exception) -> Response:
    log.error("intake.redis_unavailable", error=type(error).__name__)
    return error_response(
        503, "the queue is unavailable; retry later", headers={"Retry-After": "1"}
    )
