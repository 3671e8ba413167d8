"""A job's Celery task message, as Celery's Redis transport stores it on the queue.

Every delivery of a job is written onto the workers' queue by leadsync itself, not by
`apply_async`: a new job's message goes out in the same Redis script that records the job
(`worker.policy.submit`), so enqueueing is one atomic round trip instead of a script and then
Celery's publish path; retries and scheduled messages take the same encoding. The headers come
from Celery itself (`app.amqp.as_task_v2`, protocol 2) and the envelope is kombu's Redis one; a
test holds the result equal to what `apply_async` writes, and every end-to-end test has a real
worker consume it.
"""

from __future__ import annotations

import base64
import json
import uuid

from worker.celery_app import TASK_NAME, app
from worker.policy.message import Delivery, JobMessage


def task_delivery(message: JobMessage, queue: str) -> Delivery:
    """The queue entry that runs `message` as the sync_lead task (priority 0, JSON body)."""
    task_id = f"{message.job_id}.{message.attempt}"
    task = app.amqp.as_task_v2(
        task_id,
        TASK_NAME,
        args=[message.to_dict()],
        kwargs={},
        # What Flower and task events show as the arguments: no lead data.
        argsrepr=f"[job {message.job_id} attempt {message.attempt}]",
        kwargsrepr="{}",
        ignore_result=True,
    )
    body = json.dumps(task.body, separators=(",", ":")).encode()
    entry = {
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": task.headers,
        "properties": {
            **task.properties,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }
    return Delivery(queue=queue, entry=json.dumps(entry, separators=(",", ":")))
