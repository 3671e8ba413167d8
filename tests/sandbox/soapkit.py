"""Raw-XML SOAP requests to the sandbox and readers of its replies, for this folder's tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
from lxml import etree

from worker.sandbox import (
    DEFAULT_ENCRYPTION_KEY,
    DEFAULT_USER_ID,
    RunningSandbox,
)
from worker.sandbox.auth import signature

SHARED_MARKETO = Path(__file__).resolve().parents[2] / ".." / "shared" / "marketo"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MKTOWS = "http://www.marketo.com/mktows/"


def now_timestamp(offset: timedelta = timedelta(0), zone_hours: float = 0) -> str:
    """A W3C timestamp with seconds and a ±HH:MM offset, shifted by `offset` from now."""
    zone = timezone(timedelta(hours=zone_hours))
    return (datetime.now(zone) + offset).isoformat(timespec="seconds")


def auth_header(
    *, user: str = DEFAULT_USER_ID, key: str = DEFAULT_ENCRYPTION_KEY, timestamp: str | None = None
) -> str:
    """An AuthenticationHeader (prefix ns1) signed now unless told otherwise."""
    timestamp = timestamp or now_timestamp()
    return (
        f"<ns1:AuthenticationHeader><mktowsUserId>{user}</mktowsUserId>"
        f"<requestSignature>{signature(key, timestamp, user)}</requestSignature>"
        f"<requestTimestamp>{timestamp}</requestTimestamp></ns1:AuthenticationHeader>"
    )


def envelope(body: str, headers: str | None = None, *, workspace: str | None = None) -> str:
    """A SOAP envelope like the seed's (prefixes SOAP-ENV and ns1), signed by default."""
    headers = auth_header() if headers is None else headers
    if workspace is not None:
        headers += (
            "<ns1:MktowsContextHeader><targetWorkspace>"
            f"{escape(workspace)}</targetWorkspace></ns1:MktowsContextHeader>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{MKTOWS}">'
        f"<SOAP-ENV:Header>{headers}</SOAP-ENV:Header>"
        f"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )


def record(
    email: str | None = None,
    *,
    id: int | None = None,
    fsp: str | None = None,
    fsp_type: str | None = None,
    attrs: dict[str, str] | None = None,
) -> str:
    """A leadRecord with its children in schema order."""
    parts = []
    if id is not None:
        parts.append(f"<Id>{id}</Id>")
    if email is not None:
        parts.append(f"<Email>{escape(email)}</Email>")
    if fsp is not None:
        parts.append(f"<ForeignSysPersonId>{escape(fsp)}</ForeignSysPersonId>")
    if fsp_type is not None:
        parts.append(f"<ForeignSysType>{fsp_type}</ForeignSysType>")
    if attrs:
        parts.append("<leadAttributeList>")
        for name, value in attrs.items():
            parts.append(
                f"<attribute><attrName>{escape(name)}</attrName>"
                f"<attrValue>{escape(value)}</attrValue></attribute>"
            )
        parts.append("</leadAttributeList>")
    return "<leadRecord>" + "".join(parts) + "</leadRecord>"


def sync_lead_body(
    lead_record: str, *, return_lead: bool = False, cookie: str | None = None
) -> str:
    """A paramsSyncLead body element."""
    cookie_xml = "" if cookie is None else f"<marketoCookie>{escape(cookie)}</marketoCookie>"
    flag = "true" if return_lead else "false"
    return (
        f"<ns1:paramsSyncLead>{lead_record}<returnLead>{flag}</returnLead>{cookie_xml}"
        "</ns1:paramsSyncLead>"
    )


class Reply:
    """A SOAP response read back with lxml."""

    def __init__(self, response: httpx.Response) -> None:
        self.http = response
        self.status_code = response.status_code
        self.root = etree.fromstring(response.content)

    def find(self, path: str) -> str | None:
        """Text of the first element an XPath matches, e.g. `//syncStatus/status`."""
        found = self.root.xpath(path)
        return found[0].text if found else None

    @property
    def fault_code(self) -> int | None:
        """detail/serviceException/code of a fault."""
        code = self.find("//*[local-name()='serviceException']/code")
        return None if code is None else int(code)

    @property
    def status(self) -> str | None:
        """syncLead's syncStatus/status."""
        return self.find("//result/syncStatus/status")

    @property
    def lead_id(self) -> int:
        """syncLead's result/leadId."""
        return int(self.find("//result/leadId") or 0)


class Soap:
    """Raw-XML calls to the sandbox plus its inspection API."""

    def __init__(self, running: RunningSandbox, http: httpx.Client) -> None:
        self.running = running
        self.base_url = running.base_url
        self.endpoint = running.soap_endpoint
        self.http = http

    def post(self, xml: str | bytes) -> Reply:
        """POST an envelope as written."""
        content = xml.encode() if isinstance(xml, str) else xml
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        return Reply(self.http.post(self.endpoint, content=content, headers=headers))

    def sync_lead(self, lead_record: str, *, workspace: str | None = None, **kw: Any) -> Reply:
        """A signed syncLead of one record."""
        return self.post(envelope(sync_lead_body(lead_record, **kw), workspace=workspace))

    def sync_multiple(self, records: list[str], dedup: bool | None = None) -> Reply:
        """A signed syncMultipleLeads."""
        dedup_xml = "" if dedup is None else f"<dedupEnabled>{str(dedup).lower()}</dedupEnabled>"
        body = (
            f"<ns1:paramsSyncMultipleLeads><leadRecordList>{''.join(records)}</leadRecordList>"
            f"{dedup_xml}</ns1:paramsSyncMultipleLeads>"
        )
        return self.post(envelope(body))

    def leads(self) -> list[dict[str, Any]]:
        """GET /_sandbox/leads."""
        return self.http.get(f"{self.base_url}/_sandbox/leads").json()

    def calls(self) -> list[dict[str, Any]]:
        """GET /_sandbox/calls."""
        return self.http.get(f"{self.base_url}/_sandbox/calls").json()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """POST /_sandbox/config, failing the test on a 4xx."""
        response = self.http.post(f"{self.base_url}/_sandbox/config", json=changes)
        response.raise_for_status()
        return response.json()

    def seed(self, **lead: Any) -> dict[str, Any]:
        """POST /_sandbox/leads: a lead stored directly."""
        response = self.http.post(f"{self.base_url}/_sandbox/leads", json=lead)
        response.raise_for_status()
        return response.json()
