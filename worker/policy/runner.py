"""One delivery of a job through the chain of policies around the Marketo call.

claim the attempt -> per-lead ordering -> concurrency lease -> rate-limit booking -> call ->
decide -> record (synced, retry scheduled, deferred or dead letter), releasing every hold on every
exit path. The first three and the last are one atomic script each (`transitions`), so a job
that syncs costs two Redis round trips (three with the rate limiter on); the call is prepared
(signed and serialized) while Redis answers the first. The Celery task builds one `JobRunner` per
process and calls `run` for each message.

Deliveries may repeat (broker redelivery, mover crashes, watchdog copies): the attempt claim lets
exactly one run each attempt, so repeats are dropped or looked at again later, never run twice.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

import redis
import structlog

from worker.config import Settings
from worker.jobs import SyncLeadJob
from worker.logs import describe_error, lead_summary
from worker.marketo.errors import FaultClass, MarketoError, TransientError
from worker.marketo.result import PrepareCall, PreparedCall, SyncResult
from worker.policy.deadletters import DeadLetters
from worker.policy.heartbeat import Heartbeat
from worker.policy.leases import ConcurrencyLeases
from worker.policy.leases import lease_ttl_s as default_lease_ttl_s
from worker.policy.limiter import RateLimiter
from worker.policy.message import JobMessage
from worker.policy.ordering import LeadOrdering
from worker.policy.results import (
    ResultsStore,
    dead_fields,
    error_info,
    retrying_fields,
    synced_fields,
)
from worker.policy.retry import Action, Decision, RetryPolicy
from worker.policy.schedule import Scheduler
from worker.policy.transitions import Transitions

ORDER_RECHECK_S = 0.25  # a job waiting behind another on its lead looks again after 1-2x this
BUSY_RECHECK_MARGIN_S = 1.0  # a duplicate delivery looks again this long after the lease ends
RENEW_AFTER_WAIT_S = 5.0  # a limiter wait this long renews the leases and holds before calling
HEARTBEATS_PER_LEASE = 3  # renewals per lease lifetime while a call runs

T = TypeVar("T")


class Outcome(StrEnum):
    """What `JobRunner.run` did with a message."""

    SYNCED = "synced"
    DEAD = "dead"
    RETRY_SCHEDULED = "retry-scheduled"  # a counted retry waits in the schedule
    DEFERRED = "deferred"  # quota or limit: the same attempt waits in the schedule
    WAITING = "waiting"  # another job holds the lead; looks again shortly
    DUPLICATE = "duplicate"  # another delivery runs this attempt; looks again when its lease ends
    DROPPED = "dropped"  # stale, finished or unknown job: nothing to do


class JobRunner:
    """Runs deliveries of sync-lead jobs under the global limits and the retry policy."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        *,
        prepare: PrepareCall,
        publish: Callable[[JobMessage], None],
        logger: Any = None,
        rng: random.Random | None = None,
        lease_ttl_s: float | None = None,
        confirm_finish: bool = True,
    ) -> None:
        """`confirm_finish=False` lets `run` return a synced delivery before Redis confirms its
        finish script; the reply is read at the next delivery's begin or by `settle`, and a
        failure then is logged as `job.finish_failed` (the watchdog copy takes the job over)."""
        self._redis = client
        self._confirm_finish = confirm_finish
        self._prepare = prepare
        self._publish = publish
        self._log = logger or structlog.get_logger(__name__)
        self._rng = rng or random.Random()
        # One TTL for the run lease, the lead holds and the concurrency lease (tests shorten it).
        self._lease_ttl_s = lease_ttl_s or default_lease_ttl_s(settings)
        # LEADSYNC_LIMITER=0 turns the rate limiter and the concurrency cap off (benchmarks only).
        self._lease_limit = settings.max_concurrency if settings.limiter_enabled else 0
        self.results = ResultsStore(client, ttl_s=settings.result_ttl_s)
        self.ordering = LeadOrdering(client)
        self.leases = ConcurrencyLeases(
            client, limit=settings.max_concurrency, lease_ttl_s=self._lease_ttl_s
        )
        self.limiter = RateLimiter.from_settings(client, settings)
        self.scheduler = Scheduler(client)
        self.dead_letters = DeadLetters(client, settings)
        self.policy = RetryPolicy.from_settings(settings)
        self._heartbeat = Heartbeat(every_s=self._lease_ttl_s / HEARTBEATS_PER_LEASE)
        self.transitions = Transitions(
            client,
            record_ttl_s=settings.result_ttl_s,
            errors_ttl_s=settings.result_ttl_s,
            run_lease_s=self._lease_ttl_s,
            busy_margin_s=BUSY_RECHECK_MARGIN_S,
        )

    def run(self, message: JobMessage, job: SyncLeadJob | None = None) -> Outcome:
        """Take one delivery as far as it can go now; never raises for Marketo failures.

        `job` is `message.sync_job()` when the caller has already validated it."""
        log = self._log.bind(job_id=message.job_id, attempt=message.attempt)
        job = job or message.sync_job()
        lead_keys = job.lead_keys()
        # The message doubles as this delivery's watchdog: if the delivery never finishes (its
        # worker dies, or Redis fails mid-run after the broker acknowledged it), this copy comes
        # back once the run lease is over and takes over.
        watchdog = message.to_json()
        lease_id = uuid.uuid4().hex if self._lease_limit else ""
        recheck_s = ORDER_RECHECK_S * (1 + self._rng.random())
        prepared: list[PreparedCall] = []  # built while Redis decides the claim
        begun = self.transitions.begin(
            message,
            watchdog,
            lead_keys,
            recheck_s=recheck_s,
            lease_limit=self._lease_limit,
            lease_id=lease_id,
            meanwhile=lambda: prepared.append(self._prepared(job, log)),
        )
        if begun.verdict in ("stale", "done", "missing"):
            log.info("job.dropped", claim=begun.verdict)
            return Outcome.DROPPED
        if begun.verdict == "busy":
            # Maybe a redelivery while the first delivery still runs, maybe its worker just died:
            # it looks again once that run lease is over (then takes over, or finds it done).
            log.info("job.duplicate", recheck_in_s=round(begun.left_s + BUSY_RECHECK_MARGIN_S, 3))
            return Outcome.DUPLICATE
        if begun.verdict == "wait":
            log.info("ordering.wait", delay_s=round(recheck_s, 3))
            return Outcome.WAITING
        if begun.verdict == "takeover":
            log.warning("job.takeover")
        try:
            if lease_id and not begun.leased:
                self.leases.take(lease_id)  # the cap is full: poll until a place frees up
                prepared.clear()  # its signature has aged: sign again
            call = prepared[0] if prepared else None
            return self._attempt(message, job, lead_keys, watchdog, lease_id, log, call)
        except BaseException:
            # Not a Marketo failure: free the lead and the cap; the watchdog takes over later.
            self.transitions.finish(message.job_id, lead_keys, lease_id=lease_id)
            raise

    def _attempt(
        self,
        message: JobMessage,
        job: SyncLeadJob,
        lead_keys: Mapping[str, str],
        watchdog: str,
        lease_id: str,
        log: Any,
        prepared: PreparedCall | None,
    ) -> Outcome:
        resigns = 0
        while True:
            waited_s = self.limiter.wait()
            if waited_s > 0:
                log.info("limiter.wait", wait_s=round(waited_s, 3))
                prepared = None  # its signature has aged: sign again
            if waited_s >= RENEW_AFTER_WAIT_S:
                self._renew(message, lead_keys, lease_id)
            send = prepared or self._prepared(job, log)
            prepared = None  # a re-signed attempt (20016) builds its call again
            try:
                with self._heartbeat.keep_alive(
                    lambda: self._renew(message, lead_keys, lease_id, wait_for_cap=False)
                ):
                    result = _translated(send, log)
            except MarketoError as error:
                decision = self.policy.decide(
                    error,
                    attempt=message.attempt,
                    resigns=resigns,
                    deferrals=message.deferrals,
                    rng=self._rng,
                )
                if decision.action is Action.RESIGN:
                    resigns += 1
                    log.info("job.resign", code=error.code, resigns=resigns)
                    continue
                return self._failed(message, lead_keys, watchdog, lease_id, error, decision, log)
            return self._succeeded(message, lead_keys, watchdog, lease_id, result, log)

    def _renew(
        self,
        message: JobMessage,
        lead_keys: Mapping[str, str],
        lease_id: str,
        *,
        wait_for_cap: bool = True,
    ) -> None:
        # Extend everything this delivery holds: before calling after a long limiter wait, and
        # from the heartbeat during the call (which must not block on a full cap).
        if lease_id and not self.leases.renew(lease_id) and wait_for_cap:
            self.leases.take(lease_id)
        self.results.renew(message.job_id, message.attempt, run_lease_s=self._lease_ttl_s)
        self.ordering.renew(message.job_id, lead_keys, hold_ttl_s=self._lease_ttl_s)
        self.scheduler.defer(message, self._lease_ttl_s + BUSY_RECHECK_MARGIN_S)  # the watchdog

    def _prepared(self, job: SyncLeadJob, log: Any) -> PreparedCall:
        # A call that cannot even be built fails when it is made, as one that is refused would.
        try:
            return _translated(lambda: self._prepare(job), log)
        except MarketoError as error:
            failure = error  # `error` is unbound once the except block ends

            def failed() -> SyncResult:
                raise failure

            return failed

    def _succeeded(
        self,
        message: JobMessage,
        lead_keys: Mapping[str, str],
        watchdog: str,
        lease_id: str,
        result: SyncResult,
        log: Any,
    ) -> Outcome:
        if result.status == "FAILED":
            error = error_info(None, result.error or "syncStatus FAILED")
            return self._dead(
                message, lead_keys, watchdog, lease_id, error, "sync failed", log, result=result
            )

        def finish_failed(error: Exception) -> None:
            # Read at a later delivery: name this one's lead, not the one then in context.
            late = log.bind(lead=lead_summary(lead_keys))
            late.error("job.finish_failed", error=describe_error(error), watchdog_takes_over=True)

        self.transitions.finish(
            message.job_id,
            lead_keys,
            fields=synced_fields(result),
            lease_id=lease_id,
            watchdog=watchdog,
            leave_queues=True,
            outcome=Outcome.SYNCED,
            on_late_error=None if self._confirm_finish else finish_failed,
        )
        log.info("job.synced", lead_id=result.lead_id, sync_status=result.status)
        return Outcome.SYNCED

    def settle(self) -> None:
        """Confirm a finish that `run` left unconfirmed on this thread (see `__init__`)."""
        self.transitions.settle()

    def _failed(
        self,
        message: JobMessage,
        lead_keys: Mapping[str, str],
        watchdog: str,
        lease_id: str,
        exc: MarketoError,
        decision: Decision,
        log: Any,
    ) -> Outcome:
        error = error_info(exc.code, exc.message)
        if decision.action is Action.DEAD:
            return self._dead(message, lead_keys, watchdog, lease_id, error, decision.reason, log)
        retry = decision.action is Action.RETRY
        outcome = Outcome.RETRY_SCHEDULED if retry else Outcome.DEFERRED
        if retry:
            later = message.next(attempt=message.attempt + 1)
            attempts, event = message.attempt, "retry.scheduled"
        else:
            later = message.next(attempt=message.attempt, deferrals=message.deferrals + 1)
            quota = exc.fault_class is FaultClass.QUOTA
            attempts, event = message.attempt - 1, "quota.deferred" if quota else "limit.deferred"
        self.transitions.finish(
            message.job_id,
            lead_keys,
            fields=retrying_fields(attempts, later.attempt, error),
            lease_id=lease_id,
            watchdog=watchdog,
            error=error,
            later=later,
            delay_s=decision.delay_s,
            outcome=outcome,
        )
        log.info(event, delay_s=round(decision.delay_s, 3), reason=decision.reason, code=exc.code)
        return outcome

    def _dead(
        self,
        message: JobMessage,
        lead_keys: Mapping[str, str],
        watchdog: str,
        lease_id: str,
        error: dict[str, Any],
        reason: str,
        log: Any,
        *,
        result: SyncResult | None = None,
    ) -> Outcome:
        errors = [*self.dead_letters.errors(message.job_id), {**error, "at": time.time()}]
        pipe = self._redis.pipeline(transaction=True)
        self.transitions.finish(
            message.job_id,
            lead_keys,
            fields=dead_fields(error, result),
            lease_id=lease_id,
            watchdog=watchdog,
            leave_queues=True,
            outcome=Outcome.DEAD,
            pipeline=pipe,
        )
        self.dead_letters.add(
            message, reason=reason, attempts=message.attempt, errors=errors, pipeline=pipe
        )
        pipe.execute()
        log.warning("job.dead", reason=reason, code=error["code"], error=error["message"])
        return Outcome.DEAD


def _translated(step: Callable[[], T], log: Any) -> T:
    """Run one step of a Marketo call; a failure the client did not translate becomes transient."""
    try:
        return step()
    except MarketoError:
        raise
    except Exception as error:  # the client should translate everything; retry, do not wedge
        log.exception("call.unexpected_error")
        raise TransientError(f"{type(error).__name__}: {error}") from error
