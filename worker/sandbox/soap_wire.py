"""SOAP 1.1 wire format: read requests as Marketo does (any prefixes), write the seed's shapes."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from .config import MAX_BATCH_RECORDS
from .errors import SERVER_CODES, ApiError
from .store import Lead
from .upsert import LeadInput

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MKTOWS = "http://www.marketo.com/mktows/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI}}}nil"
_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
OPERATIONS = {"paramsSyncLead": "syncLead", "paramsSyncMultipleLeads": "syncMultipleLeads"}
CONTENT_TYPE = "text/xml; charset=utf-8"

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:xsi="{XSI}" xmlns:ns1="{MKTOWS}">'
    "<SOAP-ENV:Body>"
)
_TAIL = "</SOAP-ENV:Body></SOAP-ENV:Envelope>"


@dataclass(slots=True)
class Envelope:
    """A request's headers and body element, before the body is read for its operation."""

    operation: str
    body: etree._Element
    auth: dict[str, str] | None
    workspace: str | None


def make_parser() -> etree.XMLParser:
    """A parser that never resolves entities or touches the network (one per event loop)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: etree._Element) -> dict[str, etree._Element]:
    """Child elements by exact local name, first occurrence winning; namespaces are not checked."""
    found: dict[str, etree._Element] = {}
    for child in element:
        if isinstance(child.tag, str):
            found.setdefault(_local(child.tag), child)
    return found


def _text(element: etree._Element | None) -> str | None:
    """An element's text; None when absent, nil or empty."""
    if element is None or element.get(_NIL) in ("true", "1"):
        return None
    return element.text or None


def _header_fields(element: etree._Element | None) -> dict[str, str] | None:
    if element is None:
        return None
    return {name: child.text or "" for name, child in _children(element).items()}


def parse_envelope(body: bytes, parser: etree.XMLParser) -> Envelope:
    """Split a request into headers and operation; 20012 when it is not a SOAP 1.1 envelope."""
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise ApiError(20012, f"Malformed XML: {exc}") from None
    if root.tag != _ENVELOPE:
        raise ApiError(20012, "Expected a SOAP 1.1 Envelope")
    parts = _children(root)
    soap_body = parts.get("Body")
    elements = () if soap_body is None else (c for c in soap_body if isinstance(c.tag, str))
    payload = next(iter(elements), None)
    if payload is None:
        raise ApiError(20012, "The SOAP Body is empty")
    name = _local(payload.tag)
    headers = _children(parts["Header"]) if "Header" in parts else {}
    context = _header_fields(headers.get("MktowsContextHeader"))
    return Envelope(
        operation=OPERATIONS.get(name, name),
        body=payload,
        auth=_header_fields(headers.get("AuthenticationHeader")),
        workspace=(context or {}).get("targetWorkspace") or None,
    )


def _boolean(element: etree._Element | None, name: str, default: bool | None) -> bool:
    text = _text(element)
    if text is None:
        if default is None:
            raise ApiError(20109, f"{name} is required")
        return default
    value = text.strip().lower()
    if value not in ("true", "1", "false", "0"):
        raise ApiError(20110, f"{name} must be a boolean, got {text!r}")
    return value in ("true", "1")


def read_lead_record(element: etree._Element, cookie: str | None = None) -> LeadInput:
    """A LeadRecord; element names are case-sensitive, so `id` or `email` are silently ignored."""
    fields = _children(element)
    id_text = _text(fields.get("Id"))
    try:
        lead_id = None if id_text is None else int(id_text)
    except ValueError:
        raise ApiError(20102, f"Id must be an integer, got {id_text!r}") from None
    attributes: dict[str, str] = {}
    attribute_list = fields.get("leadAttributeList")
    for attribute in () if attribute_list is None else attribute_list:
        if not isinstance(attribute.tag, str) or _local(attribute.tag) != "attribute":
            continue
        parts = _children(attribute)
        name = _text(parts.get("attrName"))
        if name is None:
            raise ApiError(20109, "attribute/attrName is required")
        attributes[name] = _text(parts.get("attrValue")) or ""
    return LeadInput(
        id=lead_id,
        email=_text(fields.get("Email")),
        foreign_sys_person_id=_text(fields.get("ForeignSysPersonId")),
        foreign_sys_type=_text(fields.get("ForeignSysType")),
        attributes=tuple(attributes.items()),
        cookie=cookie,
    )


