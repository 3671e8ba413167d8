"""Retry decisions by Marketo fault class."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from worker.marketo.errors import LimitError, error_for_code
from worker.policy.retry import (
    MARKETO_ZONE,
    MAX_LIMIT_DEFERRALS,
    MAX_RESIGNS,
    QUOTA_MARGIN_S,
    QUOTA_SPREAD_S,
    Action,
    RetryPolicy,
    seconds_until_quota_reset,
)

POLICY = RetryPolicy(base_s=2.0, cap_s=600.0, max_attempts=5, rate_window_s=20.0)


def decide(code: int | None, **context: int) -> object:
    context = {"attempt": 1} | context
    return POLICY.decide(error_for_code(code, "fault"), rng=random.Random(3), **context)


@pytest.mark.parametrize("code", [20012, 20013, 20014, 20017, 20101, 20105, 20110, 29999])
def test_permanent_faults_are_dead_at_once(code: int) -> None:
    decision = decide(code)
    assert decision.action is Action.DEAD and decision.reason == "permanent error"


@pytest.mark.parametrize("code", [None, 10001, 20011])
def test_transient_faults_back_off_until_the_attempts_run_out(code: int | None) -> None:
    first = decide(code, attempt=1)
    assert first.action is Action.RETRY and 0 <= first.delay_s <= 2.0
    assert decide(code, attempt=4).delay_s <= 16.0
    exhausted = decide(code, attempt=5)
    assert exhausted.action is Action.DEAD and exhausted.reason == "retries exhausted"


def test_a_stale_signature_is_re_signed_at_once_a_few_times() -> None:
    decision = decide(20016)
    assert decision.action is Action.RESIGN and decision.delay_s == 0
    assert decide(20016, resigns=MAX_RESIGNS).action is Action.RETRY


def test_limit_faults_wait_briefly_without_counting() -> None:
    rate = decide(20023, attempt=5)
    assert rate.action is Action.DEFER and 20.0 <= rate.delay_s <= 21.0
    concurrency = decide(20024, attempt=5)
    assert concurrency.action is Action.DEFER and 0.5 <= concurrency.delay_s <= 2.0
    assert decide(20024, deferrals=MAX_LIMIT_DEFERRALS).action is Action.RETRY


def test_rest_concurrency_limit_615_waits_briefly_like_20024() -> None:
    rest = POLICY.decide(LimitError("Max concurrent", code=615), attempt=1, rng=random.Random(3))
    assert rest.action is Action.DEFER and 0.5 <= rest.delay_s <= 2.0


def test_the_daily_quota_defers_until_just_after_midnight_in_chicago() -> None:
    now = datetime(2026, 7, 1, 23, 0, tzinfo=MARKETO_ZONE).timestamp()
    decision = POLICY.decide(
        error_for_code(20015, "quota"), attempt=8, now_s=now, rng=random.Random(1)
    )
    assert decision.action is Action.DEFER
    assert 3600 + QUOTA_MARGIN_S <= decision.delay_s <= 3600 + QUOTA_MARGIN_S + QUOTA_SPREAD_S


@pytest.mark.parametrize(
    ("local", "hours"),
    [
        (datetime(2026, 3, 7, 12, 0), 12),  # the night before DST starts
        (datetime(2026, 3, 8, 1, 0), 22),  # the day DST starts is 23 hours long
        (datetime(2026, 11, 1, 1, 0), 24),  # the day DST ends is 25 hours long
    ],
)
def test_the_quota_reset_follows_chicago_daylight_saving(local: datetime, hours: int) -> None:
    now = local.replace(tzinfo=MARKETO_ZONE).timestamp()
    assert seconds_until_quota_reset(now) == hours * 3600
