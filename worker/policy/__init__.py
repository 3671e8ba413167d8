"""The sync discipline around each Marketo call: limits, ordering, retries, results, dead letters.

Plain Python over Redis (no Celery), so every policy can be tested without a worker.
"""

from __future__ import annotations

from worker.policy.backoff import compute_backoff
from worker.policy.deadletters import DeadLetters
from worker.policy.leases import ConcurrencyLeases, Lease, lease_ttl_s
from worker.policy.limiter import RateLimiter
from worker.policy.message import Delivery, JobMessage
from worker.policy.ordering import LeadOrdering
from worker.policy.results import Claim, ResultsStore
from worker.policy.retry import Action, Decision, RetryPolicy, seconds_until_quota_reset
from worker.policy.runner import JobRunner, Outcome
from worker.policy.schedule import Scheduler
from worker.policy.submit import enqueue

__all__ = [
    "Action",
    "Claim",
    "ConcurrencyLeases",
    "DeadLetters",
    "Decision",
    "Delivery",
    "JobMessage",
    "JobRunner",
    "LeadOrdering",
    "Lease",
    "Outcome",
    "RateLimiter",
    "ResultsStore",
    "RetryPolicy",
    "Scheduler",
    "compute_backoff",
    "enqueue",
    "lease_ttl_s",
    "seconds_until_quota_reset",
]
