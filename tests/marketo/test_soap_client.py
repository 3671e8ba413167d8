"""The SOAP client over real HTTP: what it sends, what it returns, how it fails."""

from __future__ import annotations

import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from fake_marketo import (
    KEY,
    REAL_WSDL,
    USER_ID,
    FakeMarketo,
    Reply,
    fault_reply,
    lead_record_xml,
    sync_lead_reply,
    sync_multiple_reply,
)
from lxml import etree

from worker.config import Secret, Settings
from worker.jobs import SyncLeadJob
from worker.marketo import (
    LimitError,
    PermanentError,
    ResignError,
    SoapClient,
    SyncResult,
    TransientError,
    sign,
)
from worker.marketo.http import MAX_IDLE_CONNECTIONS
from worker.marketo.soap import _parse_wsdl

NS = "http://www.marketo.com/mktows/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def sent(marketo: FakeMarketo, index: int = -1) -> etree._Element:
    return etree.fromstring(marketo.requests[index].body)


def body_of(envelope: etree._Element) -> etree._Element:
    (params,) = envelope.find(f"{{{SOAP_ENV}}}Body")
    return params


def header_of(envelope: etree._Element) -> list[etree._Element]:
    header = envelope.find(f"{{{SOAP_ENV}}}Header")
    return [] if header is None else list(header)


def tags(element: etree._Element) -> list[str]:
    return [child.tag for child in element]


