"""The Marketo SOAP client: signed syncLead and syncMultipleLeads calls over zeep.

One `SoapClient` per worker process: the WSDL is parsed once per location for the whole process,
every client keeps its own keep-alive connections, and each send gets a fresh signature. zeep
renders each shape of syncLead envelope once, with placeholders; a call fills in a copy.
No Celery, no Redis: retries and limits belong to the policy layer.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

import requests
import zeep
import zeep.helpers
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl import Document

from worker.config import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S, Secret, Settings
from worker.jobs import SyncLeadJob
from worker.marketo.errors import PermanentError, TransientError
from worker.marketo.http import KeepAlivePool, PoolTransport
from worker.marketo.result import PreparedCall, SyncResult, SyncStatus
from worker.marketo.signing import authentication_header
from worker.marketo.transport_errors import translated_errors

NAMESPACE = "http://www.marketo.com/mktows/"
BINDING = f"{{{NAMESPACE}}}MktowsApiSoapBinding"
PACKAGED_WSDL = str(files("worker.marketo") / "wsdl" / "mktows-2_3.wsdl")
MAX_BATCH = 300  # Marketo: "batches above 300 records are not supported"
WSDL_LOAD_TIMEOUT_S = 30.0
# syncLead envelope templates kept per client, one per shape (fields present, attribute count),
# for shapes of up to MAX_TEMPLATE_VALUES values (about 100 attributes): 64 such hold about 6 MB.
MAX_TEMPLATES = 64
MAX_TEMPLATE_VALUES = 200

# A response that does not match the schema is an error; a DTD or entity in a response never is
# honoured (a SOAP endpoint has no business sending either).
_ZEEP_SETTINGS = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True)


_WSDL_LOCK = threading.Lock()


def load_wsdl(location: str) -> Document:
    """Parse a WSDL once per process; every client for the same location shares the result."""
    with _WSDL_LOCK:  # threads creating their first clients together still parse only once
        return _parse_wsdl(location)


@cache
def _parse_wsdl(location: str) -> Document:
    with requests.Session() as session:
        # The loading session is closed at once: a parsed Document never fetches again.
        transport = Transport(session=session, timeout=WSDL_LOAD_TIMEOUT_S)
        # zeep annotates `transport` as a class, but takes (and needs) an instance.
        return Document(location, transport, settings=_ZEEP_SETTINGS)  # type: ignore[arg-type]


class SoapClient:
    """Calls Marketo's SOAP API at one endpoint with one set of credentials."""

    def __init__(
        self,
        *,
        endpoint: str,
        user_id: str,
        encryption_key: Secret,
        wsdl: str | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        workspace: str | None = None,
    ) -> None:
        self._pool = KeepAlivePool(
            endpoint, connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s
        )
        self.endpoint = endpoint
        self.user_id = user_id
        self.workspace = workspace
        self._key = encryption_key
        self._zeep = zeep.Client(
            load_wsdl(wsdl or PACKAGED_WSDL),
            transport=PoolTransport(self._pool),
            settings=_ZEEP_SETTINGS,
        )
        # Marketo: ignore the address inside the WSDL and call the instance endpoint.
        self._service = self._zeep.create_service(BINDING, endpoint)
        self._auth_header = self._zeep.get_element(f"{{{NAMESPACE}}}AuthenticationHeader")
        self._context_header = self._zeep.get_element(f"{{{NAMESPACE}}}MktowsContextHeader")
        self._templates: dict[tuple[str, Hashable], _Template | None] = {}
        self._templates_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> SoapClient:
        """A client from a `worker.config.Settings` (the endpoint must be set)."""
        if not settings.soap_endpoint or not settings.user_id:
            raise ValueError("MARKETO_SOAP_ENDPOINT and MARKETO_USER_ID must be set")
        return cls(
            endpoint=settings.soap_endpoint,
            user_id=settings.user_id,
            encryption_key=settings.encryption_key,
            wsdl=settings.wsdl,
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
            workspace=settings.workspace,
        )

    def sync_lead(self, job: SyncLeadJob) -> SyncResult:
        """Upsert one lead; raises a `MarketoError` subclass on any failure."""
        return self.prepare_sync_lead(job)()

    def prepare_sync_lead(self, job: SyncLeadJob) -> PreparedCall:
        """Sign and serialize a syncLead now; calling the result sends it.

        Send it at once: the signature's timestamp ages from here (a retry prepares again)."""
        workspace = job.workspace or self.workspace
        send = self._prepare("syncLead", sync_lead_params(job), workspace, reuse_shape=True)

        def sync() -> SyncResult:
            result = _holder(send(), "syncStatus")
            status = result.syncStatus
            return SyncResult(
                lead_id=_lead_id(result.leadId) or _lead_id(status.leadId),
                status=_status(status.status),
                error=status.error,
                lead_record=lead_record_dict(result.leadRecord) if job.return_lead else None,
            )

        return sync

    def sync_multiple_leads(
        self, jobs: Sequence[SyncLeadJob], dedup_enabled: bool = True
    ) -> list[SyncResult]:
        """Upsert up to 300 leads in one call; per-record failures come back as FAILED results."""
        if not jobs:
            return []
        if len(jobs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} leads per syncMultipleLeads, got {len(jobs)}")
        for job in jobs:
            if job.marketo_cookie is not None or job.workspace is not None:
                # The operation has neither field: sending anyway would silently misplace the lead.
                raise ValueError("syncMultipleLeads cannot carry a Munchkin cookie or a workspace")
        params = {
            "leadRecordList": {"leadRecord": [_lead_record(job) for job in jobs]},
            "dedupEnabled": dedup_enabled,
        }
        # A batch's shape is rarely seen twice (and its template would be large): rendered afresh.
        send = self._prepare("syncMultipleLeads", params, None, reuse_shape=False)
        result = _holder(send(), "syncStatus")
        statuses = result.syncStatus or []
        if len(statuses) != len(jobs):
            raise PermanentError(f"Marketo answered {len(statuses)} statuses for {len(jobs)} leads")
        return [
            SyncResult(lead_id=_lead_id(item.leadId), status=_status(item.status), error=item.error)
            for item in statuses
        ]

    def close(self) -> None:
        """Close the keep-alive connections."""
        self._pool.clear()

    def __enter__(self) -> SoapClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SoapClient(endpoint={self.endpoint!r}, user_id={self.user_id!r})"

    def _prepare(
        self, operation: str, params: dict[str, Any], workspace: str | None, *, reuse_shape: bool
    ) -> Callable[[], Any]:
        # zeep's own `send`, in its two halves: the envelope is built and signed here, posted
        # and read when the returned function is called.
        key = self._key.reveal()
        auth = authentication_header(self.user_id, key)
        secrets = (key, auth["requestSignature"])
        call: dict[str, Any] = {"params": params, "auth": auth, "workspace": workspace}
        binding = self._service._binding
        with translated_errors(secrets=secrets):
            envelope, http_headers = (
                self._from_template(operation, call)
                if reuse_shape
                else self._render(operation, **call)
            )

        def send() -> Any:
            with translated_errors(secrets=secrets):
                response = self._zeep.transport.post_xml(self.endpoint, envelope, http_headers)
                return binding.process_reply(self._zeep, binding.get(operation), response)

        return send

    def _render(
        self, operation: str, params: dict[str, Any], auth: dict[str, str], workspace: str | None
    ) -> tuple[etree._Element, dict[str, str]]:
        """zeep's envelope and HTTP headers for one call."""
        headers = [self._auth_header(**auth)]
        if workspace is not None:
            headers.append(self._context_header(targetWorkspace=workspace))
        return self._service._binding._create(  # type: ignore[no-any-return]
            operation,
            (),
            {**params, "_soapheaders": headers},
            client=self._zeep,
            options=self._service._binding_options,
        )

    def _from_template(
        self, operation: str, call: dict[str, Any]
    ) -> tuple[etree._Element, dict[str, str]]:
        # zeep renders each shape of call once, with placeholders for its values (its value
        # objects cost most of the time it takes to serialize a call); each call fills in a copy.
        shape = _Shape(call)
        if len(shape.values) > MAX_TEMPLATE_VALUES:  # large, and rarely seen twice
            return self._render(operation, **call)
        key = (operation, shape.key)
        if key not in self._templates:
            template = _Template.rendered(shape, self._render(operation, **shape.params))
            with self._templates_lock:
                if len(self._templates) >= MAX_TEMPLATES:
                    self._templates.pop(next(iter(self._templates)))
                self._templates[key] = template
        template = self._templates.get(key)  # None: evicted meanwhile, or no template possible
        if template is None:
            return self._render(operation, **call)
        return template.filled(shape.values), template.http_headers


