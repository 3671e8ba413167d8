"""A stand-in for the Celery glue's `deliver`, for policy tests that run no worker."""

from __future__ import annotations

from collections.abc import Callable

from worker.policy.message import Delivery, JobMessage

TEST_QUEUE = "leadsync-test:broker"


def recording(keep: Callable[[JobMessage], object]) -> Callable[[JobMessage], Delivery]:
    """A `deliver` for `enqueue` that hands each new message to `keep` (a list's append, say)."""

    def deliver(message: JobMessage) -> Delivery:
        keep(message)
        return Delivery(queue=TEST_QUEUE, entry=message.to_json())

    return deliver
