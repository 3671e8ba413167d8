"""Every Redis key leadsync's policies use, named in one place under the `leadsync:` prefix."""

from __future__ import annotations

PREFIX = "leadsync:"

LIMITER = f"{PREFIX}limiter"  # sorted set: reserved call times (ms) of the global rate limiter
LIMITER_SEQ = f"{PREFIX}limiter:seq"  # counter: unique members for LIMITER
LEASES = f"{PREFIX}leases"  # sorted set: concurrency lease id -> expiry (ms)
ORDER_SEQ = f"{PREFIX}order:seq"  # counter: global enqueue order for per-lead queues
SCHEDULE = f"{PREFIX}schedule"  # sorted set: delayed message JSON -> due time (ms)
DEAD_INDEX = f"{PREFIX}dead"  # sorted set: dead job id -> time it died (ms)
OUTCOMES = f"{PREFIX}ops:outcomes"  # hash: delivery outcome -> how many ended so, all workers
JOB_PREFIX = f"{PREFIX}job:"  # + job id: the job's status record (hash)
DEAD_PREFIX = f"{PREFIX}dead:"  # + job id: the job's dead letter (JSON string)


def job(job_id: str) -> str:
    """The status record of one job."""
    return f"{JOB_PREFIX}{job_id}"


def errors(job_id: str) -> str:
    """The list of a live job's attempt errors, moved into its dead letter if it dies."""
    return f"{PREFIX}errors:{job_id}"


def dead(job_id: str) -> str:
    """The dead letter of one job."""
    return f"{DEAD_PREFIX}{job_id}"


def lead_queue(kind: str, value: str) -> str:
    """The enqueue-ordered jobs waiting on one lead key (`kind` is id, fsp, cookie or email)."""
    return f"{PREFIX}lead:{kind}:{value}"


def lead_hold(kind: str, value: str) -> str:
    """Which job holds one lead key right now (expires if its worker dies)."""
    return f"{PREFIX}hold:{kind}:{value}"


def decode(value: bytes | str | None) -> str | None:
    """A Redis reply as text, whatever the client's `decode_responses`."""
    if isinstance(value, bytes):
        return value.decode()
    return value
