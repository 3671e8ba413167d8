"""Rate limit: 4 worker processes against a sandbox enforcing 50 calls / 5 s, beside Celery's own.

leadsync's global limiter is set to the sandbox's limit; the baseline is a bare Celery task doing
the same SOAP call with Celery's built-in `rate_limit` set to the same rate ("10/s"), which Celery
enforces per worker process, plus the careful variant that divides it by the number of workers,
both retrying limit faults with Celery's own backoff. Each side gets more jobs than the measured
windows can take; achieved = successful calls in the first WINDOWS windows after the first call
÷ (WINDOWS x limit). Targets for leadsync: ratio ≥ 0.97, limit faults 0. Loopback only, bounded.

    python bench/ratelimit.py [--windows 3]

Also the Celery app of the baseline workers (`celery -A bench.ratelimit worker`).
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from celery import Celery

CALLS, WINDOW_S = 50, 5.0
WORKERS = 4
LIMIT_FAULTS = {20023, 20024}
QUEUE = "ratelimit"

app = Celery("ratelimit", broker=os.environ.get("REDIS_URL"))
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
)


@functools.cache
def _client() -> Any:
    from worker.config import Settings
    from worker.marketo import SoapClient

    return SoapClient.from_settings(Settings.from_env(env_file=None))


@app.task(
    bind=True,
    name="bench.soap_sync",
    rate_limit=os.environ.get("BENCH_CELERY_RATE", f"{CALLS / WINDOW_S:g}/s"),
    max_retries=None,
)
def soap_sync(self: Any, job: dict[str, Any]) -> None:
    """The same syncLead call as leadsync's, limited only by Celery's per-worker `rate_limit`."""
    from worker.jobs import validate_job
    from worker.marketo.errors import LimitError, TransientError

    try:
        _client().sync_lead(validate_job(job))
    except (LimitError, TransientError) as error:
        raise self.retry(
            exc=error, countdown=min(WINDOW_S, 0.5 * 2**self.request.retries)
        ) from error


def _sandbox_calls(sandbox: Any) -> list[dict[str, Any]]:
    import httpx

    calls = httpx.get(f"{sandbox.base_url}/_sandbox/calls").json()
    return calls["calls"] if isinstance(calls, dict) else calls


def _measure(sandbox: Any, windows: int, timeout_s: float) -> tuple[float, int]:
    """Wait for the measured windows to pass; returns (achieved ÷ limit, limit faults in them)."""
    deadline = time.monotonic() + timeout_s
    while not _sandbox_calls(sandbox):
        if time.monotonic() > deadline:
            raise TimeoutError("no call reached the sandbox")
        time.sleep(0.05)
    first = _sandbox_calls(sandbox)[0]["received_at"]
    time.sleep(max(0.0, first + windows * WINDOW_S - time.time() + 0.5))
    measured = [c for c in _sandbox_calls(sandbox) if c["received_at"] < first + windows * WINDOW_S]
    ok = sum(1 for call in measured if call["outcome"] in {"CREATED", "UPDATED"})
    faults = sum(1 for call in measured if call["fault_code"] in LIMIT_FAULTS)
    return ok / (windows * CALLS), faults


def _jobs(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {"email": f"{prefix}{n}@example.com", "attributes": {"FirstName": "R"}}
        for n in range(count)
    ]


def leadsync_side(redis_url: str, sandbox: Any, windows: int, log_dir: Path) -> tuple[float, int]:
    """4 `leadsync worker` processes sharing the global limiter."""
    from _stack import WorkerProcess

    from tests.conftest import worker_environment
    from worker.config import Settings
    from worker.producer import connect, enqueue_sync_lead

    env = worker_environment(
        redis_url,
        sandbox.soap_endpoint,
        MARKETO_RATE_LIMIT=f"{CALLS}/{WINDOW_S:g}",
        MARKETO_MAX_CONCURRENCY="10",
    )
    connection = connect(Settings.from_env(env, env_file=None))
    for job in _jobs("ls", (windows + 1) * CALLS):
        enqueue_sync_lead(**job, connection=connection)
    workers = [
        WorkerProcess(env, concurrency=1, log_path=log_dir / f"leadsync{n}.log")
        for n in range(WORKERS)
    ]
    try:
        for worker in workers:
            worker.wait_ready()
        return _measure(sandbox, windows, timeout_s=60)
    finally:
        for worker in workers:
            worker.stop()


def celery_side(
    redis_url: str, sandbox: Any, windows: int, log_dir: Path, rate: str
) -> tuple[float, int]:
    """4 bare Celery workers, each with the task's `rate_limit` set to `rate`."""
    from _stack import REPO

    from tests.conftest import with_group, worker_environment

    env = worker_environment(redis_url, sandbox.soap_endpoint, BENCH_CELERY_RATE=rate)
    app.conf.broker_url = redis_url
    for job in _jobs("cb", (windows + 1) * CALLS):
        soap_sync.apply_async(args=[job])
    workers = []
    try:
        for n in range(WORKERS):
            command = [sys.executable, "-m", "celery", "-A", "bench.ratelimit", "worker",
                       "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip",
                       "--without-mingle", "--hostname", f"bench{n}@%h", "-Q", QUEUE]  # fmt: skip
            log = open(log_dir / f"celery{n}.log", "wb")  # noqa: SIM115 - lives with the worker
            workers.append(
                subprocess.Popen(
                    command,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=REPO,
                )
            )
        return _measure(sandbox, windows, timeout_s=60)
    finally:
        for worker in workers:
            with_group(worker.pid, signal.SIGKILL)
            worker.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=3, help="rate windows measured per side")
    args = parser.parse_args()
    import httpx
    import redis
    from _stack import private_redis

    from worker.sandbox import SandboxConfig, start_in_thread

    log_dir = Path(tempfile.mkdtemp(prefix="leadsync-bench-ratelimit-"))
    url, server = private_redis()
    per_worker = f"{CALLS / WINDOW_S / WORKERS:g}/s"
    sides = [
        ("leadsync global limiter", lambda sb: leadsync_side(url, sb, args.windows, log_dir)),
        (
            f"celery rate_limit={CALLS / WINDOW_S:g}/s",
            lambda sb: celery_side(url, sb, args.windows, log_dir, f"{CALLS / WINDOW_S:g}/s"),
        ),
        (
            f"celery rate_limit={per_worker} (÷{WORKERS})",
            lambda sb: celery_side(url, sb, args.windows, log_dir, per_worker),
        ),
    ]
    config = SandboxConfig(
        port=0, rate_limit=(CALLS, WINDOW_S), max_concurrency=10, latency_ms=30, jitter_ms=20
    )
    rows = []
    try:
        with start_in_thread(config) as sandbox:
            for name, run in sides:
                redis.Redis.from_url(url).flushall()
                httpx.post(f"{sandbox.base_url}/_sandbox/reset").raise_for_status()
                rows.append((name, *run(sandbox)))
    finally:
        server.stop()  # type: ignore[attr-defined]
    print(f"sandbox limit {CALLS} calls / {WINDOW_S:g} s, {WORKERS} worker processes, "
          f"{args.windows} windows measured")  # fmt: skip
    print(f"{'':34} {'achieved ÷ limit':>16} {'limit faults':>13}")
    for name, ratio, faults in rows:
        print(f"{name:34} {ratio:16.3f} {faults:13d}")
    print("targets for leadsync: ratio >= 0.97, limit faults 0")


if __name__ == "__main__":
    main()
