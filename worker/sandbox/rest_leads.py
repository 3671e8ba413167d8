"""Sync Leads, Associate Lead and lead reads over the shared lead store, with REST's rules.

REST field names match the store's (SOAP) names case-insensitively (`firstName` is `FirstName`),
so a lead written over one face reads the same over the other. `lookupField` is `id`, `email` or
a configured custom field; `foreignSysPersonId` is the SOAP ForeignSysPersonId (the field a
migration maps it to, FACTS §0), so a lead keyed by it over SOAP is found by it over REST. With
`partitionName`, unique-key lookups only see that partition and new
leads land there (unless an assignment rule routes them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import MAX_BATCH_RECORDS, Workspace
from .rest_errors import RestError
from .store import Lead, LeadChanges, LeadStore
from .upsert import Upserter

ACTIONS = ("createOrUpdate", "createOnly", "updateOnly", "createDuplicate")
DEFAULT_FIELDS = ("id", "email", "updatedAt", "createdAt", "firstName", "lastName")
FSP_FIELD = "foreignSysPersonId"
_KEYS = ("id", "email", FSP_FIELD.lower())


class RestLeads:
    """The REST operations over one store, under the upserter's fields and workspaces."""

    def __init__(self, upserter: Upserter) -> None:
        self.store: LeadStore = upserter.store
        self.workspaces = upserter.workspaces
        self._fields = {name.lower(): name for name in upserter.fields}

    def sync(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One result per input record; a bad request as a whole raises `RestError`."""
        action = body.get("action", "createOrUpdate")
        if action not in ACTIONS:
            raise RestError(1003, f"Invalid action '{action}'")
        lookup = str(body.get("lookupField", "email"))
        if lookup.lower() not in _KEYS and lookup.lower() not in self._fields:
            raise RestError(1003, f"Invalid lookup field '{lookup}'")
        partition = body.get("partitionName")
        if partition is not None and not self.workspaces.known_partition(str(partition)):
            raise RestError(1003, f"Partition '{partition}' not found")
        records = body.get("input")
        if not isinstance(records, list) or not 1 <= len(records) <= MAX_BATCH_RECORDS:
            raise RestError(1003, f"input must hold 1 to {MAX_BATCH_RECORDS} records")
        results = []
        for seq, record in enumerate(records):
            try:
                lead, status = self._sync_one(record, action, lookup.lower(), partition)
                results.append({"seq": seq, "id": lead.id, "status": status})
            except RestError as error:
                results.append({"seq": seq, "status": "skipped", "reasons": [error.to_json()]})
        return results

    def associate(self, lead_id: int, cookie: str | None) -> None:
        """Tie a Munchkin cookie (and its anonymous history) to a known lead."""
        lead = self.store.get(lead_id)
        if lead is None:
            raise RestError(1004, f"Lead '{lead_id}' not found")
        if not cookie:
            raise RestError(1003, "cookie is required")
        self.store.update(lead, LeadChanges(cookie=cookie))

    def read(self, filter_type: str, values: list[str], fields: list[str]) -> list[dict[str, Any]]:
        """Leads whose `filter_type` field is one of `values`, with the requested fields."""
        found: list[Lead] = []
        for value in values:
            found.extend(
                lead for lead in self._find(filter_type.lower(), value) if lead not in found
            )
        return [self.to_json(lead, fields or list(DEFAULT_FIELDS)) for lead in found]

    def to_json(self, lead: Lead, fields: list[str]) -> dict[str, Any]:
        """A lead as REST shows it: only the requested fields, under the names asked for."""
        shown: dict[str, Any] = {"id": lead.id}
        for name in fields:
            key = name.lower()
            if key == "email":
                shown[name] = lead.email
            elif key == FSP_FIELD.lower():
                shown[name] = lead.foreign_sys_person_id
            elif key in ("createdat", "updatedat"):
                shown[name] = lead.created_at if key == "createdat" else lead.updated_at
            elif key != "id":
                shown[name] = lead.attributes.get(self._fields.get(key, name))
        return shown

    def _sync_one(
        self, record: object, action: str, lookup: str, partition: Any
    ) -> tuple[Lead, str]:
        if not isinstance(record, Mapping):
            raise RestError(1003, "each input record must be an object")
        changes, lead_id = self._changes(record)
        value = lead_id if lookup == "id" else self._lookup_value(lookup, changes)
        if value is None:
            raise RestError(1003, f"Value for lookup field '{lookup}' is missing")
        matches = [] if action == "createDuplicate" else self._find(lookup, str(value))
        if partition is not None and lookup != "email":
            matches = [lead for lead in matches if lead.partition == partition]
        if matches:
            if action == "createOnly":
                raise RestError(1005, f"Lead already exists with {lookup} '{value}'")
            if matches[0].foreign_sys_type and changes.foreign_sys_person_id is not None:
                changes.foreign_sys_type = matches[0].foreign_sys_type  # REST cannot say it
            return self.store.update(matches[0], changes), "updated"
        if action == "updateOnly" or lookup == "id":
            raise RestError(1004, f"Lead not found by {lookup} '{value}'")
        target = None
        if partition is not None:
            target = Workspace(self.workspaces.workspace_of(partition), partition, (partition,))
        fields = dict(changes.attributes)
        if changes.email is not None:
            fields.setdefault("Email", changes.email)
        return self.store.create(
            self.workspaces.partition_for_new(fields, target), changes
        ), "created"

    def _changes(self, record: Mapping[str, Any]) -> tuple[LeadChanges, int | None]:
        """The record's email, attributes (under stored names) and id; 1006 for unknown fields."""
        attributes: dict[str, str] = {}
        email: str | None = None
        fsp: str | None = None
        lead_id: int | None = None
        for name, value in record.items():
            key = name.lower()
            if key == "id":
                if not isinstance(value, int) or isinstance(value, bool):
                    raise RestError(1003, f"Invalid id '{value}'")
                lead_id = value
            elif key == "email":
                email = None if value is None else str(value)
            elif key == FSP_FIELD.lower():
                fsp = None if value is None else str(value)
            elif key in self._fields:
                attributes[self._fields[key]] = "" if value is None else str(value)
            else:
                raise RestError(1006, f"Field '{name}' not found")
        changes = LeadChanges(
            email=email,
            foreign_sys_person_id=fsp,
            foreign_sys_type=None if fsp is None else "CUSTOM",
            attributes=attributes,
        )
        return changes, lead_id

    def _lookup_value(self, lookup: str, changes: LeadChanges) -> Any:
        if lookup == "email":
            return changes.email
        if lookup == FSP_FIELD.lower():
            return changes.foreign_sys_person_id
        return changes.attributes.get(self._fields[lookup])

    def _find(self, field: str, value: str) -> list[Lead]:
        if field == "id":
            lead = self.store.get(int(value)) if value.isdigit() else None
            return [] if lead is None else [lead]
        if field == "email":
            return self.store.by_email(value)
        if field == FSP_FIELD.lower():
            lead = self.store.by_foreign_id(value)
            return [] if lead is None else [lead]
        stored = self._fields.get(field)
        return [lead for lead in self.store if stored and lead.attributes.get(stored) == value]
