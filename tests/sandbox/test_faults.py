"""Fault injection: latency and jitter, random transient faults of each kind, scripted faults."""

from __future__ import annotations

import time

import httpx
import pytest

from .soapkit import Reply, Soap, envelope, record, sync_lead_body


def _post(soap: Soap, email: str, timeout: float = 5) -> httpx.Response:
    body = envelope(sync_lead_body(record(email))).encode()
    return httpx.post(soap.endpoint, content=body, timeout=timeout)


def test_latency_is_fixed_plus_jitter(soap: Soap) -> None:
    soap.configure(latency_ms=150, jitter_ms=100)
    started = time.monotonic()
    assert soap.sync_lead(record("slow@x.com")).status == "CREATED"
    assert 0.15 <= time.monotonic() - started < 0.6
    [call] = soap.calls()
    assert call["completed_at"] - call["received_at"] >= 0.15


def test_a_503_is_an_html_error_page_without_a_marketo_code(soap: Soap) -> None:
    soap.configure(fault_rate=1.0, fault_kinds=["503"])
    response = _post(soap, "a@x.com")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text and "mktServiceException" not in response.text
    assert soap.leads() == []
    assert soap.calls()[0]["outcome"] == "HTTP_503"


def test_a_502_has_an_empty_body(soap: Soap) -> None:
    soap.configure(fault_rate=1.0, fault_kinds=["502"])
    response = _post(soap, "a@x.com")
    assert (response.status_code, response.content) == (502, b"")


def test_a_reset_drops_the_connection(soap: Soap) -> None:
    soap.configure(fault_rate=1.0, fault_kinds=["reset"])
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        _post(soap, "a@x.com")
    assert soap.calls()[0]["outcome"] == "RESET"
    assert soap.calls()[0]["http_status"] is None


def test_a_hang_outlasts_the_clients_timeout_and_the_upsert_may_still_apply(soap: Soap) -> None:
    soap.configure(fault_rate=1.0, fault_kinds=["hang"], hang_s=5)
    with pytest.raises(httpx.ReadTimeout):
        _post(soap, "hang@x.com", timeout=0.3)
    deadline = time.monotonic() + 3
    while not soap.calls() and time.monotonic() < deadline:
        time.sleep(0.02)
    [call] = soap.calls()
    assert (call["outcome"], call["injected"], call["http_status"]) == ("HANG", "hang", None)
    assert [lead["email"] for lead in soap.leads()] == ["hang@x.com"]


def test_a_hang_shorter_than_the_timeout_answers_late(soap: Soap) -> None:
    soap.configure(fault_rate=1.0, fault_kinds=["hang"], hang_s=0.2)
    assert Reply(_post(soap, "late@x.com")).status == "CREATED"


@pytest.mark.parametrize("code", [10001, 20011])
def test_internal_errors_are_server_faults(soap: Soap, code: int) -> None:
    soap.configure(fault_rate=1.0, fault_kinds=[str(code)])
    reply = soap.sync_lead(record("a@x.com"))
    assert (reply.status_code, reply.fault_code) == (500, code)
    assert reply.find("//faultcode") == "SOAP-ENV:Server"
    assert soap.leads() == []


def test_a_fault_rate_hits_about_that_share_of_calls(soap: Soap) -> None:
    soap.configure(fault_rate=0.5, fault_kinds=["20011"])
    codes = [soap.sync_lead(record(f"r{i}@x.com")).fault_code for i in range(60)]
    assert 10 <= codes.count(20011) <= 50


def test_scripted_faults_fail_the_first_n_calls_for_a_key_then_succeed(soap: Soap) -> None:
    faults = f"{soap.base_url}/_sandbox/faults"
    soap.http.post(faults, json={"key": "Flaky@x.com", "count": 2, "code": "20011"})
    soap.http.post(faults, json={"faults": [{"key": "1000002", "count": 1, "code": "503"}]})
    assert soap.http.get(faults).json() == [
        {"key": "flaky@x.com", "count": 2, "code": "20011"},
        {"key": "1000002", "count": 1, "code": "503"},
    ]
    assert soap.sync_lead(record("other@x.com")).status == "CREATED"
    codes = [soap.sync_lead(record("flaky@x.com")).fault_code for _ in range(3)]
    assert codes == [20011, 20011, None]
    assert _post(soap, "x@x.com").status_code == 200
    by_id = httpx.post(
        soap.endpoint, content=envelope(sync_lead_body(record(id=1000002))).encode(), timeout=5
    )
    assert by_id.status_code == 503
    assert soap.http.get(faults).json() == []


def test_scripted_faults_can_be_cleared_and_reject_bad_input(soap: Soap) -> None:
    faults = f"{soap.base_url}/_sandbox/faults"
    soap.http.post(faults, json={"key": "k@x.com", "count": 5, "code": "20023"})
    assert soap.sync_lead(record("k@x.com")).fault_code == 20023
    assert soap.http.delete(faults).json() == []
    assert soap.sync_lead(record("k@x.com")).status == "CREATED"
    assert (
        soap.http.post(faults, json={"key": "k", "count": 1, "code": "teapot"}).status_code == 400
    )
