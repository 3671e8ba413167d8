"""POST /v1/leads and GET /v1/jobs over real HTTP: status codes, and what lands in Redis."""

from __future__ import annotations

import json

import httpx
import redis

from tests.intake.conftest import API_KEY, AUTH, queued
from worker.intake.settings import DEFAULT_MAX_BODY_BYTES, MAX_BATCH_JOBS


def test_one_job_is_accepted_recorded_as_queued_and_published(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    job = {"email": "ann@example.com", "attributes": {"FirstName": "Ann & <Co>"}}
    response = http.post("/v1/leads", json=job, headers=AUTH)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/v1/jobs/{job_id}"
    [message] = queued(redis_client)
    assert message["job_id"] == job_id
    assert message["job"] == job
    status = http.get(f"/v1/jobs/{job_id}", headers=AUTH)
    assert status.status_code == 200
    assert status.json()["state"] == "queued"
    assert status.json()["job_id"] == job_id


def test_a_batch_returns_every_job_id_in_order(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    jobs = [{"lead_id": n} for n in range(1, 51)]
    response = http.post("/v1/leads", json={"jobs": jobs}, headers=AUTH)
    assert response.status_code == 202
    job_ids = response.json()["job_ids"]
    assert [m["job_id"] for m in queued(redis_client)] == job_ids
    assert [m["job"]["lead_id"] for m in queued(redis_client)] == list(range(1, 51))


def test_one_bad_job_in_a_batch_names_its_path_and_nothing_is_enqueued(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    jobs = [{"email": "a@example.com"}, {"email": "not-an-address"}, {"lead_id": 0}]
    response = http.post("/v1/leads", json={"jobs": jobs}, headers=AUTH)
    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == ["jobs.1.email", "jobs.2.lead_id"]
    assert queued(redis_client) == []
    assert redis_client.dbsize() == 0


def test_a_batch_over_the_limit_or_empty_is_refused(http: httpx.Client) -> None:
    for jobs in ([], [{"lead_id": 1}] * (MAX_BATCH_JOBS + 1)):
        response = http.post("/v1/leads", json={"jobs": jobs}, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "jobs"


def test_a_bad_field_is_a_422_naming_it(http: httpx.Client, redis_client: redis.Redis) -> None:
    cases = {
        "email": {"email": "nope"},
        "lead_id": {"lead_id": "1.5"},
        "foreign_sys_type": {"foreign_sys_person_id": "x"},
        "colour": {"email": "a@example.com", "colour": "red"},
        "attributes": {"email": "a@example.com", "attributes": [[["a"], "b"]]},
        "body": ["not", "an", "object"],
    }
    for field, body in cases.items():
        response = http.post("/v1/leads", json=body, headers=AUTH)
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field
    assert queued(redis_client) == []


def test_a_repeated_key_in_json_is_refused_not_silently_dropped(http: httpx.Client) -> None:
    body = b'{"email": "a@example.com", "email": "b@example.com"}'
    response = http.post("/v1/leads", content=body, headers=AUTH | _json_type())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "email"
    body = b'{"email": "a@example.com", "attributes": {"Name": "x", "Name": "y"}}'
    response = http.post("/v1/leads", content=body, headers=AUTH | _json_type())
    assert response.status_code == 422
    assert "more than once" in response.json()["errors"][0]["rule"]


def test_malformed_json_is_a_400(http: httpx.Client) -> None:
    for body in (b"{", b'{"email": NaN}', b"\xff\xfe", b"[" * 100_000):
        response = http.post("/v1/leads", content=body, headers=AUTH | _json_type())
        assert response.status_code == 400, body[:10]
        assert response.json()["errors"][0]["field"] == "body"


def test_an_oversized_body_is_a_413_declared_or_streamed(http: httpx.Client) -> None:
    big = (
        b'{"email": "a@example.com", "attributes": {"x": "' + b"a" * DEFAULT_MAX_BODY_BYTES + b'"}}'
    )
    response = http.post("/v1/leads", content=big, headers=AUTH | _json_type())
    assert response.status_code == 413

    def chunks():  # no Content-Length: the cap applies while streaming
        yield b'{"email": "a@example.com", "x": "'
        for _ in range(DEFAULT_MAX_BODY_BYTES // 65536 + 1):
            yield b"a" * 65536

    response = http.post("/v1/leads", content=chunks(), headers=AUTH | _json_type())
    assert response.status_code == 413


def test_a_wrong_content_type_is_a_415(http: httpx.Client) -> None:
    for kind in ("text/plain", "application/x-www-form-urlencoded", ""):
        headers = AUTH | {"Content-Type": kind}
        response = http.post("/v1/leads", content=b'{"lead_id": 1}', headers=headers)
        assert response.status_code == 415
    ok = http.post(
        "/v1/leads", content=b'{"lead_id": 1}', headers=AUTH | _json_type("; charset=utf-8")
    )
    assert ok.status_code == 202


def test_without_a_valid_key_it_is_a_401_that_never_echoes_the_key(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    wrong = [
        {},
        {"Authorization": f"Bearer {API_KEY}x"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": "Bearer"},
        {"Authorization": API_KEY},
    ]
    for headers in wrong:
        response = http.post("/v1/leads", json={"lead_id": 1}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert API_KEY not in response.text
        assert http.get("/v1/jobs/abc", headers=headers).status_code == 401
    assert queued(redis_client) == []
    second_key = http.post(
        "/v1/leads", json={"lead_id": 1}, headers={"Authorization": "Bearer another-key"}
    )
    assert second_key.status_code == 202


def test_an_unknown_job_is_a_404(http: httpx.Client) -> None:
    for job_id in ("0" * 32, "x" * 1000, "%00"):
        response = http.get(f"/v1/jobs/{job_id}", headers=AUTH)
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "job_id"


def test_unknown_routes_and_methods_answer_json_not_500(http: httpx.Client) -> None:
    assert http.get("/nowhere").status_code == 404
    response = http.get("/v1/leads", headers=AUTH)
    assert response.status_code == 405
    assert json.loads(response.text)["error"]


def _json_type(suffix: str = "") -> dict[str, str]:
    return {"Content-Type": "application/json" + suffix}
