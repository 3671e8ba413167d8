"""The intake's `/metrics`: its own enqueue count and the shared Redis gauges, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.ops.conftest import scrape
from worker.config import Secret, Settings
from worker.intake import IntakeSettings, RunningIntake, create_app, start_in_thread

API_KEY = "ops-key-0123456789"


@pytest.fixture
def intake(redis_url: str, redis_client: redis.Redis) -> Iterator[RunningIntake]:
    settings = Settings(redis_url=redis_url)
    running = start_in_thread(create_app(settings, IntakeSettings(api_keys=(Secret(API_KEY),))))
    yield running
    running.stop()


def test_the_intake_serves_enqueued_jobs_and_queue_gauges_at_metrics(
    intake: RunningIntake,
) -> None:
    url = f"{intake.base_url}/metrics"
    before = scrape(url).get(("leadsync_jobs_enqueued_total", ()), 0.0)
    response = httpx.post(
        f"{intake.base_url}/v1/leads",
        json={"jobs": [{"email": "a@example.com"}, {"email": "b@example.com"}]},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert response.status_code == 202, response.text
    samples = scrape(url)
    assert samples[("leadsync_jobs_enqueued_total", ())] - before == 2
    assert samples[("leadsync_redis_up", ())] == 1
    assert ("leadsync_queue_depth", (("state", "queued"),)) in samples
