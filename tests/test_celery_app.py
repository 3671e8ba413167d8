"""The Celery app's configuration: the Redis URL as Celery's transport spells it."""

from __future__ import annotations

import pytest

from worker.celery_app import REDIS_URL_SETTING, broker_url_for, celery_settings
from worker.config import Settings


@pytest.mark.parametrize(
    ("redis_url", "broker_url"),
    [
        ("redis://127.0.0.1:6380/1", "redis://127.0.0.1:6380/1"),
        ("rediss://:pw@cache.example:6380/0", "rediss://:pw@cache.example:6380/0"),
        ("unix:///run/valkey.sock", "redis+socket:///run/valkey.sock"),
        ("unix://:p%40ss@/run/valkey.sock?db=2", "redis+socket://:p%40ss@/run/valkey.sock?virtual_host=2"),
        ("unix:///run/valkey.sock?db=1&password=pw", "redis+socket:///run/valkey.sock?virtual_host=1&password=pw"),
    ],
)  # fmt: skip
def test_a_unix_socket_url_becomes_kombus_socket_url(redis_url: str, broker_url: str) -> None:
    assert broker_url_for(redis_url) == broker_url


def test_the_workers_own_clients_keep_the_url_as_given() -> None:
    url = "unix:///run/valkey.sock?db=3"
    conf = celery_settings(Settings(redis_url=url), url)
    assert conf["broker_url"] == "redis+socket:///run/valkey.sock?virtual_host=3"
    assert conf[REDIS_URL_SETTING] == url
