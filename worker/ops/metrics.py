"""The worker's and intake's Prometheus metrics, and the two ways they are fed.

Counters of job outcomes come from the runner's structured log events (`count_events`, a structlog
processor), so the policy layer needs no metrics code; Marketo call latency comes from
`timed_sends`, a wrapper around the transport's calls. Import this module only after the process
knows its `PROMETHEUS_MULTIPROC_DIR` (prometheus-client picks its storage at import).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram
from structlog.typing import EventDict, WrappedLogger

from worker.jobs import SyncLeadJob
from worker.marketo.errors import MarketoError
from worker.marketo.result import PrepareCall, PreparedCall, SyncResult

# Marketo calls usually take well under a second and sometimes up to the 90 s read timeout.
CALL_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 90, 120)
WAIT_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)

JOBS_ENQUEUED = Counter("leadsync_jobs_enqueued", "Jobs this process put on the queue.")
JOBS_SYNCED = Counter("leadsync_jobs_synced", "Jobs that ended synced.")
JOBS_DEAD = Counter("leadsync_jobs_dead", "Jobs that ended as dead letters.", ["reason"])
JOBS_RETRIED = Counter(
    "leadsync_jobs_retried", "Attempts retried, re-signed or deferred, by reason.", ["reason"]
)
CALL_SECONDS = Histogram(
    "leadsync_marketo_call_seconds",
    "Duration of Marketo calls, by operation and outcome.",
    ["operation", "outcome"],
    buckets=CALL_BUCKETS_S,
)
LIMITER_WAIT_SECONDS = Histogram(
    "leadsync_limiter_wait_seconds",
    "Time a call waited for its rate-limit slot (only waits above zero).",
    buckets=WAIT_BUCKETS_S,
)
CALLS_IN_FLIGHT_HERE = Gauge(
    "leadsync_marketo_calls_in_flight_here",
    "Marketo calls in flight from the processes behind this endpoint.",
    multiprocess_mode="livesum",
)

RESIGN_REASON = "request expired: re-sign"
_RETRY_EVENTS = ("retry.scheduled", "quota.deferred", "limit.deferred")


def _count(event_dict: EventDict) -> None:
    event = event_dict.get("event")
    reason = str(event_dict.get("reason", "unknown"))
    if event == "job.synced":
        JOBS_SYNCED.inc()
    elif event == "job.dead":
        JOBS_DEAD.labels(reason=reason).inc()
    elif event in _RETRY_EVENTS:
        JOBS_RETRIED.labels(reason=reason).inc()
    elif event == "job.resign":
        JOBS_RETRIED.labels(reason=RESIGN_REASON).inc()
    elif event == "limiter.wait":
        LIMITER_WAIT_SECONDS.observe(float(event_dict.get("wait_s", 0.0)))


def count_events(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: count the runner's decision events, whatever the log level."""
    with contextlib.suppress(Exception):  # metrics must never break logging, let alone a job
        _count(event_dict)
    return event_dict


def install_event_counter() -> None:
    """Put `count_events` first in this process's structlog pipeline (idempotent)."""
    processors = list(structlog.get_config()["processors"])
    if count_events not in processors:
        structlog.configure(processors=[count_events, *processors])


def outcome_of(error: BaseException | None, result: Any = None) -> str:
    """A bounded label for one call: `ok`, `failed` (syncStatus FAILED) or the fault class."""
    if error is None:
        return "failed" if getattr(result, "status", None) == "FAILED" else "ok"
    if isinstance(error, MarketoError):
        return str(error.fault_class)
    return "unexpected"


def timed_sends(prepare: PrepareCall, *, operation: str) -> PrepareCall:
    """`prepare`, whose calls are timed into `leadsync_marketo_call_seconds` when sent and
    counted in flight."""

    def timed_prepare(job: SyncLeadJob) -> PreparedCall:
        send = prepare(job)

        def timed() -> SyncResult:
            started = time.perf_counter()
            CALLS_IN_FLIGHT_HERE.inc()
            error: BaseException | None = None
            result: SyncResult | None = None
            try:
                result = send()
                return result
            except BaseException as failure:
                error = failure
                raise
            finally:
                CALLS_IN_FLIGHT_HERE.dec()
                seconds = time.perf_counter() - started
                CALL_SECONDS.labels(operation, outcome_of(error, result)).observe(seconds)

        return timed

    return timed_prepare
