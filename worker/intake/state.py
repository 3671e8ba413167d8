"""What every intake route shares: the producer connection and the Redis-backed guards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from worker.intake.auth import ApiKeys
from worker.intake.once import OnceStore
from worker.intake.ratelimit import ClientRateLimit
from worker.intake.settings import IntakeSettings
from worker.producer import Connection, enqueue_sync_lead, job_status


@dataclass(frozen=True)
class IntakeState:
    """Built once by `create_app`; routes reach it through `request.app.state.intake`."""

    connection: Connection
    settings: IntakeSettings
    api_keys: ApiKeys
    once: OnceStore
    form_rate: ClientRateLimit

    @classmethod
    def build(cls, connection: Connection, settings: IntakeSettings) -> IntakeState:
        """Wire the guards to the producer's Redis client."""
        return cls(
            connection=connection,
            settings=settings,
            api_keys=ApiKeys(settings.api_keys),
            once=OnceStore(connection.redis),
            form_rate=ClientRateLimit(connection.redis, settings.form_rate_limit),
        )

    def enqueue(self, jobs: list[dict[str, Any]]) -> list[str]:
        """Enqueue already checked jobs through the producer's one enqueue path."""
        return [enqueue_sync_lead(**fields, connection=self.connection) for fields in jobs]

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's status object, as `leadsync status --json` prints it."""
        return job_status(job_id, connection=self.connection)


def intake_of(request: Request) -> IntakeState:
    """The app's shared state."""
    state: IntakeState = request.app.state.intake
    return state
