"""The queue entry leadsync writes is the one Celery's own `apply_async` writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis

from worker.celery_wire import task_delivery
from worker.config import Settings
from worker.policy.message import JobMessage
from worker.producer import connect

QUEUE = "leadsync-wire-test"
# Per-publish values (a fresh delivery tag, the publishing process and its reply address), and
# argsrepr, which leadsync sets on purpose (the next test).
VARYING = {
    ("properties", "delivery_tag"),
    ("properties", "reply_to"),
    ("headers", "origin"),
    ("headers", "argsrepr"),
}


def comparable(entry: str) -> dict[str, Any]:
    """The entry without its per-publish values, its base64 body decoded."""
    data = json.loads(entry)
    for section, name in VARYING:
        data[section].pop(name)
    data["body"] = json.loads(base64.b64decode(data["body"]))
    return data


def test_the_entry_equals_what_apply_async_puts_on_the_queue(
    redis_url: str, redis_client: redis.Redis
) -> None:
    connect(Settings(redis_url=redis_url, queue=QUEUE))
    from worker.tasks import sync_lead

    message = JobMessage(
        job_id="f" * 32,
        job={"email": "ann@example.com", "attributes": {"Note": "é & <b>"}},
        attempt=2,
        lineage=("e" * 32,),
    )
    delivery = task_delivery(message, QUEUE)
    sync_lead.apply_async(args=[message.to_dict()], task_id=f"{message.job_id}.2")
    [published] = redis_client.lrange(QUEUE, 0, -1)
    assert delivery.queue == QUEUE
    assert comparable(delivery.entry) == comparable(published)


def test_no_lead_data_shows_in_what_flower_and_task_events_display() -> None:
    message = JobMessage(job_id="f" * 32, job={"email": "ann@example.com"})
    headers = json.loads(task_delivery(message, QUEUE).entry)["headers"]
    assert "ann@example.com" not in json.dumps(headers)
    assert headers["argsrepr"] == f"[job {'f' * 32} attempt 1]"
