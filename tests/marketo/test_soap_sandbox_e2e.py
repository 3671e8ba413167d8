"""The client against leadsync's own Marketo sandbox, end to end over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fake_marketo import REAL_WSDL

from worker.config import Secret
from worker.jobs import SyncLeadJob
from worker.marketo import LimitError, PermanentError, SoapClient, SyncResult, TransientError

sandbox = pytest.importorskip("worker.sandbox")
if not hasattr(sandbox, "start_in_thread") or not hasattr(sandbox, "SandboxConfig"):
    pytest.skip("the sandbox has no start_in_thread yet", allow_module_level=True)


@pytest.fixture(scope="module")
def running() -> Iterator[Any]:
    config = sandbox.SandboxConfig(port=0, rate_limit=None, max_concurrency=None, daily_quota=None)
    with sandbox.start_in_thread(config) as server:
        yield server


@pytest.fixture
def endpoint(running: Any) -> str:
    requests.post(running.base_url + "/_sandbox/reset", timeout=5).raise_for_status()
    return running.soap_endpoint


def connect(endpoint: str, **options: Any) -> SoapClient:
    settings = {
        "endpoint": endpoint,
        "user_id": sandbox.DEFAULT_USER_ID,
        "encryption_key": Secret(sandbox.DEFAULT_ENCRYPTION_KEY),
        "connect_timeout_s": 2.0,
        "read_timeout_s": 5.0,
    } | options
    return SoapClient(**settings)


def stored_leads(endpoint: str) -> list[dict[str, Any]]:
    base = endpoint.split("/soap/")[0]
    data = requests.get(base + "/_sandbox/leads", timeout=5).json()
    return data["leads"] if isinstance(data, dict) else data


def test_the_same_email_creates_once_then_updates_the_same_lead(endpoint: str) -> None:
    with connect(endpoint) as client:
        created = client.sync_lead(SyncLeadJob(email="ann@example.com"))
        updated = client.sync_lead(
            SyncLeadJob(email="ann@example.com", attributes={"City": "Oslo"})
        )
    assert created.status == "CREATED" and created.lead_id is not None
    assert updated == SyncResult(created.lead_id, "UPDATED")


def test_tricky_values_are_stored_intact_and_returned_with_the_lead(endpoint: str) -> None:
    tricky = {"Company": "Smith & Sons <\"Ltd\"> 'q'", "City": "Zürich 東京 🚀"}
    with connect(endpoint) as client:
        result = client.sync_lead(
            SyncLeadJob(email="josé@example.com", attributes=tricky, return_lead=True)
        )
    assert result.lead_record is not None
    assert result.lead_record["Email"] == "josé@example.com"
    assert result.lead_record["attributes"] | tricky == result.lead_record["attributes"]
    (lead,) = stored_leads(endpoint)
    assert {name: lead["attributes"].get(name) for name in tricky} == tricky


def test_the_wsdl_can_be_fetched_from_the_endpoint_or_be_marketos_own(endpoint: str) -> None:
    wsdls = [endpoint + "?WSDL"] + ([str(REAL_WSDL)] if REAL_WSDL.is_file() else [])
    for index, wsdl in enumerate(wsdls):
        with connect(endpoint, wsdl=wsdl) as client:
            result = client.sync_lead(SyncLeadJob(email=f"w{index}@example.com"))
        assert result.status == "CREATED"


def test_a_batch_syncs_every_record(endpoint: str) -> None:
    jobs = [SyncLeadJob(email=f"b{i}@example.com") for i in range(3)]
    with connect(endpoint) as client:
        results = client.sync_multiple_leads(jobs)
    assert [r.status for r in results] == ["CREATED"] * 3
    assert len({r.lead_id for r in results}) == 3


def test_scripted_faults_arrive_as_their_error_classes(endpoint: str) -> None:
    base = endpoint.split("/soap/")[0]
    faults = [
        {"key": "f@example.com", "count": 1, "code": 20023},
        {"key": "f@example.com", "count": 1, "code": 503},
        {"key": "f@example.com", "count": 1, "code": 20105},
    ]
    requests.post(base + "/_sandbox/faults", json={"faults": faults}, timeout=5).raise_for_status()
    job = SyncLeadJob(email="f@example.com")
    with connect(endpoint) as client:
        with pytest.raises(LimitError):
            client.sync_lead(job)
        with pytest.raises(TransientError):
            client.sync_lead(job)
        with pytest.raises(PermanentError) as caught:
            client.sync_lead(job)
        assert caught.value.code == 20105
        assert client.sync_lead(job).status == "CREATED"


def test_a_wrong_key_is_refused_as_authentication_failure(endpoint: str) -> None:
    client = connect(endpoint, encryption_key=Secret("not-the-key"))
    with client, pytest.raises(PermanentError) as caught:
        client.sync_lead(SyncLeadJob(email="a@example.com"))
    assert caught.value.code == 20014
    assert "not-the-key" not in str(caught.value)