def read_sync_lead(payload: etree._Element) -> tuple[LeadInput, bool]:
    """paramsSyncLead: the record (with marketoCookie) and returnLead."""
    params = _children(payload)
    record = params.get("leadRecord")
    if record is None:
        raise ApiError(20017, "leadRecord is required")
    return_lead = _boolean(params.get("returnLead"), "returnLead", None)
    return read_lead_record(record, _text(params.get("marketoCookie"))), return_lead


def read_sync_multiple(payload: etree._Element) -> tuple[list[LeadInput | ApiError], bool]:
    """paramsSyncMultipleLeads: each record (or its own error) and dedupEnabled (default true)."""
    params = _children(payload)
    record_list = params.get("leadRecordList")
    if record_list is None:
        raise ApiError(20017, "leadRecordList is required")
    elements = [e for e in record_list if isinstance(e.tag, str) and _local(e.tag) == "leadRecord"]
    if len(elements) > MAX_BATCH_RECORDS:
        raise ApiError(20110, f"{len(elements)} records: at most {MAX_BATCH_RECORDS} are supported")
    dedup = _boolean(params.get("dedupEnabled"), "dedupEnabled", True)
    records: list[LeadInput | ApiError] = []
    for element in elements:
        try:
            records.append(read_lead_record(element))
        except ApiError as error:
            records.append(error)
    return records, dedup


def _lead_record(lead: Lead) -> str:
    parts = [f"<Id>{lead.id}</Id>"]
    if lead.email is not None:
        parts.append(f"<Email>{escape(lead.email)}</Email>")
    if lead.foreign_sys_person_id is not None:
        parts.append(
            f"<ForeignSysPersonId>{escape(lead.foreign_sys_person_id)}</ForeignSysPersonId>"
        )
        parts.append(f"<ForeignSysType>{lead.foreign_sys_type}</ForeignSysType>")
    parts.append("<leadAttributeList>")
    for name, value in lead.attributes.items():
        parts.append(
            f"<attribute><attrName>{escape(name)}</attrName>"
            f"<attrValue>{escape(value)}</attrValue></attribute>"
        )
    parts.append("</leadAttributeList>")
    return "<leadRecord>" + "".join(parts) + "</leadRecord>"


def _sync_status(lead_id: int, status: str, error: str | None) -> str:
    error_xml = '<error xsi:nil="true" />' if error is None else f"<error>{escape(error)}</error>"
    return (
        f"<syncStatus><leadId>{lead_id}</leadId><status>{status}</status>{error_xml}</syncStatus>"
    )


def sync_lead_response(lead: Lead, status: str, *, return_lead: bool) -> bytes:
    """successSyncLead exactly as in the seed: nil leadRecord unless returnLead was true."""
    record = _lead_record(lead) if return_lead else '<leadRecord xsi:nil="true" />'
    result = f"<leadId>{lead.id}</leadId>{_sync_status(lead.id, status, None)}{record}"
    body = f"<ns1:successSyncLead><result>{result}</result></ns1:successSyncLead>"
    return f"{_HEAD}{body}{_TAIL}".encode()


def sync_multiple_response(statuses: list[tuple[int, str, str | None]]) -> bytes:
    """successSyncMultipleLeads: one syncStatus per record, in request order."""
    body = "".join(_sync_status(*status) for status in statuses)
    return (
        f"{_HEAD}<ns1:successSyncMultipleLeads><result><syncStatusList>{body}</syncStatusList>"
        f"</result></ns1:successSyncMultipleLeads>{_TAIL}"
    ).encode()


def fault_response(error: ApiError) -> bytes:
    """A SOAP 1.1 Fault in FACTS §5's shape, the code in detail/serviceException/code."""
    side = "Server" if error.code in SERVER_CODES else "Client"
    return (
        f"{_HEAD}<SOAP-ENV:Fault><faultcode>SOAP-ENV:{side}</faultcode>"
        f"<faultstring>{error.code} - {escape(error.title)}</faultstring>"
        f'<detail><ns1:serviceException xmlns:ns1="{MKTOWS}"><name>mktServiceException</name>'
        f"<message>{escape(error.detail)} ({error.code})</message><code>{error.code}</code>"
        f"</ns1:serviceException></detail></SOAP-ENV:Fault>{_TAIL}"
    ).encode()
