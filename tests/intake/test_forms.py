"""POST /v1/forms/{name} over real HTTP: mapping, the Munchkin cookie, honeypot, CORS, limits."""

from __future__ import annotations

from typing import Any

import httpx
import redis

from tests.intake.conftest import FORM_RATE_CALLS, ORIGIN, THANKS, client_address, queued
from worker.intake.settings import DEFAULT_FORM_MAX_BODY_BYTES

COOKIE = "id:123-ABC-456&token:_mch-example.com-1700000000000-12345"
FORM = {"email": "ann@example.com", "first_name": "Ann", "company": "", "is_admin": "yes"}


def test_a_browser_post_with_the_munchkin_cookie_redirects_and_enqueues_the_mapped_lead(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    http.cookies.set("_mkto_trk", COOKIE)
    headers = client_address() | {"Origin": ORIGIN, "Accept": "text/html,*/*;q=0.8"}
    response = http.post("/v1/forms/contact", data=FORM, headers=headers)
    assert response.status_code == 303
    assert response.headers["location"] == THANKS
    assert response.headers["access-control-allow-origin"] == ORIGIN
    [message] = queued(redis_client)
    # Unmapped fields are dropped and blank ones never clear Marketo data.
    assert message["job"] == {
        "email": "ann@example.com",
        "marketo_cookie": COOKIE,
        "attributes": {"FirstName": "Ann"},
    }
    status = redis_client.hget(f"leadsync:job:{message['job_id']}", "s")
    assert status == "queued"


def test_a_multipart_post_takes_the_cookie_from_a_hidden_field_and_answers_json(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    fields = {"email": "bob@example.com", "company": "Bob & Co", "_mkto_trk": COOKIE}
    files = {"resume": ("cv.txt", b"ignored", "text/plain")}
    headers = client_address() | {"Accept": "application/json"}
    response = http.post("/v1/forms/contact", data=fields, files=files, headers=headers)
    assert response.status_code == 202
    [message] = queued(redis_client)
    assert response.json() == {"job_id": message["job_id"]}
    assert message["job"]["marketo_cookie"] == COOKIE
    assert message["job"]["attributes"] == {"Company": "Bob & Co"}


def test_a_filled_honeypot_looks_accepted_but_enqueues_nothing(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    response = http.post(
        "/v1/forms/contact", data=FORM | {"website": "http://spam"}, headers=client_address()
    )
    assert response.status_code == 303
    assert queued(redis_client) == []


def test_a_double_click_is_enqueued_once_and_both_get_the_same_job(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    headers = client_address() | {"Accept": "application/json"}
    first = http.post("/v1/forms/contact", data=FORM, headers=headers)
    second = http.post("/v1/forms/contact", data=FORM, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert len(queued(redis_client)) == 1
    other = http.post("/v1/forms/contact", data=FORM | {"first_name": "Anne"}, headers=headers)
    assert other.json() != first.json()
    assert len(queued(redis_client)) == 2


def test_cors_preflight_follows_the_forms_allow_list(http: httpx.Client) -> None:
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "accept"}
    allowed = http.options("/v1/forms/contact", headers=asked | {"Origin": ORIGIN})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["access-control-allow-methods"] == "POST"
    assert allowed.headers["vary"] == "Origin"
    refused = http.options("/v1/forms/contact", headers=asked | {"Origin": "https://evil.test"})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    put = http.options(
        "/v1/forms/contact", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"}
    )
    assert put.status_code == 405
    assert http.options("/v1/forms/contact").status_code == 400
    assert http.options("/v1/forms/nope", headers={"Origin": ORIGIN}).status_code == 404


def test_a_post_from_an_origin_off_the_list_is_refused(
    http: httpx.Client, redis_client: redis.Redis
) -> None:
    headers = client_address() | {"Origin": "https://evil.test"}
    assert http.post("/v1/forms/contact", data=FORM, headers=headers).status_code == 403
    assert queued(redis_client) == []


def test_form_client_errors_name_the_field(http: httpx.Client, redis_client: redis.Redis) -> None:
    def post(headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return http.post("/v1/forms/contact", headers=client_address() | (headers or {}), **kwargs)

    bad_email = post(data={"email": "not-an-address"})
    assert bad_email.status_code == 422
    assert bad_email.json()["errors"][0]["field"] == "email"
    missing = post(data={"first_name": "Ann"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "email"
    assert http.post("/v1/forms/unknown", data=FORM).status_code == 404
    assert post(json=FORM).status_code == 415
    big = {"email": "a@example.com", "first_name": "a" * DEFAULT_FORM_MAX_BODY_BYTES}
    assert post(data=big).status_code == 413
    broken = post(content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"})
    assert broken.status_code == 400
    assert queued(redis_client) == []


def test_each_address_gets_a_limited_number_of_posts(http: httpx.Client) -> None:
    address = client_address()
    codes = [
        http.post("/v1/forms/contact", data={"email": f"u{n}@example.com"}, headers=address)
        for n in range(FORM_RATE_CALLS + 1)
    ]
    assert [r.status_code for r in codes] == [303] * FORM_RATE_CALLS + [429]
    assert int(codes[-1].headers["retry-after"]) >= 1
    other = http.post(
        "/v1/forms/contact", data={"email": "v@example.com"}, headers=client_address()
    )
    assert other.status_code == 303
