"""leadsync: Celery workers that sync leads into Marketo reliably.

The producer API is `enqueue_sync_lead` and `job_status`; see the README.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.jobs import InvalidJob, SyncLeadJob, validate_job

if TYPE_CHECKING:
    from worker.producer import enqueue_sync_lead, job_status

__all__ = ["InvalidJob", "SyncLeadJob", "enqueue_sync_lead", "job_status", "validate_job"]


def __getattr__(name: str) -> Any:
    # The producer pulls in Celery and Redis; import it only when a producer function is used.
    if name in {"enqueue_sync_lead", "job_status"}:
        from worker import producer

        return getattr(producer, name)
    raise AttributeError(f"module 'worker' has no attribute {name!r}")
