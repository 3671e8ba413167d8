"""`leadsync check` against the sandbox and a real Redis: each diagnosis, in plain words."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from tests.conftest import REPO
from tests.ops.conftest import add_fault, free_port
from worker.config import Secret, Settings
from worker.ops.check import check_rest_call, clock_skew_s, describe_skew
from worker.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_ENCRYPTION_KEY,
    DEFAULT_USER_ID,
)


def check_env(redis_url: str, sandbox: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADSYNC_"))}
    env.update(
        REDIS_URL=redis_url,
        MARKETO_SOAP_ENDPOINT=sandbox.soap_endpoint,
        MARKETO_USER_ID=DEFAULT_USER_ID,
        MARKETO_ENCRYPTION_KEY=DEFAULT_ENCRYPTION_KEY,
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def rest_check_env(redis_url: str, sandbox: Any, **extra: str) -> dict[str, str]:
    """`check_env` for MARKETO_API=rest against the sandbox's identity service and REST face."""
    rest = {
        "MARKETO_API": "rest",
        "MARKETO_REST_ENDPOINT": f"{sandbox.base_url}/rest",
        "MARKETO_REST_IDENTITY_URL": f"{sandbox.base_url}/identity",
        "MARKETO_CLIENT_ID": DEFAULT_CLIENT_ID,
        "MARKETO_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
    }
    return check_env(redis_url, sandbox, **{**rest, **extra})


def sandbox_calls(sandbox: Any) -> list[dict[str, Any]]:
    return httpx.get(f"{sandbox.base_url}/_sandbox/calls").json()


def leadsync_check(env: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "worker", "check"], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def sandbox_config(sandbox: Any) -> Iterator[Any]:
    """The sandbox, with its runtime config put back after the test."""
    yield sandbox
    httpx.post(f"{sandbox.base_url}/_sandbox/config", json={"timestamp_window_s": 900.0})


def test_a_healthy_setup_passes_every_step_and_writes_nothing(redis_url: str, sandbox: Any) -> None:
    code, out = leadsync_check(check_env(redis_url, sandbox))
    assert code == 0, out
    assert out.count("ok  ") == 5, out
    assert "nothing was written" in out
    assert httpx.get(f"{sandbox.base_url}/_sandbox/leads").json() in ([], {"leads": []})
    [call] = httpx.get(f"{sandbox.base_url}/_sandbox/calls").json()
    assert (call["operation"], call["fault_code"]) == ("syncLead", 20103)


def test_a_wrong_encryption_key_is_named_as_such(redis_url: str, sandbox: Any) -> None:
    wrong = "not-the-key-0123456789"
    code, out = leadsync_check(check_env(redis_url, sandbox, MARKETO_ENCRYPTION_KEY=wrong))
    assert code == 1
    assert "authentication failed (20014)" in out
    assert "MARKETO_ENCRYPTION_KEY is wrong" in out
    assert wrong not in out


def test_an_expired_signature_is_reported_as_clock_trouble(
    redis_url: str, sandbox_config: Any
) -> None:
    # A window shorter than the timestamp's one-second resolution: every signature is stale.
    httpx.post(
        f"{sandbox_config.base_url}/_sandbox/config", json={"timestamp_window_s": 0.001}
    ).raise_for_status()
    code, out = leadsync_check(check_env(redis_url, sandbox_config))
    assert code == 1
    assert "request expired (20016)" in out
    assert "clock" in out


def test_the_clock_skew_is_measured_against_the_servers_date_header(sandbox: Any) -> None:
    assert abs(clock_skew_s(sandbox.soap_endpoint) or 0.0) < 2
    skew = clock_skew_s(sandbox.soap_endpoint, now=lambda: time.time() + 3600)
    assert skew is not None and 3598 < skew < 3602
    assert describe_skew(skew).endswith("s ahead of the server's: fix NTP on this host")
    assert (
        describe_skew(-120) == "the local clock is 120 s behind the server's: fix NTP on this host"
    )


def test_an_unreachable_endpoint_is_said_plainly(redis_url: str, sandbox: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}/soap/mktows/2_3"
    code, out = leadsync_check(check_env(redis_url, sandbox, MARKETO_SOAP_ENDPOINT=dead))
    assert code == 1
    assert f"FAIL  endpoint     {dead} is unreachable (ConnectionError)" in out
    assert "signed call" not in out


def test_an_unknown_workspace_is_named(redis_url: str, sandbox: Any) -> None:
    code, out = leadsync_check(check_env(redis_url, sandbox, MARKETO_WORKSPACE="Atlantis"))
    assert code == 1
    assert "unknown workspace (20110): MARKETO_WORKSPACE='Atlantis'" in out


