"""Wire format: the seed's XML as written, any prefixes, unqualified children, the reply shape."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from lxml import etree

from worker.sandbox import DEFAULT_USER_ID

from .soapkit import MKTOWS, SOAP_ENV, Soap, auth_header, envelope, record, sync_lead_body

SEED = Path(__file__).resolve().parents[2] / ".." / "shared" / "seed" / "syncLead.md"
SEED_REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:ns1="http://www.marketo.com/mktows/">
  <SOAP-ENV:Header>
    <ns1:AuthenticationHeader>
      <mktowsUserId>bigcorp1_461839624B16E06BA2D663</mktowsUserId>
      <requestSignature>92f05a7be4838ae1c0e5aafe814891ee72968a08</requestSignature>
      <requestTimestamp>2013-07-31T12:38:47-07:00</requestTimestamp>
    </ns1:AuthenticationHeader>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <ns1:paramsSyncLead>
      <leadRecord>
        <Email>t@t.com</Email>
        <leadAttributeList>
          <attribute>
            <attrName>FirstName</attrName>
            <attrValue>George</attrValue>
          </attribute>
          <attribute>
            <attrName>LastName</attrName>
            <attrValue>of the Jungle</attrValue>
          </attribute>
        </leadAttributeList>
      </leadRecord>
      <returnLead>false</returnLead>
    </ns1:paramsSyncLead>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""
# The seed page's response XML (read from the page itself when ../shared is present).
SEED_RESPONSE = """<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="http://www.marketo.com/mktows/">
  <SOAP-ENV:Body>
    <ns1:successSyncLead>
      <result>
        <leadId>1089965</leadId>
        <syncStatus>
          <leadId>1089965</leadId>
          <status>UPDATED</status>
          <error xsi:nil="true" />
        </syncStatus>
        <leadRecord xsi:nil="true" />
      </result>
    </ns1:successSyncLead>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>"""
SEED_AUTH = re.compile(r"<ns1:AuthenticationHeader>.*</ns1:AuthenticationHeader>", re.S)


def _shape(element: etree._Element) -> list[object]:
    """Element names, namespaces and nil flags, without text: what 'the same shape' means."""
    nil = element.get("{http://www.w3.org/2001/XMLSchema-instance}nil")
    return [element.tag, nil, [_shape(child) for child in element]]


def test_the_seed_request_as_written_is_understood_and_refused_for_its_foreign_credentials(
    soap: Soap,
) -> None:
    reply = soap.post(SEED_REQUEST)
    assert reply.status_code == 500
    assert reply.fault_code == 20014
    assert soap.leads() == []


def test_the_seed_request_with_our_credentials_creates_the_lead_and_replies_in_the_seeds_shape(
    soap: Soap,
) -> None:
    reply = soap.post(SEED_AUTH.sub(auth_header(), SEED_REQUEST))
    assert reply.status_code == 200
    assert reply.http.headers["content-type"].startswith("text/xml")
    seed_reply = SEED.read_text().split("```xml")[2] if SEED.exists() else SEED_RESPONSE
    expected = etree.fromstring(seed_reply.split("```")[0].strip().encode())
    assert _shape(reply.root) == _shape(expected)
    assert reply.status == "CREATED"
    [lead] = soap.leads()
    assert lead["email"] == "t@t.com"
    assert lead["attributes"] == {"FirstName": "George", "LastName": "of the Jungle"}
    assert reply.lead_id == lead["id"] >= 1_000_001


def test_any_namespace_prefixes_and_a_default_namespace_are_accepted(soap: Soap) -> None:
    header = auth_header().replace("ns1:", "mkt:")
    xml = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns:mkt="{MKTOWS}"><soapenv:Header>'
        f"{header}</soapenv:Header><soapenv:Body>"
        f'<paramsSyncLead xmlns="{MKTOWS}"><leadRecord xmlns=""><Email>p@x.com</Email></leadRecord>'
        '<returnLead xmlns="">false</returnLead></paramsSyncLead></soapenv:Body></soapenv:Envelope>'
    )
    assert soap.post(xml).status == "CREATED"
    assert soap.post(xml.replace("soapenv", "S")).status == "UPDATED"


def test_children_qualified_by_a_client_are_read_by_their_local_names(soap: Soap) -> None:
    body = sync_lead_body("<ns1:leadRecord><ns1:Email>q@x.com</ns1:Email></ns1:leadRecord>")
    assert soap.post(envelope(body)).status == "CREATED"


def test_wrong_case_element_names_are_ignored_so_the_lead_is_duplicated_like_marketo(
    soap: Soap,
) -> None:
    first = soap.sync_lead(record("dup@x.com"))
    second = soap.sync_lead(
        f"<leadRecord><id>{first.lead_id}</id><Email>dup@x.com</Email>"
        "<leadAttributeList><attribute><attrName>FirstName</attrName><attrValue>A</attrValue>"
        "</attribute></leadAttributeList></leadRecord>"
    )
    assert second.status == "UPDATED"  # matched by Email: the lowercase `id` was ignored
    third = soap.sync_lead(f"<leadRecord><id>{first.lead_id}</id><email>x</email></leadRecord>")
    assert third.fault_code == 20101  # nothing it sent had a name Marketo knows


def test_values_with_xml_metacharacters_and_non_ascii_round_trip(soap: Soap) -> None:
    value = 'Ann & <Bob> "O\'Neil" — Zoë ✓'
    reply = soap.sync_lead(record("m@x.com", attrs={"LastName": value}), return_lead=True)
    assert reply.find("//leadRecord//attrValue") == value
    assert soap.leads()[0]["attributes"]["LastName"] == value


def test_faults_are_http_500_soap_faults_in_the_facts_shape(soap: Soap) -> None:
    reply = soap.post(envelope(sync_lead_body(record("f@x.com")), headers=""))
    assert reply.status_code == 500
    fault = reply.root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None
    assert [child.tag for child in fault] == ["faultcode", "faultstring", "detail"]
    assert fault.findtext("faultcode") == "SOAP-ENV:Client"
    assert fault.findtext("faultstring") == "20014 - Authentication failed"
    exception = fault.find(f"detail/{{{MKTOWS}}}serviceException")
    assert [child.tag for child in exception] == ["name", "message", "code"]
    assert exception.findtext("name") == "mktServiceException"
    assert exception.findtext("code") == "20014"


def test_malformed_xml_and_non_soap_documents_are_not_understood(soap: Soap) -> None:
    assert soap.post(b"<not-closed").fault_code == 20012
    assert soap.post(b"<Envelope/>").fault_code == 20012
    assert soap.post(envelope("")).fault_code == 20012


def test_other_marketo_operations_are_unsupported(soap: Soap) -> None:
    assert soap.post(envelope("<ns1:paramsGetLead><leadKey/></ns1:paramsGetLead>")).fault_code == (
        20019
    )


def test_entities_are_never_expanded(soap: Soap) -> None:
    xml = envelope(sync_lead_body(record("e@x.com", attrs={"FirstName": "&xxe;"})))
    doctype = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    xml = xml.replace("&amp;xxe;", "&xxe;").replace("<SOAP-ENV:Envelope", doctype + "<S", 1)
    reply = soap.post(xml.replace(doctype + "<S", doctype + "<SOAP-ENV:Envelope", 1))
    assert "root:" not in reply.http.text
    assert all("root:" not in str(lead) for lead in soap.leads())


def test_the_wsdl_is_served_at_query_wsdl_with_the_address_it_was_fetched_from(soap: Soap) -> None:
    for query in ("WSDL", "wsdl"):
        response = httpx.get(f"{soap.endpoint}?{query}")
        assert response.status_code == 200
        root = etree.fromstring(response.content)
        [address] = root.xpath("//*[local-name()='address']/@location")
        assert address == soap.endpoint
    port = soap.endpoint.split(":")[2].split("/")[0]
    other = httpx.get(f"{soap.endpoint}?WSDL", headers={"Host": f"sandbox.example:{port}"})
    assert f'location="http://sandbox.example:{port}/soap/mktows/2_3"' in other.text
    assert DEFAULT_USER_ID not in other.text
