"""The lead database behind every face of the sandbox (SOAP now, REST later): leads and indexes."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Lead:
    """One stored lead: its keys, its partition and its field values."""

    id: int
    partition: str
    email: str | None = None
    foreign_sys_person_id: str | None = None
    foreign_sys_type: str | None = None
    cookies: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def anonymous(self) -> bool:
        """Known only by a Munchkin cookie, not yet by email or foreign id."""
        return self.email is None and self.foreign_sys_person_id is None

    def to_json(self, workspace: str | None = None) -> dict[str, Any]:
        """The inspection API's view of the lead."""
        return {
            "id": self.id,
            "email": self.email,
            "foreign_sys_person_id": self.foreign_sys_person_id,
            "foreign_sys_type": self.foreign_sys_type,
            "cookies": list(self.cookies),
            "anonymous": self.anonymous,
            "attributes": dict(self.attributes),
            "partition": self.partition,
            "workspace": workspace,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(slots=True)
class LeadChanges:
    """Values to write onto a lead; None leaves a key as it is."""

    email: str | None = None
    foreign_sys_person_id: str | None = None
    foreign_sys_type: str | None = None
    cookie: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class LeadStore:
    """Leads by Marketo Id, with indexes on email (not unique), foreign id and cookie (unique)."""

    def __init__(self, first_id: int) -> None:
        self._first_id = first_id
        self.clear()

    def clear(self) -> None:
        """Forget every lead and restart the Id sequence."""
        self._next_id = self._first_id
        self._leads: dict[int, Lead] = {}
        self._by_email: dict[str, list[int]] = {}
        self._by_foreign_id: dict[str, int] = {}
        self._by_cookie: dict[str, int] = {}

    def __iter__(self) -> Iterator[Lead]:
        return iter(self._leads.values())

    def __len__(self) -> int:
        return len(self._leads)

    def get(self, lead_id: int) -> Lead | None:
        """The lead with this Marketo Id."""
        return self._leads.get(lead_id)

    def by_foreign_id(self, foreign_id: str) -> Lead | None:
        """The lead holding this ForeignSysPersonId (the latest writer if a race duplicated it)."""
        lead_id = self._by_foreign_id.get(foreign_id)
        return None if lead_id is None else self._leads[lead_id]

    def by_cookie(self, cookie: str) -> Lead | None:
        """The lead associated with this Munchkin cookie."""
        lead_id = self._by_cookie.get(cookie)
        return None if lead_id is None else self._leads[lead_id]

    def by_email(self, email: str) -> list[Lead]:
        """Every lead with this email (case-insensitive), oldest first: email is no unique key."""
        return [self._leads[i] for i in self._by_email.get(email.lower(), ())]

    def create(self, partition: str, changes: LeadChanges) -> Lead:
        """Insert a new lead with the next Marketo Id."""
        now = time.time()
        lead = Lead(id=self._next_id, partition=partition, created_at=now)
        self._next_id += 1
        self._leads[lead.id] = lead
        self.update(lead, changes, now=now)
        return lead

    def update(self, lead: Lead, changes: LeadChanges, *, now: float | None = None) -> Lead:
        """Write `changes` onto `lead`, keeping the indexes in step."""
        if changes.email is not None and changes.email != lead.email:
            if lead.email is not None:
                self._by_email[lead.email.lower()].remove(lead.id)
            lead.email = changes.email
            self._by_email.setdefault(changes.email.lower(), []).append(lead.id)
        if changes.foreign_sys_person_id is not None:
            if lead.foreign_sys_person_id not in (None, changes.foreign_sys_person_id):
                self._by_foreign_id.pop(lead.foreign_sys_person_id, None)
            lead.foreign_sys_person_id = changes.foreign_sys_person_id
            lead.foreign_sys_type = changes.foreign_sys_type
            self._by_foreign_id[changes.foreign_sys_person_id] = lead.id
        if changes.cookie is not None and changes.cookie not in lead.cookies:
            previous = self.by_cookie(changes.cookie)
            if previous is not None:
                previous.cookies.remove(changes.cookie)
            lead.cookies.append(changes.cookie)
            self._by_cookie[changes.cookie] = lead.id
        lead.attributes.update(changes.attributes)
        lead.updated_at = time.time() if now is None else now
        return lead
