"""The sandbox's REST face over real HTTP: tokens, Sync Leads, Associate Lead, limits, faults."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.rest.stack import add_fault, calls, configure, tokens
from worker.config import Secret
from worker.jobs import validate_job
from worker.marketo import SoapClient
from worker.sandbox import DEFAULT_ENCRYPTION_KEY, DEFAULT_USER_ID
from worker.sandbox.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


class Rest:
    """A bare REST caller of the sandbox, with a token fetched the documented way."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.token = self.fetch_token()

    def fetch_token(self, secret: str = DEFAULT_CLIENT_SECRET) -> str:
        params = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID}
        answer = self.http.get("/identity/oauth/token", params={**params, "client_secret": secret})
        return str(answer.json().get("access_token", ""))

    def sync(self, *records: dict[str, Any], **options: Any) -> dict[str, Any]:
        body = {"action": "createOrUpdate", "input": list(records), **options}
        auth = {"Authorization": f"Bearer {self.token}"}
        return dict(self.http.post("/rest/v1/leads.json", json=body, headers=auth).json())

    def get(self, path: str, **params: str) -> dict[str, Any]:
        auth = {"Authorization": f"Bearer {self.token}"}
        return dict(self.http.get(path, params=params, headers=auth).json())


@pytest.fixture
def rest(sandbox: Any) -> Rest:
    return Rest(sandbox.base_url)


@pytest.fixture
def soap(sandbox: Any) -> Iterator[SoapClient]:
    """leadsync's SOAP client on the same sandbox, with its default credentials."""
    with SoapClient(
        endpoint=sandbox.soap_endpoint,
        user_id=DEFAULT_USER_ID,
        encryption_key=Secret(DEFAULT_ENCRYPTION_KEY),
    ) as client:
        yield client


def test_the_identity_service_issues_a_bearer_token_and_refuses_bad_credentials(
    sandbox: Any,
) -> None:
    params = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID}
    good = httpx.post(
        f"{sandbox.base_url}/identity/oauth/token",
        data={**params, "client_secret": DEFAULT_CLIENT_SECRET},
    ).json()
    assert good["token_type"] == "bearer" and 3500 < good["expires_in"] <= 3600
    bad = httpx.get(
        f"{sandbox.base_url}/identity/oauth/token", params={**params, "client_secret": "nope"}
    )
    assert bad.status_code == 401


def test_errors_are_http_200_with_success_false(rest: Rest, sandbox: Any) -> None:
    no_token = httpx.post(f"{sandbox.base_url}/rest/v1/leads.json", json={"input": [{}]})
    assert no_token.status_code == 200
    assert no_token.json()["errors"] == [{"code": "600", "message": "Access token not specified"}]
    rest.token = "forged"
    assert rest.sync({"email": "x@example.com"})["errors"][0]["code"] == "601"


def test_sync_leads_creates_updates_and_skips_with_reasons(rest: Rest) -> None:
    created = rest.sync({"email": "ann@example.com", "firstName": "Ann"})
    assert created["success"] is True
    [first] = created["result"]
    assert first["status"] == "created"
    [again] = rest.sync({"email": "ANN@example.com", "lastName": "Lee"})["result"]
    assert (again["id"], again["status"]) == (first["id"], "updated")
    [skipped] = rest.sync({"id": 1, "email": "z@example.com"}, lookupField="id")["result"]
    assert skipped["status"] == "skipped" and skipped["reasons"][0]["code"] == "1004"
    [unknown] = rest.sync({"email": "ann@example.com", "noSuchField": "1"})["result"]
    assert unknown["reasons"][0]["code"] == "1006"


