"""syncLead's matching rules (FACTS §4): a decision, then a write, so a race can sit between."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Workspace
from .errors import ApiError
from .store import Lead, LeadChanges, LeadStore
from .workspaces import Workspaces

FOREIGN_SYS_TYPES = frozenset({"CUSTOM", "SFDC", "NETSUITE"})
CREATED, UPDATED, FAILED = "CREATED", "UPDATED", "FAILED"


@dataclass(frozen=True, slots=True)
class LeadInput:
    """One leadRecord as a client sent it, plus the call's Munchkin cookie."""

    id: int | None = None
    email: str | None = None
    foreign_sys_person_id: str | None = None
    foreign_sys_type: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()
    cookie: str | None = None

    def keys(self) -> dict[str, Any]:
        """The lead keys present, for the call log and scripted faults."""
        keys = {
            "Id": self.id,
            "Email": self.email,
            "ForeignSysPersonId": self.foreign_sys_person_id,
            "marketoCookie": self.cookie,
        }
        return {name: value for name, value in keys.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Decision:
    """Update lead `lead_id` (matched by `matched_by`), or insert into `partition` if None."""

    lead_id: int | None
    matched_by: str | None
    partition: str


class Upserter:
    """Decides and applies upserts over one store, under one workspace configuration."""

    def __init__(self, store: LeadStore, workspaces: Workspaces, fields: frozenset[str]) -> None:
        self.store = store
        self.workspaces = workspaces
        self.fields = fields

    def sync(
        self, record: LeadInput, *, workspace: str | None = None, dedup: bool = True
    ) -> tuple[Lead, str]:
        """Decide and write at once: the lead and CREATED or UPDATED."""
        return self.apply(record, self.decide(record, workspace=workspace, dedup=dedup))

    def decide(
        self, record: LeadInput, *, workspace: str | None = None, dedup: bool = True
    ) -> Decision:
        """Which lead `record` updates, or where it goes; ApiError when it cannot be synced."""
        self._validate(record)
        target = self.workspaces.target(workspace)
        lead, matched_by = self._match(record, dedup=dedup)
        if lead is None:
            if record.email is None and record.foreign_sys_person_id is None:
                raise ApiError(20101, "Id, Email or ForeignSysPersonId is required")
            fields = dict(record.attributes)
            if record.email is not None:
                fields.setdefault("Email", record.email)
            return Decision(None, None, self.workspaces.partition_for_new(fields, target))
        if target is not None and matched_by != "Email":
            _require_primary(lead, target, matched_by)
        return Decision(lead.id, matched_by, lead.partition)

    def apply(self, record: LeadInput, decision: Decision) -> tuple[Lead, str]:
        """Write the record as decided: the lead and CREATED or UPDATED."""
        changes = LeadChanges(
            email=record.email,
            foreign_sys_person_id=record.foreign_sys_person_id,
            foreign_sys_type=record.foreign_sys_type,
            cookie=record.cookie,
            attributes=dict(record.attributes),
        )
        lead = self.store.get(decision.lead_id) if decision.lead_id is not None else None
        if lead is None:
            return self.store.create(decision.partition, changes), CREATED
        return self.store.update(lead, changes), UPDATED

    def _validate(self, record: LeadInput) -> None:
        for name, _ in record.attributes:
            if name not in self.fields:
                raise ApiError(20105, f"Unknown lead field: {name}")
        if record.foreign_sys_person_id is not None:
            if record.foreign_sys_type is None:
                raise ApiError(20109, "ForeignSysType is required with ForeignSysPersonId")
            if record.foreign_sys_type not in FOREIGN_SYS_TYPES:
                raise ApiError(20110, f"ForeignSysType {record.foreign_sys_type!r} is not valid")
        if not any((record.id, record.email, record.foreign_sys_person_id, record.cookie)):
            raise ApiError(20101, "Id, Email, ForeignSysPersonId or marketoCookie is required")

    def _match(self, record: LeadInput, *, dedup: bool) -> tuple[Lead | None, str | None]:
        """Key precedence: Id, ForeignSysPersonId, cookie, then Email (when deduplicating)."""
        if record.id is not None:
            lead = self.store.get(record.id)
            if lead is None:
                raise ApiError(20103, f"No lead has Id {record.id}")
            return lead, "Id"
        if record.foreign_sys_person_id is not None:
            lead = self.store.by_foreign_id(record.foreign_sys_person_id)
            if lead is not None:
                return lead, "ForeignSysPersonId"
        if record.cookie is not None:
            lead = self.store.by_cookie(record.cookie)
            if lead is not None:
                return lead, "cookie"
        if record.email is not None and dedup:
            matches = self.store.by_email(record.email)
            if matches:
                return matches[0], "Email"
        return None, None


def _require_primary(lead: Lead, target: Workspace, matched_by: str | None) -> None:
    """A lead matched by a unique key must live in the named workspace's primary partition."""
    if lead.partition != target.primary_partition:
        raise ApiError(
            20103,
            f"Lead {lead.id} (matched by {matched_by}) is not in partition "
            f"{target.primary_partition!r} of workspace {target.name!r}",
        )
