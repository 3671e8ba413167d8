"""The JSON message each delivery carries: shared by the Celery task, the scheduler and replay."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from worker.jobs import SyncLeadJob


@dataclass(frozen=True, slots=True)
class JobMessage:
    """One delivery of a job: which attempt it is, and where the job came from.

    `attempt` counts attempts that call Marketo (1 for the first); `deferrals` counts the
    re-deliveries that do not count as attempts (quota and limit waits); `lineage` lists the ids
    of the dead jobs this one replays, oldest first.
    """

    job_id: str
    job: dict[str, Any]
    attempt: int = 1
    enqueued_at: float = field(default_factory=time.time)
    lineage: tuple[str, ...] = ()
    deferrals: int = 0

    def sync_job(self) -> SyncLeadJob:
        """The job model (already validated when it was enqueued)."""
        return SyncLeadJob.model_validate(self.job)

    def next(self, *, attempt: int, deferrals: int | None = None) -> JobMessage:
        """The message for a later delivery of the same job."""
        return replace(
            self,
            attempt=attempt,
            enqueued_at=time.time(),
            deferrals=self.deferrals if deferrals is None else deferrals,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-safe form (optional fields left out when empty)."""
        data: dict[str, Any] = {
            "job_id": self.job_id,
            "job": self.job,
            "attempt": self.attempt,
            "enqueued_at": self.enqueued_at,
        }
        if self.lineage:
            data["lineage"] = list(self.lineage)
        if self.deferrals:
            data["deferrals"] = self.deferrals
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobMessage:
        """Rebuild a message from `to_dict` output."""
        return cls(
            job_id=str(data["job_id"]),
            job=dict(data["job"]),
            attempt=int(data.get("attempt", 1)),
            enqueued_at=float(data.get("enqueued_at", time.time())),
            lineage=tuple(str(item) for item in data.get("lineage", ())),
            deferrals=int(data.get("deferrals", 0)),
        )

    def to_json(self) -> str:
        """Compact JSON with sorted keys, so equal messages are equal strings."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> JobMessage:
        """Rebuild a message from `to_json` output."""
        return cls.from_dict(json.loads(text))


class Delivery(NamedTuple):
    """A message as the broker stores it: the Redis list the workers consume, and the entry.

    The policy layer writes a new job's delivery in the same script that records the job; how a
    `JobMessage` becomes the broker's entry is the Celery glue's business (`worker.celery_wire`).
    """

    queue: str
    entry: str
