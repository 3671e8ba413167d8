"""One delivery of a job through the chain of policies around the Marketo call.

claim the attempt -> per-lead ordering -> concurrency lease -> rate-limit booking -> call ->
decide -> record (synced, retry scheduled, deferred or dead letter), releasing every hold on every
exit path. The Celery task builds one `JobRunner` per process and calls `run` for each message.

Deliveries may repeat (broker redelivery, mover crashes, watchdog copies): the attempt claim lets
exactly one run each attempt, so repeats are dropped or looked at again later, never run twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

import redis
import structlog

from worker.config import Settings
from worker.jobs import SyncLeadJob
from worker.marketo.errors import FaultClass, MarketoError, TransientError
from worker.marketo.result import SyncResult
from worker.policy.deadletters import DeadLetters
from worker.policy.leases import ConcurrencyLeases
from worker.policy.leases import lease_ttl_s as default_lease_ttl_s
from worker.policy.limiter import RateLimiter
from worker.policy.message import JobMessage
from worker.policy.ordering import LeadOrdering
from worker.policy.results import Claim, ResultsStore, error_info
from worker.policy.retry import Action, Decision, RetryPolicy
from worker.policy.schedule import Scheduler

ORDER_RECHECK_S = 0.25  # a job waiting behind another on its lead looks again after 1-2x this
BUSY_RECHECK_MARGIN_S = 1.0  # a duplicate delivery looks again this long after the lease ends
RENEW_AFTER_WAIT_S = 5.0  # a limiter wait this long renews the leases and holds before calling


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
        call: Callable[[SyncLeadJob], SyncResult],
        publish: Callable[[JobMessage], None],
        logger: Any = None,
        rng: random.Random | None = None,
        lease_ttl_s: float | None = None,
    ) -> None:
        self._redis = client
        self._call = call
        self._publish = publish
        self._log = logger or structlog.get_logger()
        self._rng = rng or random.Random()
        # One TTL for the run lease, the lead holds and the concurrency lease (tests shorten it).
        self._lease_ttl_s = lease_ttl_s or default_lease_ttl_s(settings)
        self.results = ResultsStore(client, ttl_s=settings.result_ttl_s)
        self.ordering = LeadOrdering(client)
        self.leases = ConcurrencyLeases(
            client, limit=settings.max_concurrency, lease_ttl_s=self._lease_ttl_s
        )
        self.limiter = RateLimiter.from_settings(client, settings)
        self.scheduler = Scheduler(client)
        self.dead_letters = DeadLetters(client, settings)
        self.policy = RetryPolicy.from_settings(settings)

    def run(self, message: JobMessage) -> Outcome:
        """Take one delivery as far as it can go now; never raises for Marketo failures."""
        log = self._log.bind(job_id=message.job_id, attempt=message.attempt)
        claim, left_s = self.results.claim(
            message.job_id, message.attempt, run_lease_s=self._lease_ttl_s
        )
        if claim in (Claim.STALE, Claim.DONE, Claim.MISSING):
            log.info("job.dropped", claim=str(claim))
            return Outcome.DROPPED
        if claim is Claim.BUSY:
            # Maybe a redelivery while the first delivery still runs, maybe its worker just died:
            # look again once its run lease is over (then take over, or find the attempt done).
            self.scheduler.defer(message, left_s + BUSY_RECHECK_MARGIN_S)
            log.info("job.duplicate", recheck_in_s=round(left_s + BUSY_RECHECK_MARGIN_S, 3))
            return Outcome.DUPLICATE
        if claim is Claim.TAKEOVER:
            log.warning("job.takeover")
        # Watchdog: if this delivery never finishes (its worker dies, or Redis fails mid-run and the
        # broker has acknowledged it), this copy comes back after the run lease and takes over.
        self.scheduler.defer(message, self._lease_ttl_s + BUSY_RECHECK_MARGIN_S)
        job = message.sync_job()
        lead_keys = job.lead_keys()
        if not self.ordering.acquire(message.job_id, lead_keys, hold_ttl_s=self._lease_ttl_s):
            delay_s = ORDER_RECHECK_S * (1 + self._rng.random())
            self.scheduler.defer(message, delay_s)
            retrying = message.attempt > 1 or message.deferrals > 0
            self.results.mark_waiting(message.job_id, attempt=message.attempt, retrying=retrying)
            log.info("ordering.wait", delay_s=round(delay_s, 3))
            return Outcome.WAITING
        terminal = False
        try:
            outcome = self._attempt(message, job, lead_keys, log)
            terminal = outcome in (Outcome.SYNCED, Outcome.DEAD)
            self.scheduler.cancel(message)
            return outcome
        finally:
            if not terminal:
                self.ordering.release(message.job_id, lead_keys)

    def _attempt(
        self, message: JobMessage, job: SyncLeadJob, lead_keys: Mapping[str, str], log: Any
    ) -> Outcome:
        resigns = 0
        with self.leases.acquire() as lease:
            while True:
                waited_s = self.limiter.wait()
                if waited_s > 0:
                    log.info("limiter.wait", wait_s=round(waited_s, 3))
                if waited_s >= RENEW_AFTER_WAIT_S:
                    lease.renew()
                    self.results.renew(
                        message.job_id, message.attempt, run_lease_s=self._lease_ttl_s
                    )
                    self.ordering.renew(message.job_id, lead_keys, hold_ttl_s=self._lease_ttl_s)
                    self.scheduler.defer(message, self._lease_ttl_s + BUSY_RECHECK_MARGIN_S)
                try:
                    result = self._safe_call(job, log)
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
                    failure = error
                    break
                else:
                    return self._succeeded(message, lead_keys, result, log)
        return self._failed(message, lead_keys, failure, decision, log)

    def _safe_call(self, job: SyncLeadJob, log: Any) -> SyncResult:
        try:
            return self._call(job)
        except MarketoError:
            raise
        except Exception as error:  # the client should translate everything; retry, do not wedge
            log.exception("call.unexpected_error")
            raise TransientError(f"{type(error).__name__}: {error}") from error

    def _succeeded(
        self, message: JobMessage, lead_keys: Mapping[str, str], result: SyncResult, log: Any
    ) -> Outcome:
        if result.status == "FAILED":
            error = error_info(None, result.error or "syncStatus FAILED")
            return self._dead(message, lead_keys, error, "sync failed", log, result=result)
        pipe = self._redis.pipeline(transaction=True)
        self.results.mark_synced(message.job_id, result, pipeline=pipe)
        self.ordering.unregister(message.job_id, lead_keys, pipeline=pipe)
        self.dead_letters.forget_errors(message.job_id, pipeline=pipe)
        pipe.execute()
        log.info("job.synced", lead_id=result.lead_id, sync_status=result.status)
        return Outcome.SYNCED

    def _failed(
        self,
        message: JobMessage,
        lead_keys: Mapping[str, str],
        exc: MarketoError,
        decision: Decision,
        log: Any,
    ) -> Outcome:
        error = error_info(exc.code, exc.message)
        if decision.action is Action.DEAD:
            return self._dead(message, lead_keys, error, decision.reason, log)
        self.dead_letters.note_error(message.job_id, error)
        if decision.action is Action.RETRY:
            later = message.next(attempt=message.attempt + 1)
            attempts, event = message.attempt, "retry.scheduled"
        else:
            later = message.next(attempt=message.attempt, deferrals=message.deferrals + 1)
            quota = exc.fault_class is FaultClass.QUOTA
            attempts, event = message.attempt - 1, "quota.deferred" if quota else "limit.deferred"
        # Schedule before recording: a crash in between leaves the record running, so the
        # broker's redelivery takes over instead of the job being lost.
        self.scheduler.defer(later, decision.delay_s)
        self.results.mark_retrying(
            message.job_id, attempts=attempts, next_attempt=later.attempt, error=error
        )
        log.info(event, delay_s=round(decision.delay_s, 3), reason=decision.reason, code=exc.code)
        return Outcome.RETRY_SCHEDULED if decision.action is Action.RETRY else Outcome.DEFERRED

    def _dead(
        self,
        message: JobMessage,
        lead_keys: Mapping[str, str],
        error: dict[str, Any],
        reason: str,
        log: Any,
        *,
        result: SyncResult | None = None,
    ) -> Outcome:
        errors = [*self.dead_letters.errors(message.job_id), {**error, "at": time.time()}]
        pipe = self._redis.pipeline(transaction=True)
        self.results.mark_dead(message.job_id, error, result=result, pipeline=pipe)
        self.dead_letters.add(
            message, reason=reason, attempts=message.attempt, errors=errors, pipeline=pipe
        )
        self.ordering.unregister(message.job_id, lead_keys, pipeline=pipe)
        pipe.execute()
        log.warning("job.dead", reason=reason, code=error["code"], error=error["message"])
        return Outcome.DEAD
