"""Full-jitter exponential backoff."""

from __future__ import annotations

import random
import statistics

import pytest

from worker.policy.backoff import compute_backoff


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2.0), (2, 4.0), (4, 16.0), (9, 100.0)])
def test_delays_spread_uniformly_below_a_doubling_capped_ceiling(
    attempt: int, ceiling: float
) -> None:
    rng = random.Random(7)
    delays = [compute_backoff(attempt, base_s=2.0, cap_s=100.0, rng=rng) for _ in range(5000)]
    assert all(0 <= delay <= ceiling for delay in delays)
    assert statistics.fmean(delays) == pytest.approx(ceiling / 2, rel=0.05)
    assert max(delays) > 0.95 * ceiling and min(delays) < 0.05 * ceiling


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    assert compute_backoff(10_000, base_s=2.0, cap_s=60.0, rng=random.Random(1)) <= 60.0
