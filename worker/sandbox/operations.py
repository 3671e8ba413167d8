"""The two SOAP operations over the lead store: syncLead and syncMultipleLeads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import soap_wire
from .errors import ApiError
from .upsert import FAILED, Decision, LeadInput, Upserter

SYNC_LEAD, SYNC_MULTIPLE = "syncLead", "syncMultipleLeads"


@dataclass(slots=True)
class Call:
    """One authenticated request, read into records."""

    operation: str
    records: list[LeadInput | ApiError]
    return_lead: bool = False
    dedup: bool = True
    workspace: str | None = None

    def keys(self) -> list[dict[str, Any]]:
        """The lead keys of each readable record."""
        return [r.keys() for r in self.records if isinstance(r, LeadInput)]

    def key_values(self) -> list[object]:
        """Every lead key value, for scripted faults."""
        return [value for keys in self.keys() for value in keys.values()]


@dataclass(slots=True)
class Outcome:
    """What a call did: its response body and what the call log records."""

    body: bytes
    outcome: str
    lead_ids: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def read_call(envelope: soap_wire.Envelope) -> Call:
    """Read the body for its operation; 20019 for Marketo operations the sandbox lacks."""
    if envelope.operation == SYNC_LEAD:
        record, return_lead = soap_wire.read_sync_lead(envelope.body)
        return Call(SYNC_LEAD, [record], return_lead=return_lead, workspace=envelope.workspace)
    if envelope.operation == SYNC_MULTIPLE:
        records, dedup = soap_wire.read_sync_multiple(envelope.body)
        return Call(SYNC_MULTIPLE, records, dedup=dedup)
    if envelope.operation.startswith("params"):
        raise ApiError(20019, f"{envelope.operation} is not supported by the sandbox")
    raise ApiError(20012, f"Unexpected body element {envelope.operation!r}")


def decide_early(call: Call, upserter: Upserter) -> Decision | ApiError:
    """syncLead's insert-or-update decision taken at receive time (the duplicate race)."""
    record = call.records[0]
    assert isinstance(record, LeadInput)  # syncLead records are read strictly
    try:
        return upserter.decide(record, workspace=call.workspace)
    except ApiError as error:
        return error


def execute(call: Call, upserter: Upserter, decision: Decision | ApiError | None) -> Outcome:
    """Run the call against the store; a syncLead error raises, a batch record's error is FAILED."""
    if call.operation == SYNC_LEAD:
        record = call.records[0]
        assert isinstance(record, LeadInput)
        if isinstance(decision, ApiError):
            raise decision
        if decision is None:
            lead, status = upserter.sync(record, workspace=call.workspace)
        else:
            lead, status = upserter.apply(record, decision)
        body = soap_wire.sync_lead_response(lead, status, return_lead=call.return_lead)
        return Outcome(body, status, [lead.id], [status])
    results: list[tuple[int, str, str | None]] = []
    for record in call.records:
        try:
            if isinstance(record, ApiError):
                raise record
            lead, status = upserter.sync(record, dedup=call.dedup)
            results.append((lead.id, status, None))
        except ApiError as error:
            results.append((0, FAILED, str(error)))
    return Outcome(
        soap_wire.sync_multiple_response(results),
        "SYNCED",
        [lead_id for lead_id, _, _ in results],
        [status for _, status, _ in results],
    )
