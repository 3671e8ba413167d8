"""Policy tests share the suite's real Valkey (tests/conftest.py), flushed before each test."""

from __future__ import annotations

import pytest
import redis

from worker.config import RateLimit, Settings
from worker.policy.message import JobMessage


@pytest.fixture
def rds(redis_client: redis.Redis) -> redis.Redis:
    """The suite's flushed client, under the short name these tests use."""
    return redis_client


@pytest.fixture
def settings() -> Settings:
    """Settings with small numbers so tests run fast."""
    return Settings(
        rate_limit=RateLimit(1000, 1.0),
        max_concurrency=5,
        read_timeout_s=2.0,
        connect_timeout_s=1.0,
        retry_base_s=0.01,
        retry_cap_s=0.05,
        max_attempts=3,
        dead_max_count=100,
    )


@pytest.fixture
def published() -> list[JobMessage]:
    """What the code under test published to the broker."""
    return []
