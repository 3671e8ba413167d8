"""The legacy syncLead wire format: read a caller's envelope, write Marketo's answers.

Element names are matched by local name and case-insensitively, whatever namespace prefix a client
puts on them: an old client that sends `email` for `Email` (Savon's key conversion does) is
understood instead of silently creating a duplicate, as Marketo would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

NS = "http://www.marketo.com/mktows/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI}}}nil"
CONTENT_TYPE = "text/xml; charset=utf-8"
SERVER_CODES = frozenset({10001, 20011})


class LegacyFault(Exception):
    """A Marketo SOAP fault the bridge answers with (HTTP 500)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code} - {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class LegacyCall:
    """A syncLead request: its AuthenticationHeader and the job fields it asks for."""

    auth: dict[str, str]
    job: dict[str, Any] = field(default_factory=dict)


def _local(element: Any) -> str:
    return etree.QName(element).localname.lower() if isinstance(element.tag, str) else ""


def _child(parent: Any, name: str) -> Any:
    for element in parent:
        if _local(element) == name.lower():
            return element
    return None


def _text(parent: Any, name: str) -> str | None:
    element = _child(parent, name)
    if element is None or element.get(_NIL) in ("true", "1"):
        return None
    text = (element.text or "").strip()
    return text or None


def parse_sync_lead(body: bytes) -> LegacyCall:
    """The call in a syncLead envelope; `LegacyFault` for anything else or malformed XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as error:
        raise LegacyFault(20012, f"Request not understood: {error.msg}") from None
    if root.getroottree().docinfo.doctype or _local(root) != "envelope":
        raise LegacyFault(20012, "Request not understood: expected a SOAP 1.1 Envelope")
    header, soap_body = _child(root, "Header"), _child(root, "Body")
    params = None if soap_body is None else next(iter(soap_body), None)
    if params is None or _local(params) != "paramssynclead":
        name = "nothing" if params is None else etree.QName(params).localname
        raise LegacyFault(20019, f"Unsupported operation: the bridge takes syncLead, got {name}")
    auth_element = None if header is None else _child(header, "AuthenticationHeader")
    auth = {}
    if auth_element is not None:
        for name in ("mktowsUserId", "requestSignature", "requestTimestamp"):
            auth[name] = _text(auth_element, name) or ""
    context = None if header is None else _child(header, "MktowsContextHeader")
    return LegacyCall(auth=auth, job=_job(params, context))


def _job(params: Any, context: Any) -> dict[str, Any]:
    record = _child(params, "leadRecord")
    if record is None:
        raise LegacyFault(20017, "Invalid request: leadRecord is required")
    job: dict[str, Any] = {
        "lead_id": _lead_id(_text(record, "Id")),
        "email": _text(record, "Email"),
        "foreign_sys_person_id": _text(record, "ForeignSysPersonId"),
        "foreign_sys_type": _text(record, "ForeignSysType"),
        "marketo_cookie": _text(params, "marketoCookie"),
        "workspace": None if context is None else _text(context, "targetWorkspace"),
        "return_lead": (_text(params, "returnLead") or "false").lower() in ("true", "1"),
    }
    attributes = []
    attribute_list = _child(record, "leadAttributeList")
    for item in [] if attribute_list is None else attribute_list:
        if _local(item) == "attribute":
            value = _child(item, "attrValue")
            text = "" if value is None or value.get(_NIL) in ("true", "1") else value.text or ""
            attributes.append((_text(item, "attrName") or "", text))
    job["attributes"] = attributes
    return {name: value for name, value in job.items() if value is not None}


def _lead_id(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise LegacyFault(20102, f"Lead key bad: Id {text!r} is not a number")
    return int(text)


def success_sync_lead(lead_id: int, status: str, record: dict[str, Any] | None) -> bytes:
    """A successSyncLead envelope, as in the seed page's response XML."""
    envelope, body = _envelope()
    success = etree.SubElement(body, f"{{{NS}}}successSyncLead")
    result = etree.SubElement(success, "result")
    etree.SubElement(result, "leadId").text = str(lead_id)
    sync_status = etree.SubElement(result, "syncStatus")
    etree.SubElement(sync_status, "leadId").text = str(lead_id)
    etree.SubElement(sync_status, "status").text = status
    etree.SubElement(sync_status, "error", {_NIL: "true"})
    lead_record = etree.SubElement(result, "leadRecord")
    if record is None:
        lead_record.set(_NIL, "true")
    else:
        for name in ("Id", "Email", "ForeignSysPersonId", "ForeignSysType"):
            if record.get(name) is not None:
                etree.SubElement(lead_record, name).text = str(record[name])
        attribute_list = etree.SubElement(lead_record, "leadAttributeList")
        for name, value in record.get("attributes", []):
            attribute = etree.SubElement(attribute_list, "attribute")
            etree.SubElement(attribute, "attrName").text = name
            etree.SubElement(attribute, "attrValue").text = value
    return _serialize(envelope)


def fault(code: int, message: str) -> bytes:
    """A SOAP 1.1 Fault carrying Marketo's code in detail/serviceException (FACTS §5)."""
    envelope, body = _envelope()
    fault_element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    side = "Server" if code in SERVER_CODES else "Client"
    etree.SubElement(fault_element, "faultcode").text = f"SOAP-ENV:{side}"
    etree.SubElement(fault_element, "faultstring").text = f"{code} - {message}"
    detail = etree.SubElement(fault_element, "detail")
    exception = etree.SubElement(detail, f"{{{NS}}}serviceException")
    etree.SubElement(exception, "name").text = "mktServiceException"
    etree.SubElement(exception, "message").text = f"{message} ({code})"
    etree.SubElement(exception, "code").text = str(code)
    return _serialize(envelope)


def _envelope() -> tuple[Any, Any]:
    nsmap = {"SOAP-ENV": SOAP_ENV, "xsi": XSI, "ns1": NS}
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    return envelope, etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")


def _serialize(envelope: Any) -> bytes:
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))
