"""A real intake (uvicorn in a thread) on the suite's real Redis, and helpers to read the queue."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from worker.config import RateLimit, Secret, Settings
from worker.intake import IntakeSettings, RunningIntake, create_app, load_forms, start_in_thread
from worker.producer import connect

API_KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
QUEUE = "leadsync"
ORIGIN = "https://www.example.com"
THANKS = "https://www.example.com/thanks"
FORM_RATE_CALLS = 5

FORMS_TOML = f"""
[forms.contact]
email_field = "email"
fields = {{ first_name = "FirstName", company = "Company" }}
thank_you_url = "{THANKS}"
allowed_origins = ["{ORIGIN}"]
honeypot = "website"
"""

_addresses = itertools.count(1)


@pytest.fixture(scope="package")
def forms_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The forms config file the intake reads (TOML)."""
    path = tmp_path_factory.mktemp("intake") / "forms.toml"
    path.write_text(FORMS_TOML)
    return path


@pytest.fixture(scope="package")
def intake_settings(forms_file: Path) -> IntakeSettings:
    """Two API keys, the contact form, a small form rate limit and a 1 s double-click window."""
    return IntakeSettings(
        api_keys=(Secret("another-key"), Secret(API_KEY)),
        forms=load_forms(forms_file),
        form_rate_limit=RateLimit(FORM_RATE_CALLS, 60),
        form_dedupe_window_s=2,
    )


@pytest.fixture(scope="package")
def intake(redis_url: str, intake_settings: IntakeSettings) -> Iterator[RunningIntake]:
    """The intake served by uvicorn from a thread, on a free port."""
    settings = Settings(redis_url=redis_url, queue=QUEUE)
    server = start_in_thread(create_app(settings, intake_settings, connect(settings)))
    yield server
    server.stop()


@pytest.fixture
def http(intake: RunningIntake, redis_client: redis.Redis) -> Iterator[httpx.Client]:
    """A client of the running intake, on a flushed Redis; redirects are not followed."""
    with httpx.Client(base_url=intake.base_url, timeout=30) as client:
        yield client


def client_address() -> dict[str, str]:
    """A fresh client address (uvicorn trusts X-Forwarded-For from loopback)."""
    return {"X-Forwarded-For": f"198.51.100.{next(_addresses) % 250 + 1}"}


def queued(client: redis.Redis) -> list[dict[str, Any]]:
    """The job messages waiting in the Celery queue list, oldest first."""
    messages = []
    for raw in reversed(client.lrange(QUEUE, 0, -1)):
        envelope = json.loads(raw)
        args, _, _ = json.loads(base64.b64decode(envelope["body"]))
        messages.append(args[0])
    return messages


@pytest.fixture
def intake_base_url(intake: RunningIntake, redis_client: redis.Redis) -> str:
    """The running intake's URL, on a flushed Redis (for tests that open their own clients)."""
    return intake.base_url