def test_sync_lead_sends_the_seed_request_shape_and_returns_the_seed_result(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    job = SyncLeadJob(
        email="t@t.com", attributes={"FirstName": "George", "LastName": "of the Jungle"}
    )
    result = client.sync_lead(job)

    assert result == SyncResult(lead_id=1089965, status="UPDATED", error=None, lead_record=None)
    request = marketo.requests[0]
    assert request.path == "/soap/mktows/2_3"
    assert request.headers["SOAPAction"] == '"http://www.marketo.com/mktows/syncLead"'
    assert request.headers["Content-Type"].startswith("text/xml")
    params = body_of(sent(marketo))
    assert params.tag == f"{{{NS}}}paramsSyncLead"
    assert tags(params) == ["leadRecord", "returnLead"]  # unqualified children
    record = params.find("leadRecord")
    assert tags(record) == ["Email", "leadAttributeList"]
    assert record.findtext("Email") == "t@t.com"
    attributes = record.find("leadAttributeList")
    assert tags(attributes) == ["attribute", "attribute"]
    assert [tags(a) for a in attributes] == [["attrName", "attrValue"]] * 2
    assert [(a.findtext("attrName"), a.findtext("attrValue")) for a in attributes] == [
        ("FirstName", "George"),
        ("LastName", "of the Jungle"),
    ]
    assert params.findtext("returnLead") == "false"


def test_every_lead_key_is_sent_in_schema_order_with_exact_case(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    job = SyncLeadJob(
        lead_id=42,
        email="ann@example.com",
        foreign_sys_person_id="crm-7",
        foreign_sys_type="SFDC",
        marketo_cookie="id:123-ABC-456&token:_mch-example.com-1",
        attributes={"FirstName": "Ann"},
        return_lead=False,
    )
    client.sync_lead(job)

    params = body_of(sent(marketo))
    assert tags(params) == ["leadRecord", "returnLead", "marketoCookie"]
    record = params.find("leadRecord")
    assert tags(record) == [
        "Id",
        "Email",
        "ForeignSysPersonId",
        "ForeignSysType",
        "leadAttributeList",
    ]
    assert record.findtext("Id") == "42"
    assert record.findtext("ForeignSysPersonId") == "crm-7"
    assert record.findtext("ForeignSysType") == "SFDC"
    assert params.findtext("marketoCookie") == "id:123-ABC-456&token:_mch-example.com-1"


def test_authentication_header_is_signed_and_fresh_for_every_call(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    before = datetime.now().astimezone()
    client.sync_lead(SyncLeadJob(email="a@example.com"))
    client.sync_lead(SyncLeadJob(email="a@example.com"))

    for index in (0, 1):
        (auth,) = header_of(sent(marketo, index))
        assert auth.tag == f"{{{NS}}}AuthenticationHeader"
        assert tags(auth) == ["mktowsUserId", "requestSignature", "requestTimestamp"]
        timestamp = auth.findtext("requestTimestamp")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", timestamp)
        assert abs((datetime.fromisoformat(timestamp) - before).total_seconds()) < 5
        assert auth.findtext("mktowsUserId") == USER_ID
        assert auth.findtext("requestSignature") == sign(timestamp, USER_ID, KEY)
    assert KEY.encode() not in marketo.requests[0].body


def test_each_call_is_signed_again_not_replayed(
    client: SoapClient, marketo: FakeMarketo, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = iter(["2013-08-01T18:22:30-07:00", "2013-08-05T16:34:19-07:00"])
    monkeypatch.setattr("worker.marketo.signing.request_timestamp", lambda now=None: next(stamps))
    client.sync_lead(SyncLeadJob(email="a@example.com"))
    client.sync_lead(SyncLeadJob(email="a@example.com"))

    signatures = [
        sent(marketo, i).findtext(f".//{{{NS}}}AuthenticationHeader/requestSignature")
        for i in (0, 1)
    ]
    assert signatures == [
        "b5e21953ae9f1b263e644da5eccce9ff33802513",
        "9890d974aa58ccb96d7a0a3166573f6436c883dd",
    ]


def test_a_prepared_call_is_signed_when_prepared_and_sent_when_called(
    client: SoapClient, marketo: FakeMarketo, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamps = iter(["2013-08-01T18:22:30-07:00", "2013-08-05T16:34:19-07:00"])
    monkeypatch.setattr("worker.marketo.signing.request_timestamp", lambda now=None: next(stamps))
    first = client.prepare_sync_lead(SyncLeadJob(email="first@example.com"))
    second = client.prepare_sync_lead(SyncLeadJob(email="second@example.com"))
    assert marketo.requests == []  # nothing is sent until a prepared call is made
    assert second().status == "UPDATED" and first().status == "UPDATED"
    emails = [sent(marketo, i).findtext(".//Email") for i in (0, 1)]
    stamps_sent = [sent(marketo, i).findtext(".//requestTimestamp") for i in (0, 1)]
    assert emails == ["second@example.com", "first@example.com"]
    assert stamps_sent == ["2013-08-05T16:34:19-07:00", "2013-08-01T18:22:30-07:00"]


def test_a_call_that_cannot_be_built_fails_when_prepared(client: SoapClient) -> None:
    job = SyncLeadJob(email="a@example.com").model_copy(update={"return_lead": None})
    with pytest.raises(PermanentError, match="invalid request"):
        client.prepare_sync_lead(job)


def test_workspace_header_comes_from_the_job_else_the_default(
    make_client: object, marketo: FakeMarketo
) -> None:
    plain = make_client()  # type: ignore[operator]
    with_default = make_client(workspace="Default")  # type: ignore[operator]

    plain.sync_lead(SyncLeadJob(email="a@example.com"))
    plain.sync_lead(SyncLeadJob(email="a@example.com", workspace="EMEA"))
    with_default.sync_lead(SyncLeadJob(email="a@example.com"))
    with_default.sync_lead(SyncLeadJob(email="a@example.com", workspace="APAC"))

    workspaces = []
    for index in range(4):
        headers = header_of(sent(marketo, index))
        assert headers[0].tag == f"{{{NS}}}AuthenticationHeader"
        context = [h for h in headers if h.tag == f"{{{NS}}}MktowsContextHeader"]
        assert all(tags(h) == ["targetWorkspace"] for h in context)
        workspaces.append(context[0].findtext("targetWorkspace") if context else None)
    assert workspaces == [None, "EMEA", "Default", "APAC"]


def test_xml_metacharacters_and_non_ascii_arrive_intact(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    tricky = {"Company": "Smith & Sons <\"Ltd\"> 'quoted'", "City": "Zürich 東京 🚀", "Note": "]]>"}
    client.sync_lead(SyncLeadJob(email="josé@exämple.com", attributes=tricky))

    raw = marketo.requests[0].body
    assert raw.startswith(b"<?xml") and b"utf-8" in raw.split(b"?>")[0].lower()
    record = body_of(sent(marketo)).find("leadRecord")
    assert record.findtext("Email") == "josé@exämple.com"
    received = {
        a.findtext("attrName"): a.findtext("attrValue") for a in record.find("leadAttributeList")
    }
    assert received == tricky


def test_return_lead_gives_the_record_as_plain_data(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    record = lead_record_xml(7, "ann@example.com", {"FirstName": "Ann & Co", "City": "Zürich"})
    marketo.queue(sync_lead_reply(7, "CREATED", record))

    result = client.sync_lead(SyncLeadJob(email="ann@example.com", return_lead=True))

    assert body_of(sent(marketo)).findtext("returnLead") == "true"
    assert result.lead_id == 7 and result.status == "CREATED"
    assert result.lead_record == {
        "Id": 7,
        "Email": "ann@example.com",
        "ForeignSysPersonId": None,
        "ForeignSysType": None,
        "attributes": {"FirstName": "Ann & Co", "City": "Zürich"},
    }
    assert type(result.lead_record) is dict


def test_the_endpoint_wins_over_the_address_inside_the_wsdl(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    client.sync_lead(SyncLeadJob(email="a@example.com"))
    assert len(marketo.requests) == 1  # the packaged WSDL names mktoapi.com, never called


def test_connections_are_kept_alive_between_calls(client: SoapClient, marketo: FakeMarketo) -> None:
    for _ in range(3):
        client.sync_lead(SyncLeadJob(email="a@example.com"))
    assert len({r.client_port for r in marketo.requests}) == 1


def test_threads_sharing_a_client_each_get_a_connection(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    # A `--pool threads` worker shares one client between its threads.
    def calls(thread: int) -> list[str]:
        return [
            client.sync_lead(SyncLeadJob(email=f"t{thread}-{i}@example.com")).status
            for i in range(10)
        ]

    with ThreadPoolExecutor(max_workers=8) as threads:
        statuses = [status for batch in threads.map(calls, range(8)) for status in batch]
    assert len(statuses) == 80
    assert len(marketo.requests) == 80
    assert len(client._pool._idle) <= MAX_IDLE_CONNECTIONS


def test_a_connection_the_server_closed_while_idle_is_replaced(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    marketo.queue(Reply(body=sync_lead_reply().body, then_close=True))
    client.sync_lead(SyncLeadJob(email="a@example.com"))
    time.sleep(0.2)  # the server's close reaches the idle connection
    client.sync_lead(SyncLeadJob(email="a@example.com"))  # no error: a fresh connection
    assert len({r.client_port for r in marketo.requests}) == 2


def test_a_proxy_from_the_environment_carries_the_calls(
    make_client: object, marketo: FakeMarketo, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("no_proxy", "NO_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # The fake server plays the proxy: it sees what a proxy would, and answers.
    monkeypatch.setenv("http_proxy", f"http://ann:s%40fe@127.0.0.1:{marketo.port}")
    client = make_client(endpoint="http://marketo.invalid/soap/mktows/2_3")  # type: ignore[operator]
    assert client.sync_lead(SyncLeadJob(email="a@example.com")).lead_id is not None
    [request] = marketo.requests
    assert request.path == "http://marketo.invalid/soap/mktows/2_3"
    assert request.headers["Proxy-Authorization"] == "Basic " + "YW5uOnNAZmU="  # ann:s@fe


def test_a_proxy_reached_over_https_is_refused_with_a_clear_error(
    make_client: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("no_proxy", "NO_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "https://proxy.example:3128")
    with pytest.raises(ValueError, match="proxy must be an http:// URL"):
        make_client(endpoint="https://marketo.example/soap/mktows/2_3")  # type: ignore[operator]


def test_the_wsdl_is_parsed_once_per_process(make_client: object) -> None:
    first = make_client()  # type: ignore[operator]
    misses = _parse_wsdl.cache_info().misses
    second = make_client()  # type: ignore[operator]
    assert _parse_wsdl.cache_info().misses == misses
    assert first._zeep.wsdl is second._zeep.wsdl


def test_sync_multiple_leads_sends_a_batch_and_pairs_statuses(
    client: SoapClient, marketo: FakeMarketo
) -> None:
    marketo.queue(sync_multiple_reply([(1, "CREATED", None), (0, "FAILED", "Unknown lead field")]))
    jobs = [
        SyncLeadJob(email="a@example.com", attributes={"FirstName": "A"}),
        SyncLeadJob(lead_id=9, attributes={"Bogus": "x"}),
    ]
    results = client.sync_multiple_leads(jobs, dedup_enabled=False)

    assert results == [
        SyncResult(1, "CREATED"),
        SyncResult(None, "FAILED", error="Unknown lead field"),
    ]
    request = marketo.requests[0]
    assert request.headers["SOAPAction"] == '"http://www.marketo.com/mktows/syncMultipleLeads"'
    envelope = sent(marketo)
    assert [h.tag for h in header_of(envelope)] == [f"{{{NS}}}AuthenticationHeader"]
    params = body_of(envelope)
    assert params.tag == f"{{{NS}}}paramsSyncMultipleLeads"
    assert tags(params) == ["leadRecordList", "dedupEnabled"]
    assert params.findtext("dedupEnabled") == "false"
    records = params.find("leadRecordList")
    assert tags(records) == ["leadRecord", "leadRecord"]
    assert tags(records[0]) == ["Email", "leadAttributeList"]
    assert tags(records[1]) == ["Id", "leadAttributeList"]


def test_sync_multiple_leads_refuses_what_the_operation_cannot_carry(client: SoapClient) -> None:
    assert client.sync_multiple_leads([]) == []
    with pytest.raises(ValueError, match="300"):
        client.sync_multiple_leads([SyncLeadJob(email="a@example.com")] * 301)
    with pytest.raises(ValueError, match="workspace"):
        client.sync_multiple_leads([SyncLeadJob(email="a@example.com", workspace="EMEA")])


@pytest.mark.parametrize(
    ("reply", "error_type", "code"),
    [
        (fault_reply(20014, "Authentication failed"), PermanentError, 20014),
        (fault_reply(20016, "Request expired", prefix="mkt"), ResignError, 20016),
        (fault_reply(20023, "Rate limit exceeded", detail=False), LimitError, 20023),
        (fault_reply(10001, "Internal error"), TransientError, 10001),
        (
            Reply(503, b"<html><body>Service Unavailable</body></html>", "text/html"),
            TransientError,
            None,
        ),
        (Reply(502, b""), TransientError, None),
        (Reply(500, b"<oops/>"), TransientError, None),
        (Reply(200, b"not xml at all"), TransientError, None),
        (Reply(reset=True), TransientError, None),
    ],
    ids=[
        "auth",
        "stale",
        "rate-no-detail",
        "internal",
        "503-html",
        "502-empty",
        "500-xml",
        "200-junk",
        "reset",
    ],
)
def test_failures_become_marketo_errors_with_their_code(
    client: SoapClient, marketo: FakeMarketo, reply: Reply, error_type: type, code: int | None
) -> None:
    marketo.queue(reply)
    with pytest.raises(error_type) as caught:
        client.sync_lead(SyncLeadJob(email="a@example.com"))
    assert type(caught.value) is error_type
    assert caught.value.code == code
    assert caught.value.__cause__ is not None
    assert KEY not in str(caught.value) and KEY not in repr(caught.value)


def test_a_slow_answer_hits_the_read_timeout(make_client: object, marketo: FakeMarketo) -> None:
    client = make_client(read_timeout_s=0.2)  # type: ignore[operator]
    marketo.queue(Reply(delay_s=1.0, body=sync_lead_reply().body))
    with pytest.raises(TransientError, match="read timeout"):
        client.sync_lead(SyncLeadJob(email="a@example.com"))


def test_a_refused_connection_is_transient(make_client: object) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = make_client(endpoint=f"http://127.0.0.1:{closed_port}/soap/mktows/2_3")  # type: ignore[operator]
    with pytest.raises(TransientError, match="connection"):
        client.sync_lead(SyncLeadJob(email="a@example.com"))


def test_an_endpoint_that_never_accepts_hits_the_connect_timeout(make_client: object) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # Once its accept queue is full, Linux drops further SYNs: a connect() then just waits.
        fillers = [socket.socket() for _ in range(4)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            client = make_client(  # type: ignore[operator]
                endpoint=f"http://127.0.0.1:{port}/soap/mktows/2_3",
                connect_timeout_s=0.3,
                read_timeout_s=30.0,
            )
            started = time.monotonic()
            with pytest.raises(TransientError) as caught:
                client.sync_lead(SyncLeadJob(email="a@example.com"))
            if "refused" in str(caught.value):
                pytest.skip("this kernel refuses connections to a full accept queue")
            assert "connect timeout" in str(caught.value)
            assert time.monotonic() - started < 10  # the connect timeout, not the read one
        finally:
            for filler in fillers:
                filler.close()


@pytest.mark.skipif(not REAL_WSDL.is_file(), reason="../shared/marketo is not present")
def test_the_real_marketo_wsdl_works_unchanged(make_client: object, marketo: FakeMarketo) -> None:
    ours = make_client()  # type: ignore[operator]
    real = make_client(wsdl=str(REAL_WSDL))  # type: ignore[operator]
    job = SyncLeadJob(
        lead_id=5,
        email="a@example.com",
        attributes={"FirstName": "Ann"},
        workspace="EMEA",
        marketo_cookie="c",
    )
    assert ours.sync_lead(job) == real.sync_lead(job)
    marketo.queue(sync_multiple_reply([(3, "UPDATED", None)]))
    assert real.sync_multiple_leads([SyncLeadJob(email="b@example.com")]) == [
        SyncResult(3, "UPDATED")
    ]

    def canonical(index: int) -> bytes:
        envelope = sent(marketo, index)
        for element in envelope.iter(f"{{{NS}}}AuthenticationHeader"):
            element.getparent().remove(element)  # timestamps differ by design
        return etree.tostring(envelope, method="c14n")

    assert canonical(0) == canonical(1)


def test_a_client_built_from_settings_uses_them_and_never_shows_the_key(
    marketo: FakeMarketo,
) -> None:
    settings = Settings(
        soap_endpoint=marketo.endpoint,
        user_id=USER_ID,
        encryption_key=Secret(KEY),
        workspace="EMEA",
        read_timeout_s=3.0,
        connect_timeout_s=1.0,
    )
    with SoapClient.from_settings(settings) as client:
        assert KEY not in repr(client) and KEY not in str(vars(client))
        client.sync_lead(SyncLeadJob(email="a@example.com"))
    assert sent(marketo).findtext(f".//{{{NS}}}MktowsContextHeader/targetWorkspace") == "EMEA"
    with pytest.raises(ValueError, match="MARKETO_SOAP_ENDPOINT"):
        SoapClient.from_settings(Settings())
