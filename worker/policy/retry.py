"""What to do after a failed call, by Marketo fault class (FACTS.md §5), as a pure decision.

permanent -> dead at once; re-sign (20016) -> call again at once with a fresh signature, not counted
(a few times at most); limit (20023/20024) -> wait for the window or a short jittered moment, not
counted; quota (20015) -> wait until just after midnight America/Chicago, not counted; transient ->
exponential backoff with full jitter until `max_attempts`, then dead ("retries exhausted").
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from worker.config import Settings
from worker.marketo.errors import FaultClass, MarketoError
from worker.policy.backoff import compute_backoff

MARKETO_ZONE = ZoneInfo("America/Chicago")  # the daily quota resets at midnight here
QUOTA_MARGIN_S = 60.0  # wait this long past midnight...
QUOTA_SPREAD_S = 300.0  # ...plus up to this much jitter, so deferred jobs do not all wake at once
MAX_RESIGNS = 3  # re-signed calls within one attempt before 20016 counts as transient
MAX_LIMIT_DEFERRALS = 50  # uncounted limit waits before 20023/20024 count as transient
CONCURRENCY_RETRY_S = (0.5, 2.0)  # 20024: retry after a short jittered moment in this range
RATE_RETRY_SPREAD_S = 1.0  # 20023: retry after the rate window plus up to this much jitter
RATE_LIMIT_CODE, CONCURRENCY_LIMIT_CODE = 20023, 20024
CONCURRENCY_LIMIT_CODES = (CONCURRENCY_LIMIT_CODE, 615)  # SOAP, REST


class Action(StrEnum):
    """The next step for a job whose call failed."""

    DEAD = "dead"  # dead-letter it now
    RESIGN = "re-sign"  # call again at once with a fresh signature (same attempt)
    RETRY = "retry"  # a later delivery, attempt + 1
    DEFER = "defer"  # a later delivery of the same attempt (not counted)


@dataclass(frozen=True, slots=True)
class Decision:
    """An action, its delay and a short reason for logs and dead letters."""

    action: Action
    reason: str
    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff and limits for one deployment; `decide` is pure apart from its `rng`."""

    base_s: float
    cap_s: float
    max_attempts: int
    rate_window_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy set by `LEADSYNC_RETRY_*`, `LEADSYNC_MAX_ATTEMPTS` and the rate limit."""
        return cls(
            base_s=settings.retry_base_s,
            cap_s=settings.retry_cap_s,
            max_attempts=settings.max_attempts,
            rate_window_s=settings.rate_limit.window_s,
        )

    def decide(
        self,
        error: MarketoError,
        *,
        attempt: int,
        resigns: int = 0,
        deferrals: int = 0,
        now_s: float | None = None,
        rng: random.Random | None = None,
    ) -> Decision:
        """The decision for `error` raised by attempt `attempt` (1-based)."""
        rng = rng or random.Random()
        kind = error.fault_class
        if kind is FaultClass.PERMANENT:
            return Decision(Action.DEAD, "permanent error")
        if kind is FaultClass.RESIGN and resigns < MAX_RESIGNS:
            return Decision(Action.RESIGN, "request expired: re-sign")
        if kind is FaultClass.QUOTA:
            now = time.time() if now_s is None else now_s
            delay_s = seconds_until_quota_reset(now) + QUOTA_MARGIN_S
            return Decision(Action.DEFER, "daily quota", delay_s + rng.uniform(0, QUOTA_SPREAD_S))
        if kind is FaultClass.LIMIT and deferrals < MAX_LIMIT_DEFERRALS:
            if error.code in CONCURRENCY_LIMIT_CODES:
                delay_s = rng.uniform(*CONCURRENCY_RETRY_S)
                return Decision(Action.DEFER, "concurrency limit", delay_s)
            delay_s = self.rate_window_s + rng.uniform(0, RATE_RETRY_SPREAD_S)
            return Decision(Action.DEFER, "rate limit", delay_s)
        if attempt >= self.max_attempts:
            return Decision(Action.DEAD, "retries exhausted")
        delay_s = compute_backoff(attempt, base_s=self.base_s, cap_s=self.cap_s, rng=rng)
        return Decision(Action.RETRY, f"{kind} error", delay_s)


def seconds_until_quota_reset(now_s: float) -> float:
    """Seconds from `now_s` (epoch) to the next midnight in America/Chicago, DST included."""
    local = datetime.fromtimestamp(now_s, MARKETO_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
    return midnight.replace(tzinfo=MARKETO_ZONE).timestamp() - now_s
