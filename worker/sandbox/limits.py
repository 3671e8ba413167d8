"""Marketo's account-wide limits: rolling rate (20023), in flight (20024), daily quota (20015)."""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .config import SandboxConfig
from .errors import ApiError

#: Marketo's daily quota resets at midnight in this zone.
QUOTA_ZONE = ZoneInfo("America/Chicago")


def next_quota_reset(now: float) -> float:
    """Epoch seconds of the next midnight in America/Chicago."""
    local = datetime.fromtimestamp(now, QUOTA_ZONE)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), QUOTA_ZONE)
    return midnight.timestamp()


class Limits:
    """Admits a call or raises the limit's fault; read the current config on every call."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Empty the rate window, the in-flight count and today's quota count."""
        self._admitted: deque[float] = deque()
        self.in_flight = 0
        self.used_today = 0
        self._quota_resets_at = next_quota_reset(time.time())

    def admit(self, config: SandboxConfig, now: float) -> None:
        """Count one call against every limit that is on, or raise 20015, 20023 or 20024."""
        if config.daily_quota is not None:
            if now >= self._quota_resets_at:
                self.used_today = 0
                self._quota_resets_at = next_quota_reset(now)
            if self.used_today >= config.daily_quota:
                raise ApiError(20015, f"Daily quota of {config.daily_quota} calls exceeded")
        if config.rate_limit is not None:
            calls, window_s = config.rate_limit
            admitted = self._admitted
            while admitted and admitted[0] <= now - window_s:
                admitted.popleft()
            if len(admitted) >= calls:
                raise ApiError(20023, f"More than {calls} calls in the past {window_s:g} seconds")
        if config.max_concurrency is not None and self.in_flight >= config.max_concurrency:
            raise ApiError(20024, f"More than {config.max_concurrency} concurrent calls")
        if config.rate_limit is not None:
            self._admitted.append(now)
        self.used_today += 1
        self.in_flight += 1

    def release(self) -> None:
        """A call that `admit` let in has completed."""
        self.in_flight -= 1
