"""Real servers for the whole suite: the embedded Valkey, the sandbox, Celery worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker.embedded import launch

REPO = Path(__file__).resolve().parents[1]
SHARED_MARKETO = REPO.parent / "shared" / "marketo"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis-protocol server: TEST_REDIS_URL, else a valkey-server on a free port."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    server = launch(tmp_path_factory.mktemp("valkey"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on a flushed database, so every test starts clean."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


class WorkerProcess:
    """`leadsync worker` in a subprocess of its own process group, stopped and reaped on exit."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        concurrency: int = 2,
        log_path: Path,
        options: tuple[str, ...] | None = None,
    ) -> None:
        self.env = env
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker", "worker",
             *(options or ("--concurrency", str(concurrency))),
             "--without-gossip", "--without-mingle"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def __enter__(self) -> WorkerProcess:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Block until the worker logs that it is ready."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if b"ready" in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children)."""
        with_group(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL anything left in the process group."""
        if self.process.poll() is None:
            with_group(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with_group(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        self._log.close()

    def logs(self) -> str:
        """Everything the worker printed so far."""
        return self.log_path.read_text(errors="replace")


def with_group(pid: int, sig: signal.Signals) -> None:
    """Signal a process group, ignoring one that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[object]:
    """The Marketo sandbox over real HTTP on a free port, for the whole session."""
    from worker.sandbox import SandboxConfig, start_in_thread

    with start_in_thread(SandboxConfig(port=0)) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: object) -> Iterator[object]:
    """The session's sandbox, emptied (leads, calls, faults) before each test."""
    import httpx

    httpx.post(f"{sandbox_server.base_url}/_sandbox/reset").raise_for_status()  # type: ignore[attr-defined]
    yield sandbox_server


def worker_environment(redis_url: str, soap_endpoint: str, **extra: str) -> dict[str, str]:
    """The environment of a worker wired to a test Redis and the sandbox, with quick retries."""
    from worker.sandbox import DEFAULT_ENCRYPTION_KEY, DEFAULT_USER_ID

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADSYNC_"))}
    env.update(
        REDIS_URL=redis_url,
        MARKETO_SOAP_ENDPOINT=soap_endpoint,
        MARKETO_USER_ID=DEFAULT_USER_ID,
        MARKETO_ENCRYPTION_KEY=DEFAULT_ENCRYPTION_KEY,
        MARKETO_TIMEOUT="5",
        LEADSYNC_CONNECT_TIMEOUT="2",
        LEADSYNC_RETRY_BASE="0.05",
        LEADSYNC_RETRY_CAP="0.5",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env
