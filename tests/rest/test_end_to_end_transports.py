"""The same jobs, results, retries and dead letters over both transports, with real workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.conftest import WorkerProcess, worker_environment
from tests.rest.stack import add_fault, calls, rest_environment, tokens, wait_terminal
from worker.config import Settings
from worker.producer import Connection, connect, enqueue_sync_lead
from worker.sandbox.config import DEFAULT_CLIENT_SECRET

pytestmark = pytest.mark.slow

#: The sandbox operation each transport calls, and how each reports access denied (FACTS §5, §7).
OPERATION = {"soap": "syncLead", "rest": "syncLeads"}
DENIED = {"soap": 20013, "rest": 603}


@pytest.fixture(scope="module", params=["soap", "rest"])
def worker(
    request: pytest.FixtureRequest,
    redis_url: str,
    sandbox_server: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    """One worker process per transport, both against the session's sandbox."""
    if request.param == "rest":
        env = rest_environment(redis_url, sandbox_server)
    else:
        env = worker_environment(redis_url, sandbox_server.soap_endpoint)
    log_path = tmp_path_factory.mktemp(request.param) / "worker.log"
    with WorkerProcess(env, concurrency=2, log_path=log_path) as process:
        yield process


@pytest.fixture
def api(worker: WorkerProcess) -> str:
    return worker.env.get("MARKETO_API", "soap")


@pytest.fixture
def producer(worker: WorkerProcess, redis_client: redis.Redis, sandbox: Any) -> Connection:
    return connect(Settings.from_env(worker.env, env_file=None))


def test_a_new_email_is_created_then_updated_with_the_same_lead_id(
    producer: Connection, sandbox: Any, api: str
) -> None:
    first = wait_terminal(enqueue_sync_lead(email="ann@example.com", connection=producer), producer)
    job = enqueue_sync_lead(
        email="ann@example.com", attributes={"LastName": "Lee"}, connection=producer
    )
    second = wait_terminal(job, producer)
    assert (first["state"], first["sync_status"], first["attempts"]) == ("synced", "CREATED", 1)
    assert (second["sync_status"], second["lead_id"]) == ("UPDATED", first["lead_id"])
    assert len(calls(sandbox, OPERATION[api])) == 2


def test_a_transient_fault_ends_synced_after_a_retry(
    producer: Connection, sandbox: Any, api: str
) -> None:
    add_fault(sandbox, "flaky@example.com", "503")
    status = wait_terminal(
        enqueue_sync_lead(email="flaky@example.com", connection=producer), producer
    )
    assert (status["state"], status["attempts"]) == ("synced", 2)


def test_a_permanent_fault_ends_dead_with_its_code_and_a_dead_letter(
    producer: Connection, sandbox: Any, api: str, redis_client: redis.Redis
) -> None:
    add_fault(sandbox, "denied@example.com", "20013")
    job_id = enqueue_sync_lead(email="denied@example.com", connection=producer)
    status = wait_terminal(job_id, producer)
    assert (status["state"], status["attempts"]) == ("dead", 1)
    assert status["error"]["code"] == DENIED[api]
    assert redis_client.exists(f"leadsync:dead:{job_id}")


def test_logs_carry_the_job_but_never_a_secret_or_the_token(
    producer: Connection, worker: WorkerProcess, api: str, redis_client: redis.Redis
) -> None:
    job_id = enqueue_sync_lead(email="logged@example.com", connection=producer)
    assert wait_terminal(job_id, producer)["state"] == "synced"
    shared_tokens = [redis_client.get(key) for key in redis_client.keys("leadsync:rest:token:*")]
    logs = worker.logs()
    assert job_id in logs
    for secret in [DEFAULT_CLIENT_SECRET, *shared_tokens]:
        assert secret is None or secret not in logs


def test_concurrent_rest_workers_fetch_one_token_and_renew_it_once_on_602_and_601(
    producer: Connection,
    worker: WorkerProcess,
    sandbox: Any,
    api: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    if api != "rest":
        pytest.skip("the SOAP transport has no token")
    second = WorkerProcess(worker.env, concurrency=2, log_path=tmp_path_factory.mktemp("w2") / "l")
    try:
        second.wait_ready()
        for round_number, expiry in enumerate([None, "expire", "revoke"], start=1):
            if expiry is not None:
                tokens(sandbox, **{expiry: True})
            jobs = [
                enqueue_sync_lead(email=f"t{round_number}-{i}@example.com", connection=producer)
                for i in range(12)
            ]
            assert {wait_terminal(job, producer)["state"] for job in jobs} == {"synced"}
            assert len(calls(sandbox, "token")) == round_number
    finally:
        second.stop()
    refused = {c["fault_code"] for c in calls(sandbox, "syncLeads") if c["fault_code"]}
    assert refused == {601, 602}
