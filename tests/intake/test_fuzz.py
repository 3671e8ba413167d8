"""Fuzzing the documented contract over real HTTP: no 5xx, and nothing invalid is ever queued."""

from __future__ import annotations

import json
from typing import Any

import httpx
import redis
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.intake.conftest import AUTH, client_address, queued
from worker.intake.openapi import DOCUMENT
from worker.jobs import validate_job

CLIENT_ERRORS = {400, 413, 415, 422}
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    # The explain phase imports libcst, which warns on import; warnings are errors here.
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

_job_schema = DOCUMENT["components"]["schemas"]["Job"]
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_field_names = st.sampled_from([*_job_schema["properties"], "jobs", "extra"])
_near_jobs = st.dictionaries(_field_names, _json_values, max_size=6)
_documented_jobs = from_schema(_job_schema)
_bodies = st.one_of(
    _documented_jobs,
    st.builds(lambda jobs: {"jobs": jobs}, st.lists(_documented_jobs | _near_jobs, max_size=4)),
    _near_jobs,
    _json_values,
)
_header_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


@FUZZ
@given(
    body=_bodies,
    raw=st.none() | st.binary(max_size=64),
    content_type=st.sampled_from(["application/json", "text/plain", "application/x+json"]),
    idempotency_key=st.none() | _header_text,
)
def test_fuzzed_lead_posts_never_fail_on_the_server(
    http: httpx.Client,
    redis_client: redis.Redis,
    body: Any,
    raw: bytes | None,
    content_type: str,
    idempotency_key: str | None,
) -> None:
    headers = AUTH | {"Content-Type": content_type}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    content = raw if raw is not None else json.dumps(body).encode()
    before = redis_client.llen("leadsync")
    response = http.post("/v1/leads", content=content, headers=headers)
    event(f"status {response.status_code}")
    assert response.status_code == 202 or response.status_code in CLIENT_ERRORS, response.text
    if response.status_code != 202:
        assert redis_client.llen("leadsync") == before
        assert response.json()["errors"]
    _assert_everything_queued_is_valid(redis_client)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["email", "first_name", "company", "website", "_mkto_trk"])
        | st.text(max_size=8),
        st.text(max_size=40),
        max_size=6,
    ),
    multipart=st.booleans(),
)
def test_fuzzed_form_posts_never_fail_on_the_server(
    http: httpx.Client, redis_client: redis.Redis, fields: dict[str, str], multipart: bool
) -> None:
    headers = client_address()
    safe = {
        k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode()
        for k, v in fields.items()
    }
    if multipart:
        response = http.post("/v1/forms/contact", data=safe, files={"f": b"x"}, headers=headers)
    else:
        response = http.post("/v1/forms/contact", data=safe, headers=headers)
    event(f"status {response.status_code}")
    assert response.status_code in {202, 303, 400, 413, 415, 422}, response.text
    _assert_everything_queued_is_valid(redis_client)


def _assert_everything_queued_is_valid(client: redis.Redis) -> None:
    for message in queued(client):
        validate_job(message["job"])
        assert client.hget(f"leadsync:job:{message['job_id']}", "s") == "queued"