class _Shape:
    """A call's arguments split into their shape and their values.

    `params` is the call with a placeholder for every string and integer; `key` identifies the
    shape (names, list lengths, booleans and absent values); `values` holds the text zeep renders
    for each placeholder, in the order of `marks` (the placeholders' own text)."""

    def __init__(self, call: dict[str, Any]) -> None:
        self.values: list[str] = []
        self.marks: list[str] = []
        self.params, self.key = self._split(call)

    def _split(self, value: Any) -> tuple[Any, Hashable]:
        if isinstance(value, dict):
            parts = [(name, *self._split(item)) for name, item in value.items()]
            return {name: item for name, item, _ in parts}, tuple((n, k) for n, _, k in parts)
        if isinstance(value, list):
            items = [self._split(item) for item in value]
            return [item for item, _ in items], ("list", *(key for _, key in items))
        if value is None or isinstance(value, bool):
            return value, value
        index = len(self.values)
        if isinstance(value, int):
            mark: Any = -1_000_000_000 - index  # still an xsd:int
        elif isinstance(value, str):
            mark = f"\ue000{index}"  # a private-use character: no fixed text of an envelope has it
        else:
            raise TypeError(f"no placeholder for a {type(value).__name__}")
        self.values.append(str(value))
        self.marks.append(str(mark))
        return mark, type(value).__name__


