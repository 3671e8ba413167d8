"""The REST client against the sandbox over real HTTP, its token shared through real Redis."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import redis

from tests.rest.stack import calls, configure, tokens
from worker.config import Secret, Settings
from worker.jobs import validate_job
from worker.marketo import PermanentError, ResignError
from worker.marketo.rest import RestClient
from worker.marketo.rest_options import RestOptions
from worker.sandbox.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from worker.transports import build_rest_client

OPTIONS = RestOptions(fsp_field="externalId", partitions={"Europe": "EU"})


def settings_for(sandbox: Any, secret: str = DEFAULT_CLIENT_SECRET) -> Settings:
    return Settings(
        api="rest",
        rest_endpoint=f"{sandbox.base_url}/rest",
        rest_identity_url=f"{sandbox.base_url}/identity",
        client_id=DEFAULT_CLIENT_ID,
        client_secret=Secret(secret),
        read_timeout_s=5,
        limiter_enabled=False,
    )


@pytest.fixture
def client(sandbox: Any, redis_client: redis.Redis) -> RestClient:
    configure(sandbox, custom_fields=["externalId"], workspaces=["Europe=EU"])
    return build_rest_client(settings_for(sandbox), redis_client, OPTIONS)


def stored(sandbox: Any) -> list[dict[str, Any]]:
    return list(httpx.get(f"{sandbox.base_url}/_sandbox/leads").json())


def test_an_email_job_is_created_then_updated_under_rest_field_names(
    client: RestClient, sandbox: Any
) -> None:
    first = client.sync_lead(validate_job(email="ann@example.com", attributes={"FirstName": "Ann"}))
    second = client.sync_lead(validate_job(email="ann@example.com", return_lead=True))
    assert (first.status, second.status, second.lead_id) == ("CREATED", "UPDATED", first.lead_id)
    assert second.lead_record is not None and second.lead_record["Email"] == "ann@example.com"
    [lead] = stored(sandbox)
    assert lead["attributes"] == {"FirstName": "Ann"}


def test_the_lookup_field_follows_the_jobs_strongest_key(client: RestClient, sandbox: Any) -> None:
    by_fsp = client.sync_lead(
        validate_job(foreign_sys_person_id="F-1", foreign_sys_type="CUSTOM", email="a@example.com")
    )
    moved = client.sync_lead(
        validate_job(foreign_sys_person_id="F-1", foreign_sys_type="CUSTOM", email="b@example.com")
    )
    by_id = client.sync_lead(validate_job(lead_id=by_fsp.lead_id, email="c@example.com"))
    assert {by_fsp.lead_id, moved.lead_id, by_id.lead_id} == {by_fsp.lead_id}
    [lead] = stored(sandbox)
    assert (lead["email"], lead["attributes"]) == ("c@example.com", {"externalId": "F-1"})
    missing = client.sync_lead(validate_job(lead_id=42))
    assert (missing.status, missing.error) == ("FAILED", "1004: Lead not found by id '42'")


def test_a_foreign_id_without_its_custom_field_is_a_permanent_error_naming_the_knob(
    sandbox: Any, redis_client: redis.Redis
) -> None:
    plain = build_rest_client(settings_for(sandbox), redis_client, RestOptions())
    job = validate_job(foreign_sys_person_id="F-2", foreign_sys_type="SFDC")
    with pytest.raises(PermanentError, match="LEADSYNC_REST_FSP_FIELD"):
        plain.sync_lead(job)


def test_the_workspace_becomes_its_partition(client: RestClient, sandbox: Any) -> None:
    client.sync_lead(validate_job(email="eu@example.com", workspace="Europe"))
    assert [lead["partition"] for lead in stored(sandbox)] == ["EU"]
    with pytest.raises(PermanentError, match="LEADSYNC_REST_PARTITIONS"):
        client.sync_lead(validate_job(email="x@example.com", workspace="Asia"))


def test_a_munchkin_cookie_is_associated_after_the_sync(client: RestClient, sandbox: Any) -> None:
    client.sync_lead(validate_job(email="c@example.com", marketo_cookie="id:123&token:_mch-x"))
    [lead] = stored(sandbox)
    assert lead["cookies"] == ["id:123&token:_mch-x"]
    assert [c["operation"] for c in calls(sandbox)] == ["token", "syncLeads", "associateLead"]


def test_a_revoked_token_is_dropped_for_everyone_and_fetched_once_again(
    client: RestClient, sandbox: Any, redis_client: redis.Redis
) -> None:
    client.sync_lead(validate_job(email="t@example.com"))
    tokens(sandbox, revoke=True)
    with pytest.raises(ResignError) as raised:
        client.sync_lead(validate_job(email="t@example.com"))
    assert raised.value.code == 601
    assert redis_client.keys("leadsync:rest:token:*") == []
    assert client.sync_lead(validate_job(email="t@example.com")).status == "UPDATED"
    assert len(calls(sandbox, "token")) == 2


def test_bad_credentials_are_permanent_and_never_echo_the_secret(
    sandbox: Any, redis_client: redis.Redis
) -> None:
    wrong = build_rest_client(settings_for(sandbox, "wrong-secret-123"), redis_client, OPTIONS)
    with pytest.raises(PermanentError) as raised:
        wrong.sync_lead(validate_job(email="x@example.com"))
    assert "MARKETO_CLIENT_SECRET" in str(raised.value)
    assert "wrong-secret-123" not in str(raised.value) + repr(wrong)


def test_tokens_are_renewed_before_they_expire_so_no_call_meets_602(
    redis_client: redis.Redis,
) -> None:
    from worker.sandbox import SandboxConfig, start_in_thread

    with start_in_thread(SandboxConfig(port=0, token_ttl_s=3)) as short_lived:
        options = RestOptions(token_margin_s=1.0)
        client = build_rest_client(settings_for(short_lived), redis_client, options)
        deadline = time.monotonic() + 4.5
        while time.monotonic() < deadline:
            assert client.sync_lead(validate_job(email="r@example.com")).status != "FAILED"
            time.sleep(0.1)
        log = calls(short_lived)
    assert [c for c in log if c["fault_code"] == 602] == []
    assert len([c for c in log if c["operation"] == "token"]) >= 2
