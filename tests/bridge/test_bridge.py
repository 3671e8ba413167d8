"""Legacy syncLead callers through the intake's bridge: signed, enqueued once, synced over REST."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis
from lxml import etree
from suds.client import Client

from tests.conftest import WorkerProcess
from tests.rest.stack import add_fault, calls, configure, rest_environment
from worker.config import Secret, Settings
from worker.intake import IntakeSettings, RunningIntake, create_app, start_in_thread
from worker.intake.bridge_wire import parse_sync_lead
from worker.producer import connect
from worker.sandbox.auth import signature

pytestmark = pytest.mark.slow

LEGACY_USER = "legacy1_0123456789ABCDEF"
LEGACY_KEY = "legacy-key-0123456789"
BRIDGE_WAIT_S = "2"


@pytest.fixture(scope="module")
def worker(
    redis_url: str, sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A worker on the REST transport: legacy SOAP callers end up syncing over REST."""
    env = rest_environment(redis_url, sandbox_server)
    process = WorkerProcess(env, concurrency=2, log_path=tmp_path_factory.mktemp("b") / "w.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def intake(redis_url: str, worker: WorkerProcess) -> Iterator[RunningIntake]:
    """The intake with the bridge on (legacy credentials set), waiting 2 s for outcomes."""
    settings = Settings(
        redis_url=redis_url, legacy_user_id=LEGACY_USER, legacy_encryption_key=Secret(LEGACY_KEY)
    )
    previous = os.environ.get("LEADSYNC_BRIDGE_WAIT")
    os.environ["LEADSYNC_BRIDGE_WAIT"] = BRIDGE_WAIT_S
    try:
        app = create_app(settings, IntakeSettings(), connect(settings))
    finally:
        os.environ.pop("LEADSYNC_BRIDGE_WAIT")
        if previous is not None:
            os.environ["LEADSYNC_BRIDGE_WAIT"] = previous
    server = start_in_thread(app)
    yield server
    server.stop()


@pytest.fixture
def bridge(intake: RunningIntake, redis_client: redis.Redis, sandbox: Any) -> str:
    """The bridge's endpoint, on clean Redis and a clean sandbox."""
    return f"{intake.base_url}/soap/mktows/2_3"


def timestamp(offset: timedelta = timedelta()) -> str:
    return (datetime.now(UTC).astimezone() + offset).isoformat(timespec="seconds")


def envelope(email: str, *, signed_at: str | None = None, key: str = LEGACY_KEY) -> bytes:
    """A request shaped like the seed page's (and PHP SoapClient's) syncLead XML."""
    signed_at = signed_at or timestamp()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:ns1="http://www.marketo.com/mktows/">
  <SOAP-ENV:Header><ns1:AuthenticationHeader>
    <mktowsUserId>{LEGACY_USER}</mktowsUserId>
    <requestSignature>{signature(key, signed_at, LEGACY_USER)}</requestSignature>
    <requestTimestamp>{signed_at}</requestTimestamp>
  </ns1:AuthenticationHeader></SOAP-ENV:Header>
  <SOAP-ENV:Body><ns1:paramsSyncLead>
    <leadRecord><Email>{email}</Email><leadAttributeList>
      <attribute><attrName>FirstName</attrName><attrValue>George</attrValue></attribute>
    </leadAttributeList></leadRecord>
    <returnLead>false</returnLead>
  </ns1:paramsSyncLead></SOAP-ENV:Body>
</SOAP-ENV:Envelope>""".encode()


def post(bridge: str, body: bytes) -> tuple[int, Any]:
    answer = httpx.post(bridge, content=body, headers={"Content-Type": "text/xml"}, timeout=10)
    return answer.status_code, etree.fromstring(answer.content)


def text(tree: Any, name: str) -> str:
    return str(tree.xpath(f"string(//*[local-name()='{name}'])"))


def suds_client(bridge: str) -> Client:
    client = Client(f"{bridge}?WSDL", cache=None, timeout=15)
    header = client.factory.create("AuthenticationHeader")
    header.mktowsUserId = LEGACY_USER
    header.requestTimestamp = timestamp()
    header.requestSignature = signature(LEGACY_KEY, header.requestTimestamp, LEGACY_USER)
    client.set_options(soapheaders=header)
    return client


def test_a_suds_client_syncs_through_the_bridge_and_the_lead_arrives_over_rest(
    bridge: str, sandbox: Any
) -> None:
    client = suds_client(bridge)
    lead = client.factory.create("LeadRecord")
    lead.Email = "suds@example.com"
    attribute = client.factory.create("Attribute")
    attribute.attrName, attribute.attrValue = "FirstName", "Sue"
    attributes = client.factory.create("ArrayOfAttribute")
    attributes.attribute = [attribute]
    lead.leadAttributeList = attributes
    created = client.service.syncLead(leadRecord=lead, returnLead=True)
    assert created.syncStatus.status == "CREATED"
    assert created.leadRecord.leadAttributeList.attribute[0].attrValue == "Sue"
    updated = suds_client(bridge).service.syncLead(leadRecord=lead, returnLead=False)
    assert (updated.leadId, updated.syncStatus.status) == (created.leadId, "UPDATED")
    rest_calls = [c["operation"] for c in calls(sandbox) if c["operation"] != "token"]
    assert rest_calls == ["syncLeads", "getLead", "syncLeads"]  # getLead: for returnLead
    [stored] = httpx.get(f"{sandbox.base_url}/_sandbox/leads").json()
    assert (stored["id"], stored["attributes"]) == (created.leadId, {"FirstName": "Sue"})


def test_a_retried_request_finds_its_first_job_instead_of_enqueueing_another(
    bridge: str, sandbox: Any, redis_client: redis.Redis
) -> None:
    body = envelope("retry@example.com")
    first_status, first = post(bridge, body)
    again_status, again = post(bridge, body)
    assert (first_status, again_status) == (200, 200)
    assert text(first, "leadId") == text(again, "leadId") != ""
    assert len(calls(sandbox, "syncLeads")) == 1
    assert len(redis_client.keys("leadsync:bridge:*")) == 1


def test_a_call_that_outlives_the_wait_gets_a_retryable_fault_then_its_result(
    bridge: str, sandbox: Any
) -> None:
    configure(sandbox, latency_ms=3000)
    body = envelope("slow@example.com")
    status, fault = post(bridge, body)
    assert (status, text(fault, "code")) == (500, "20011")
    configure(sandbox, latency_ms=0)
    status, answer = post(bridge, body)
    assert (status, text(answer, "status")) == (200, "CREATED")
    assert len(calls(sandbox, "syncLeads")) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (envelope("bad@example.com", key="wrong-key"), "20014"),
        (envelope("old@example.com", signed_at=timestamp(-timedelta(hours=1))), "20016"),
        (b"<not-soap/>", "20012"),
    ],
)
def test_bad_calls_get_marketo_faults_and_enqueue_nothing(
    bridge: str, body: bytes, code: str, redis_client: redis.Redis
) -> None:
    status, fault = post(bridge, body)
    assert (status, text(fault, "code")) == (500, code)
    assert text(fault, "faultstring").startswith(code)
    assert redis_client.keys("leadsync:bridge:*") == []


def test_a_dead_job_answers_the_fault_a_soap_caller_knows(bridge: str, sandbox: Any) -> None:
    add_fault(sandbox, "denied@example.com", "20013")  # REST 603 at the sandbox
    status, fault = post(bridge, envelope("denied@example.com"))
    assert (status, text(fault, "code")) == (500, "20013")


def test_the_wsdl_is_addressed_to_the_bridge(bridge: str) -> None:
    wsdl = etree.fromstring(httpx.get(f"{bridge}?WSDL").content)
    assert wsdl.xpath("string(//*[local-name()='address']/@location)") == bridge


def test_savon_style_lower_case_keys_are_understood() -> None:
    body = envelope("x@example.com").replace(b"<Email>", b"<ns1:email>")
    body = body.replace(b"</Email>", b"</ns1:email>")
    assert parse_sync_lead(body).job["email"] == "x@example.com"