def test_a_lead_written_over_soap_reads_over_rest_and_the_other_way_round(
    rest: Rest, soap: SoapClient
) -> None:
    job = validate_job(email="soap@example.com", attributes={"Company": "S"})
    by_soap = soap.sync_lead(job)
    found = rest.get(
        "/rest/v1/leads.json", filterType="email", filterValues="soap@example.com",
        fields="email,company",
    )["result"]  # fmt: skip
    assert found == [{"id": by_soap.lead_id, "email": "soap@example.com", "company": "S"}]
    [by_rest] = rest.sync({"email": "rest@example.com", "firstName": "Rae"})["result"]
    again = soap.sync_lead(validate_job(email="rest@example.com"))
    assert (again.lead_id, again.status) == (by_rest["id"], "UPDATED")


def test_associate_lead_ties_a_munchkin_cookie_to_the_lead(rest: Rest, sandbox: Any) -> None:
    [lead] = rest.sync({"email": "cookie@example.com"})["result"]
    auth = {"Authorization": f"Bearer {rest.token}"}
    answer = rest.http.post(
        f"/rest/v1/leads/{lead['id']}/associate.json", params={"cookie": "id:1&token:t"},
        headers=auth,
    ).json()  # fmt: skip
    assert answer["success"] is True
    [stored] = httpx.get(f"{sandbox.base_url}/_sandbox/leads").json()
    assert stored["cookies"] == ["id:1&token:t"]


def test_limits_answer_606_615_and_607(rest: Rest, sandbox: Any) -> None:
    configure(sandbox, rate_limit="1/20")
    rest.sync({"email": "a@example.com"})
    assert rest.sync({"email": "b@example.com"})["errors"][0]["code"] == "606"
    configure(sandbox, rate_limit="off", max_concurrency=1, latency_ms=300)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda e: Rest(sandbox.base_url).sync({"email": e}), "cd"))
    assert sorted(str(a.get("errors", [{}])[0].get("code")) for a in answers) == ["615", "None"]
    configure(sandbox, max_concurrency="off", latency_ms=0, daily_quota=1)
    assert rest.sync({"email": "e@example.com"})["errors"][0]["code"] == "607"


def test_injected_faults_take_rest_shapes(rest: Rest, sandbox: Any) -> None:
    add_fault(sandbox, "f@example.com", "503")
    add_fault(sandbox, "f@example.com", "20013")
    add_fault(sandbox, "f@example.com", "1004")
    auth = {"Authorization": f"Bearer {rest.token}"}
    body = {"input": [{"email": "f@example.com"}]}
    assert rest.http.post("/rest/v1/leads.json", json=body, headers=auth).status_code == 503
    assert rest.sync({"email": "f@example.com"})["errors"][0]["code"] == "603"
    assert rest.sync({"email": "f@example.com"})["result"][0]["reasons"][0]["code"] == "1004"
    assert rest.sync({"email": "f@example.com"})["result"][0]["status"] == "created"


def test_expired_tokens_answer_602_and_the_next_fetch_gets_a_new_one(
    rest: Rest, sandbox: Any
) -> None:
    tokens(sandbox, expire=True)
    assert rest.sync({"email": "t@example.com"})["errors"][0]["code"] == "602"
    old, rest.token = rest.token, rest.fetch_token()
    assert rest.token != old
    assert rest.sync({"email": "t@example.com"})["success"] is True
    assert len(calls(sandbox, "token")) == 2


def test_a_soap_foreign_id_is_the_rest_field_foreign_sys_person_id(
    rest: Rest, soap: SoapClient, sandbox: Any
) -> None:
    job = validate_job(foreign_sys_person_id="003A", foreign_sys_type="SFDC", email="f@x.com")
    by_soap = soap.sync_lead(job)
    record = {"foreignSysPersonId": "003A", "email": "g@x.com"}
    [by_rest] = rest.sync(record, lookupField="foreignSysPersonId")["result"]
    assert (by_rest["id"], by_rest["status"]) == (by_soap.lead_id, "updated")
    [lead] = httpx.get(f"{sandbox.base_url}/_sandbox/leads").json()
    assert (lead["email"], lead["foreign_sys_type"]) == ("g@x.com", "SFDC")