def test_an_unreachable_redis_and_a_bad_setting_are_reported(sandbox: Any) -> None:
    env = check_env(f"redis://:hunter22@127.0.0.1:{free_port()}/0", sandbox)
    code, out = leadsync_check(env)
    assert code == 1
    assert "FAIL  redis" in out and "is unreachable" in out
    assert "hunter22" not in out
    code, out = leadsync_check({**env, "MARKETO_RATE_LIMIT": "fast"})
    assert code == 1
    assert "FAIL  config" in out and "MARKETO_RATE_LIMIT" in out


def test_a_healthy_rest_setup_passes_with_its_own_token_and_writes_nothing(
    redis_url: str, sandbox: Any
) -> None:
    code, out = leadsync_check(rest_check_env(redis_url, sandbox))
    assert code == 0, out
    assert out.count("ok  ") == 5, out
    for step in ("config", "redis", "endpoint", "token", "REST call"):
        assert f"ok    {step:12} " in out, out
    assert f"client id {DEFAULT_CLIENT_ID}" in out
    assert "token accepted; nothing was written" in out
    assert "wsdl" not in out and "signed call" not in out
    assert [(c["operation"], c["outcome"]) for c in sandbox_calls(sandbox)] == [
        ("token", "ISSUED"),
        ("getLeads", "OK"),
    ]
    assert httpx.get(f"{sandbox.base_url}/_sandbox/leads").json() in ([], {"leads": []})
    # The sandbox hands out the same token until it expires: the check's own never shows.
    token = httpx.post(
        f"{sandbox.base_url}/identity/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    ).json()["access_token"]
    assert token not in out
    assert DEFAULT_CLIENT_SECRET not in out


def test_a_wrong_client_secret_is_named_and_never_printed(redis_url: str, sandbox: Any) -> None:
    wrong = "not-the-secret-0123456789"
    code, out = leadsync_check(rest_check_env(redis_url, sandbox, MARKETO_CLIENT_SECRET=wrong))
    assert code == 1, out
    assert "FAIL  token" in out
    assert "check MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET" in out
    assert wrong not in out and DEFAULT_CLIENT_SECRET not in out
    assert "REST call" not in out
    assert [c["operation"] for c in sandbox_calls(sandbox)] == ["token"]


def test_an_unreachable_identity_service_names_its_variable(redis_url: str, sandbox: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}/identity"
    code, out = leadsync_check(rest_check_env(redis_url, sandbox, MARKETO_REST_IDENTITY_URL=dead))
    assert code == 1, out
    assert f"FAIL  token        no token from {dead}/oauth/token: connection failed" in out
    assert "check MARKETO_REST_IDENTITY_URL" in out
    assert "ok    endpoint" in out and "REST call" not in out


def test_a_rest_endpoint_without_the_rest_path_is_reported(redis_url: str, sandbox: Any) -> None:
    code, out = leadsync_check(
        rest_check_env(redis_url, sandbox, MARKETO_REST_ENDPOINT=sandbox.base_url)
    )
    assert code == 1, out
    assert "ok    token" in out
    assert "FAIL  REST call    the endpoint did not answer as Marketo REST: HTTP 404" in out
    assert "check MARKETO_REST_ENDPOINT" in out


@pytest.mark.parametrize(
    ("fault", "ok", "said"),
    [
        ("603", False, "access denied (603): the API user of MARKETO_CLIENT_ID lacks permission"),
        ("606", True, "token accepted, but Marketo is limiting this instance now (606: "),
        ("615", True, "token accepted, but Marketo is limiting this instance now (615: "),
        ("611", False, "Marketo had a passing problem (611: System error): run the check again"),
        ("610", False, "Marketo refused the call: 610: "),
    ],
)
def test_the_rest_probe_s_refusals_are_explained(
    redis_url: str, sandbox: Any, fault: str, ok: bool, said: str
) -> None:
    add_fault(sandbox, "2147483647", fault)
    code, out = leadsync_check(rest_check_env(redis_url, sandbox))
    assert code == (0 if ok else 1), out
    assert f"{'ok  ' if ok else 'FAIL'}  REST call    {said}" in out


def test_a_token_refused_right_after_issue_points_at_the_instance(
    redis_url: str, sandbox: Any
) -> None:
    settings = Settings.from_env(rest_check_env(redis_url, sandbox), env_file=None)
    bogus = "f00dfeedf00dfeedf00dfeedf00dfeed:sj"
    with requests.Session() as session:
        finding = check_rest_call(settings, session, Secret(bogus))
    assert not finding.ok
    assert finding.message.startswith("the token was refused right after it was issued (601: ")
    assert "MARKETO_REST_IDENTITY_URL and MARKETO_REST_ENDPOINT" in finding.message
    assert bogus not in finding.message