@dataclass(frozen=True)
class _Template:
    """An envelope zeep rendered for one shape of call; `slots` maps each placeholder's text to
    the index of the value that replaces it."""

    envelope: etree._Element
    http_headers: dict[str, str]
    slots: dict[str, int]

    @classmethod
    def rendered(
        cls, shape: _Shape, rendering: tuple[etree._Element, dict[str, str]]
    ) -> _Template | None:
        """The template, or None when a value is not the whole text of one element (zeep put it
        in an attribute, or changed it): such a shape is rendered afresh for every call."""
        envelope, http_headers = rendering
        slots = {mark: index for index, mark in enumerate(shape.marks)}
        found = [element.text for element in envelope.iter() if element.text in slots]
        if sorted(found) != sorted(slots):
            return None
        return cls(envelope, http_headers, slots)

    def filled(self, values: Sequence[str]) -> etree._Element:
        """A copy of the envelope carrying `values`."""
        envelope = copy.deepcopy(self.envelope)
        for element in envelope.iter():
            index = self.slots.get(element.text)  # type: ignore[arg-type]
            if index is not None:
                element.text = values[index]
        return envelope


def sync_lead_params(job: SyncLeadJob) -> dict[str, Any]:
    """syncLead's body parameters for `job`, as zeep takes them."""
    params: dict[str, Any] = {"leadRecord": _lead_record(job), "returnLead": job.return_lead}
    if job.marketo_cookie is not None:
        params["marketoCookie"] = job.marketo_cookie
    return params


def _lead_record(job: SyncLeadJob) -> dict[str, Any]:
    record: dict[str, Any] = {
        "Id": job.lead_id,
        "Email": job.email,
        "ForeignSysPersonId": job.foreign_sys_person_id,
        "ForeignSysType": job.foreign_sys_type,
    }
    if job.attributes:
        record["leadAttributeList"] = {
            "attribute": [
                {"attrName": name, "attrValue": value} for name, value in job.attributes.items()
            ]
        }
    # None is left out of the XML entirely (not sent as xsi:nil), as Marketo's own examples do.
    return {name: value for name, value in record.items() if value is not None}


def lead_record_dict(record: Any) -> dict[str, Any] | None:
    """A returned LeadRecord as plain data: Marketo's key fields plus `attributes` name -> value."""
    if record is None:
        return None
    data = zeep.helpers.serialize_object(record, dict)
    attributes = (data.pop("leadAttributeList", None) or {}).get("attribute") or []
    data["attributes"] = {item["attrName"]: item["attrValue"] for item in attributes}
    return data


def _holder(value: Any, field: str) -> Any:
    """The response object that has `field`, below any wrappers zeep did not strip."""
    # zeep strips single-child wrappers (successSyncMultipleLeads/result/syncStatusList) to a depth
    # that depends on the schema; walking down by name keeps this independent of that heuristic.
    for wrapper in ("result", "syncStatusList"):
        if value is None or field in value:
            break
        if wrapper in value:
            value = value[wrapper]
    if value is None or field not in value:
        # A server glitch rather than a verdict on the lead: worth another (upsert-safe) try.
        raise TransientError(f"Marketo's response has no {field}")
    return value


def _lead_id(value: int | None) -> int | None:
    # Marketo reports no lead with a nil, 0 or negative id (e.g. a FAILED record in a batch).
    return value if value is not None and value > 0 else None


def _status(value: str) -> SyncStatus:
    if value not in ("CREATED", "UPDATED", "FAILED"):
        raise PermanentError(f"unknown syncStatus {value!r}")
    return value  # type: ignore[return-value]
