"""One metrics-serving worker for the package, plus helpers to wait for jobs and read metrics."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import WorkerProcess, worker_environment
from worker.config import Settings
from worker.producer import Connection, connect, job_status


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="package")
def metrics_worker(
    redis_url: str, sandbox_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    """A worker (two pool children) serving Prometheus metrics on a free port."""
    folder = tmp_path_factory.mktemp("w")
    env = worker_environment(
        redis_url,
        sandbox_server.soap_endpoint,
        LEADSYNC_METRICS_PORT=str(free_port()),
        LEADSYNC_METRICS_HOST="127.0.0.1",
        PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"),
    )
    process = WorkerProcess(env, concurrency=2, log_path=folder / "w.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@pytest.fixture
def producer(metrics_worker: WorkerProcess, redis_client: redis.Redis, sandbox: Any) -> Connection:
    """A producer on the worker's Redis, with clean Redis and sandbox state."""
    return connect(Settings.from_env(metrics_worker.env, env_file=None))


def metrics_url(worker: WorkerProcess) -> str:
    """Where the worker serves its metrics."""
    return f"http://127.0.0.1:{worker.env['LEADSYNC_METRICS_PORT']}/metrics"


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample at `url`, keyed by name and sorted labels."""
    response = httpx.get(url, timeout=10, follow_redirects=True)
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def wait_terminal(job_ids: list[str], connection: Connection, timeout_s: float = 30) -> list[dict]:
    """The final statuses of `job_ids`, once all are synced or dead."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        statuses = [job_status(job_id, connection=connection) or {} for job_id in job_ids]
        if all(status.get("state") in {"synced", "dead"} for status in statuses):
            return statuses
        time.sleep(0.05)
    raise AssertionError(f"jobs did not finish: {statuses}")


def add_fault(sandbox: Any, key: str, code: str, count: int = 1) -> None:
    """Script the sandbox to fail the next `count` calls naming `key` with `code`."""
    httpx.post(
        f"{sandbox.base_url}/_sandbox/faults", json={"key": key, "code": code, "count": count}
    ).raise_for_status()
