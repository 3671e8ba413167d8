"""Shared plumbing for the benchmarks: a private Valkey, the sandbox, worker processes, draining."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import WorkerProcess  # noqa: E402
from worker.embedded import free_port, launch  # noqa: E402


def private_redis() -> tuple[str, object]:
    """A fresh valkey-server on a free port (never REDIS_URL: benchmarks flush their server)."""
    server = launch(Path(tempfile.mkdtemp(prefix="leadsync-bench-")))
    return server.url, server


def start_noop_worker(
    redis_url: str, log_dir: Path, pool: tuple[str, ...] = ("--concurrency", "1")
) -> subprocess.Popen[bytes]:
    """The baseline Celery worker, with the same pool options as leadsync's."""
    env = dict(os.environ, REDIS_URL=redis_url, PYTHONPATH=str(REPO))
    log = open(log_dir / "noop.log", "wb")  # noqa: SIM115 - lives as long as the worker
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench.noop_app", "worker", *pool,
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "-Q", "noop"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO,
    )  # fmt: skip


def start_leadsync_worker(
    env: dict[str, str], log_dir: Path, pool: tuple[str, ...] = ("--concurrency", "1")
) -> WorkerProcess:
    """`leadsync worker` with the given pool options (one prefork child by default)."""
    worker = WorkerProcess(env, log_path=log_dir / "leadsync.log", options=pool)
    worker.wait_ready()
    return worker


@contextlib.contextmanager
def sandbox_process(*flags: str) -> Iterator[str]:
    """The sandbox in a process of its own (so it never shares a GIL with the measuring loop),
    with Marketo's limits off unless `flags` say otherwise; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.sandbox", "--port", str(port), "--rate-limit", "off",
         "--max-concurrency", "off", "--daily-quota", "off", *flags],
        stdout=subprocess.DEVNULL, cwd=REPO,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base_url}/_sandbox/ping").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_drained(client: redis.Redis, queue: str, total: int, timeout_s: float = 600) -> float:
    """Seconds from the first message taken to the queue and the unacked set both empty."""
    deadline = time.monotonic() + timeout_s
    while client.llen(queue) >= total:
        if time.monotonic() > deadline:
            raise TimeoutError("no message was consumed")
        time.sleep(0.002)
    started = time.perf_counter()
    while client.llen(queue) or client.hlen("unacked"):
        if time.monotonic() > deadline:
            raise TimeoutError("the queue did not drain")
        time.sleep(0.01)
    return time.perf_counter() - started
