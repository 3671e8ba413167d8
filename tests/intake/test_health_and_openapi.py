"""Health probes, the served OpenAPI document kept in step with the routes, and Redis outages."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
import redis
from openapi_spec_validator import validate
from starlette.routing import Route

from tests.intake.conftest import AUTH
from worker.config import Settings
from worker.intake import IntakeSettings, RunningIntake, create_app, start_in_thread
from worker.intake.openapi import DOCUMENT
from worker.jobs import SyncLeadJob
from worker.producer import Connection


def test_healthz_and_readyz_answer_when_redis_does(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/readyz").json() == {"status": "ready"}


def test_the_served_document_is_valid_openapi_and_lists_exactly_the_routes(
    http: httpx.Client, intake_settings: IntakeSettings, redis_url: str
) -> None:
    served = http.get("/openapi.json").json()
    assert served == DOCUMENT
    validate(served)
    app = create_app(Settings(redis_url=redis_url), intake_settings, _connection(redis_url))
    routes = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, item in served["paths"].items() for method in item}
    assert routes == documented


def test_the_documented_job_fields_are_the_job_models_fields() -> None:
    documented = set(DOCUMENT["components"]["schemas"]["Job"]["properties"])
    assert documented == set(SyncLeadJob.model_fields)


@pytest.fixture
def intake_without_redis(intake_settings: IntakeSettings) -> Iterator[RunningIntake]:
    """An intake whose Redis is down (a port nothing listens on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    server = start_in_thread(create_app(Settings(redis_url=url), intake_settings, _connection(url)))
    yield server
    server.stop()


def test_without_redis_it_is_not_ready_and_answers_503_not_500(
    intake_without_redis: RunningIntake,
) -> None:
    with httpx.Client(base_url=intake_without_redis.base_url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        response = client.post("/v1/leads", json={"lead_id": 1}, headers=AUTH)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert client.get("/v1/jobs/abc", headers=AUTH).status_code == 503


def _connection(url: str) -> Connection:
    client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=1)
    return Connection(settings=Settings(redis_url=url), url=url, redis=client)
