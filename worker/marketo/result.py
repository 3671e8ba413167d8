"""The typed outcome of a successful syncLead call, and the shape of a call made in two steps."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from worker.jobs import SyncLeadJob

SyncStatus = Literal["CREATED", "UPDATED", "FAILED"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What Marketo answered: the lead's id, its syncStatus, and the full record when asked for."""

    lead_id: int | None
    status: SyncStatus
    error: str | None = None
    lead_record: dict[str, Any] | None = field(default=None)


#: A call built and signed, not sent yet: calling it sends it (and raises a `MarketoError`).
PreparedCall = Callable[[], SyncResult]
#: Builds the `PreparedCall` for a job. Built ahead, a SOAP envelope is serialized while Redis
#: answers the delivery's claim rather than after it.
PrepareCall = Callable[[SyncLeadJob], PreparedCall]


def unprepared(call: Callable[[SyncLeadJob], SyncResult]) -> PrepareCall:
    """The `PrepareCall` of a call with nothing worth doing before its send (REST, stand-ins)."""
    return lambda job: functools.partial(call, job)
