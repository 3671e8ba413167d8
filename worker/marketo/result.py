"""The typed outcome of a successful syncLead call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SyncStatus = Literal["CREATED", "UPDATED", "FAILED"]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What Marketo answered: the lead's id, its syncStatus, and the full record when asked for."""

    lead_id: int | None
    status: SyncStatus
    error: str | None = None
    lead_record: dict[str, Any] | None = field(default=None)
