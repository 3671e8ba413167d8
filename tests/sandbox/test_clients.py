"""Interoperability: independent SOAP clients built from the sandbox's WSDL can call it."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from suds import WebFault
from suds.client import Client

from worker.sandbox import DEFAULT_ENCRYPTION_KEY, DEFAULT_USER_ID
from worker.sandbox.auth import signature

from .soapkit import Soap

PHP_SCRIPT = Path(__file__).with_name("sync_lead.php")


def _suds(soap: Soap, key: str = DEFAULT_ENCRYPTION_KEY) -> Client:
    client = Client(f"{soap.endpoint}?WSDL", cache=None, timeout=10)
    header = client.factory.create("AuthenticationHeader")
    header.mktowsUserId = DEFAULT_USER_ID
    header.requestTimestamp = datetime.now(UTC).isoformat(timespec="seconds")
    header.requestSignature = signature(key, header.requestTimestamp, DEFAULT_USER_ID)
    client.set_options(soapheaders=header)
    return client


def _lead_record(client: Client, email: str) -> object:
    lead = client.factory.create("LeadRecord")
    lead.Email = email
    attribute = client.factory.create("Attribute")
    attribute.attrName, attribute.attrValue = "FirstName", "Sue"
    attributes = client.factory.create("ArrayOfAttribute")
    attributes.attribute = [attribute]
    lead.leadAttributeList = attributes
    return lead


def test_suds_calls_sync_lead_and_reads_the_full_record(soap: Soap) -> None:
    client = _suds(soap)
    result = client.service.syncLead(leadRecord=_lead_record(client, "suds@x.com"), returnLead=True)
    assert result.syncStatus.status == "CREATED"
    assert result.leadRecord.Email == "suds@x.com"
    assert result.leadRecord.leadAttributeList.attribute[0].attrValue == "Sue"
    again = client.service.syncLead(leadRecord=_lead_record(client, "suds@x.com"), returnLead=False)
    assert (again.leadId, again.syncStatus.status) == (result.leadId, "UPDATED")


def test_suds_calls_sync_multiple_leads(soap: Soap) -> None:
    client = _suds(soap)
    records = client.factory.create("ArrayOfLeadRecord")
    records.leadRecord = [_lead_record(client, f"m{i}@x.com") for i in range(3)]
    result = client.service.syncMultipleLeads(leadRecordList=records, dedupEnabled=True)
    assert [s.status for s in result.syncStatusList.syncStatus] == ["CREATED"] * 3


def test_suds_sees_marketo_faults_with_their_code(soap: Soap) -> None:
    client = _suds(soap, key="wrong")
    with pytest.raises(WebFault) as caught:
        client.service.syncLead(leadRecord=_lead_record(client, "f@x.com"), returnLead=False)
    assert caught.value.fault.detail.serviceException.code == "20014"


def _php_has_soap() -> bool:
    if shutil.which("php") is None:
        return False
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, timeout=20).stdout
    return "soap" in modules.split()


@pytest.mark.skipif(not _php_has_soap(), reason="needs php-cli with the soap extension")
def test_php_soapclient_driven_like_the_seeds_sample_syncs_a_lead(soap: Soap) -> None:
    def run(key: str) -> dict[str, object]:
        command = ["php", str(PHP_SCRIPT), soap.endpoint, DEFAULT_USER_ID, key, "php@x.com"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
        return json.loads(done.stdout)

    first = run(DEFAULT_ENCRYPTION_KEY)
    assert first["result"]["result"]["syncStatus"]["status"] == "CREATED"
    assert run(DEFAULT_ENCRYPTION_KEY)["result"]["result"]["syncStatus"]["status"] == "UPDATED"
    [lead] = soap.leads()
    assert lead["attributes"] == {"FirstName": "George", "LastName": "of the Jungle"}
    assert run("wrong")["fault"] == "20014 - Authentication failed"
