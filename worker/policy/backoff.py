"""Exponential backoff with full jitter, as a pure function."""

from __future__ import annotations

import random


def compute_backoff(
    attempt: int, *, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based), uniform in [0, ceiling].

    The ceiling is min(cap_s, base_s · 2^(attempt-1)).

    Full jitter spreads retries of many jobs that failed together (AWS Architecture Blog,
    "Exponential Backoff And Jitter").
    """
    ceiling = min(cap_s, base_s * 2 ** min(max(0, attempt - 1), 62))
    return (rng or random).uniform(0.0, ceiling)
