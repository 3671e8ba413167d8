"""The whole path: producer → Redis → Celery worker process → sandbox over HTTP → results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import REPO, WorkerProcess, worker_environment
from worker.config import Settings
from worker.jobs import InvalidJob
from worker.producer import Connection, connect, enqueue_sync_lead, job_status
from worker.sandbox import DEFAULT_ENCRYPTION_KEY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker(
    redis_url: str, sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """One worker process (two pool children) for the module, wired to the sandbox."""
    env = worker_environment(redis_url, sandbox_server.soap_endpoint)
    with WorkerProcess(env, concurrency=2, log_path=tmp_path_factory.mktemp("w") / "w.log") as w:
        yield w


@pytest.fixture
def stack(worker: WorkerProcess) -> dict[str, str]:
    """The environment the module's worker runs with."""
    return worker.env


@pytest.fixture
def producer(stack: dict[str, str], redis_client: redis.Redis, sandbox: Any) -> Connection:
    return connect(Settings.from_env(stack, env_file=None))


def wait_terminal(job_id: str, connection: Connection, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = job_status(job_id, connection=connection)
        if status and status["state"] in {"synced", "dead"}:
            return status
        time.sleep(0.05)
    raise AssertionError(
        f"job {job_id} did not finish: {job_status(job_id, connection=connection)}"
    )


def sandbox_leads(sandbox: Any) -> list[dict[str, Any]]:
    leads = httpx.get(f"{sandbox.base_url}/_sandbox/leads").json()
    return leads["leads"] if isinstance(leads, dict) else leads


def add_fault(sandbox: Any, key: str, code: str, count: int = 1) -> None:
    httpx.post(
        f"{sandbox.base_url}/_sandbox/faults",
        json={"key": key, "code": code, "count": count},
    ).raise_for_status()


def test_a_new_email_is_created_then_updated_with_the_same_lead_id(producer: Connection) -> None:
    first = wait_terminal(enqueue_sync_lead(email="ann@example.com", connection=producer), producer)
    assert first["state"] == "synced"
    assert first["sync_status"] == "CREATED"
    assert isinstance(first["lead_id"], int)
    assert first["attempts"] == 1 and first["error"] is None
    again = enqueue_sync_lead(
        email="ann@example.com", attributes={"FirstName": "Ann"}, connection=producer
    )
    second = wait_terminal(again, producer)
    assert (second["sync_status"], second["lead_id"]) == ("UPDATED", first["lead_id"])


def test_values_with_xml_metacharacters_and_non_ascii_arrive_intact(
    producer: Connection, sandbox: Any
) -> None:
    value = "Lee & <Sons> \"quoted\" 'single' — José 李 🚀"
    job_id = enqueue_sync_lead(
        email="meta@example.com", attributes={"Company": value, "FirstName": "Zoë"},
        connection=producer,
    )  # fmt: skip
    assert wait_terminal(job_id, producer)["state"] == "synced"
    [lead] = [lead for lead in sandbox_leads(sandbox) if lead["email"] == "meta@example.com"]
    assert lead["attributes"] == {"Company": value, "FirstName": "Zoë"}


def test_invalid_input_is_refused_and_nothing_is_queued(
    producer: Connection, redis_client: redis.Redis
) -> None:
    with pytest.raises(InvalidJob, match="email: must be an email address"):
        enqueue_sync_lead(email="not-an-email", connection=producer)
    assert redis_client.llen(producer.settings.queue) == 0
    assert redis_client.keys("leadsync:*") == []


def test_worker_logs_are_json_lines_carrying_the_job_context(
    producer: Connection, worker: WorkerProcess
) -> None:
    job_id = enqueue_sync_lead(email="logged@example.com", connection=producer)
    wait_terminal(job_id, producer)
    time.sleep(0.3)
    lines = [json.loads(line) for line in worker.logs().splitlines() if line.startswith("{")]
    assert any(line["logger"].startswith("celery") for line in lines)
    mine = [line for line in lines if job_id in json.dumps(line)]
    assert mine
    for line in mine:
        assert (line["job_id"], line["attempt"]) == (job_id, 1)
        assert line["lead"] == "email=l***@example.com"
    [synced] = [line for line in mine if line["event"] == "job.synced"]
    assert synced["sync_status"] == "CREATED"
    assert "logged@example.com" not in worker.logs()
    assert DEFAULT_ENCRYPTION_KEY not in worker.logs()


def test_the_worker_sends_task_events_for_flower(producer: Connection) -> None:
    from worker.celery_app import app

    seen: list[dict[str, Any]] = []

    def record(event: dict[str, Any]) -> None:
        seen.append(event)
        if event["type"] == "task-succeeded":
            receiver.should_stop = True

    with app.connection_for_read() as connection:
        receiver = app.events.Receiver(connection, handlers={"*": record})
        # The event queue exists only while capturing: start listening before enqueueing.
        listener = threading.Thread(
            target=receiver.capture, kwargs={"timeout": 20, "wakeup": False}
        )
        listener.start()
        time.sleep(0.5)
        job_id = enqueue_sync_lead(email="events@example.com", connection=producer)
        listener.join(timeout=25)
    types = {event["type"] for event in seen if str(event.get("uuid", "")).startswith(job_id)}
    assert {"task-received", "task-started", "task-succeeded"} <= types


def test_a_transient_fault_ends_synced_after_a_retry(producer: Connection, sandbox: Any) -> None:
    add_fault(sandbox, "flaky@example.com", "503")
    status = wait_terminal(
        enqueue_sync_lead(email="flaky@example.com", connection=producer), producer
    )
    assert status["state"] == "synced"
    assert status["attempts"] == 2


def test_a_permanent_fault_ends_dead_with_its_code(producer: Connection, sandbox: Any) -> None:
    add_fault(sandbox, "denied@example.com", "20013")
    status = wait_terminal(
        enqueue_sync_lead(email="denied@example.com", connection=producer), producer
    )
    assert status["state"] == "dead"
    assert status["attempts"] == 1
    assert status["error"]["code"] == 20013


def leadsync(
    *args: str, env: dict[str, str], cwd: Path, timeout_s: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
    )  # fmt: skip


def test_cli_enqueue_then_status_shows_synced(
    stack: dict[str, str], redis_client: redis.Redis, sandbox: Any, tmp_path: Path
) -> None:
    done = leadsync(
        "enqueue", "--email", "cli@example.com", "--attr", "FirstName=Ann", env=stack, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.splitlines()[0]
    deadline = time.monotonic() + 30
    while True:
        status = json.loads(leadsync("status", job_id, "--json", env=stack, cwd=tmp_path).stdout)
        if status["state"] == "synced" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["state"] == "synced"
    assert status["lead_id"] > 0


def test_cli_enqueue_refuses_bad_input_with_exit_2(
    stack: dict[str, str], redis_client: redis.Redis, tmp_path: Path
) -> None:
    done = leadsync(
        "enqueue",
        "--email",
        "a@example.com",
        "--attr",
        "A=1",
        "--attr",
        "A=2",
        env=stack,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "attributes" in done.stderr and "more than once" in done.stderr
    assert done.stdout == ""
    assert redis_client.llen("leadsync") == 0


def test_demo_syncs_its_sample_leads_on_embedded_defaults(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADSYNC_", "REDIS_"))
    }
    env["PYTHONPATH"] = str(REPO)
    done = leadsync("demo", env=env, cwd=tmp_path, timeout_s=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("synced") == 5
    assert (tmp_path / ".leadsync" / "valkey" / "appendonlydir").is_dir()
