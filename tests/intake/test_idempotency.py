"""Idempotency-Key over real HTTP: one enqueue per key, even for simultaneous duplicates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import redis

from tests.intake.conftest import AUTH, FORM_RATE_CALLS, client_address, queued

DUPLICATES = 16


def test_a_repeated_key_returns_the_first_job_id_and_enqueues_nothing_more(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    headers = AUTH | {"Idempotency-Key": "order-42"}
    first = http.post("/v1/leads", json={"email": "a@example.com"}, headers=headers)
    again = http.post("/v1/leads", json={"email": "a@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(queued(redis_client)) == 1


def test_concurrent_duplicate_posts_enqueue_exactly_once(
    intake_base_url: str, redis_client: redis.Redis
) -> None:
    batch = {"jobs": [{"lead_id": 7}, {"email": "b@example.com"}]}
    headers = AUTH | {"Idempotency-Key": "batch-1"}

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=intake_base_url, timeout=30) as client:
            return client.post("/v1/leads", json=batch, headers=headers)

    with ThreadPoolExecutor(DUPLICATES) as pool:
        responses = list(pool.map(post, range(DUPLICATES)))
    assert {r.status_code for r in responses} == {202}
    assert len({tuple(r.json()["job_ids"]) for r in responses}) == 1
    assert len(queued(redis_client)) == 2


def test_concurrent_identical_form_posts_enqueue_once(
    intake_base_url: str, redis_client: redis.Redis
) -> None:
    headers = {"Accept": "application/json"}

    def post(n: int) -> httpx.Response:
        with httpx.Client(base_url=intake_base_url, timeout=30) as client:
            form = {"email": "double@example.com", "first_name": "Dee"}
            return client.post("/v1/forms/contact", data=form, headers=headers | client_address())

    with ThreadPoolExecutor(FORM_RATE_CALLS) as pool:
        responses = list(pool.map(post, range(FORM_RATE_CALLS)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["job_id"] for r in responses}) == 1
    assert len(queued(redis_client)) == 1


def test_the_same_key_with_a_different_request_is_refused(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    headers = AUTH | {"Idempotency-Key": "k"}
    assert http.post("/v1/leads", json={"lead_id": 1}, headers=headers).status_code == 202
    reused = http.post("/v1/leads", json={"lead_id": 2}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    # The same job written differently is the same request.
    spaced = http.post(
        "/v1/leads",
        content=b'{ "lead_id" : 1 }',
        headers=headers | {"Content-Type": "application/json"},
    )
    assert spaced.status_code == 202
    assert len(queued(redis_client)) == 1


def test_an_invalid_first_request_does_not_use_up_the_key(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    headers = AUTH | {"Idempotency-Key": "fix-and-retry"}
    assert http.post("/v1/leads", json={"lead_id": 0}, headers=headers).status_code == 422
    assert http.post("/v1/leads", json={"lead_id": 3}, headers=headers).status_code == 202
    assert len(queued(redis_client)) == 1
    too_long = http.post(
        "/v1/leads", json={"lead_id": 3}, headers=AUTH | {"Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 422


def test_keys_are_scoped_to_the_api_key_that_sent_them(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    body = {"lead_id": 9}
    mine = http.post("/v1/leads", json=body, headers=AUTH | {"Idempotency-Key": "shared"})
    other_auth = {"Authorization": "Bearer another-key", "Idempotency-Key": "shared"}
    theirs = http.post("/v1/leads", json=body, headers=other_auth)
    assert mine.json() != theirs.json()
    assert len(queued(redis_client)) == 2
