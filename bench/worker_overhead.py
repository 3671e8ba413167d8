"""Worker overhead: jobs/s of one leadsync worker process beside a bare Celery no-op task.

Both run one prefork child (or the pool given) on the same private Valkey, under the same Celery
configuration, with the queue filled before the worker starts; leadsync's limiter is off and the
sandbox (a process of its own) has latency and limits off, so the figure is the cost of leadsync
itself (records, claim, a signed SOAP call over HTTP through zeep, logs). Target: ratio ≥ 0.5.

The two alternate for `--rounds` rounds, and each round's ratio pairs runs made seconds apart: on
a shared 2-core machine a single pair can swing by ±0.1 with the neighbours' load, so the figure
held against the target is the median of the rounds' ratios (every round is printed too).

    python bench/worker_overhead.py [--jobs 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import redis
from _stack import (
    private_redis,
    sandbox_process,
    start_leadsync_worker,
    start_noop_worker,
    wait_drained,
)

from tests.conftest import with_group, worker_environment
from worker.config import Settings
from worker.producer import connect, enqueue_sync_lead, job_status


def noop_rate(redis_url: str, jobs: int, log_dir: Path, pool: tuple[str, ...]) -> float:
    from bench.noop_app import noop

    noop.app.conf.broker_url = redis_url
    for index in range(jobs):
        noop.apply_async(args=[{"index": index}])
    worker = start_noop_worker(redis_url, log_dir, pool)
    try:
        elapsed = wait_drained(redis.Redis.from_url(redis_url), "noop", jobs)
    finally:
        import signal

        with_group(worker.pid, signal.SIGKILL)
        worker.wait()
    return (jobs - 1) / elapsed


def leadsync_rate(redis_url: str, jobs: int, log_dir: Path, pool: tuple[str, ...]) -> float:
    with sandbox_process() as base_url:
        env = worker_environment(redis_url, f"{base_url}/soap/mktows/2_3", LEADSYNC_LIMITER="0")
        env["MARKETO_TIMEOUT"] = "30"
        connection = connect(Settings.from_env(env, env_file=None))
        job_ids = [
            enqueue_sync_lead(
                email=f"bench{index}@example.com",
                attributes={"FirstName": "Bench", "Company": "Lee & Sons"},
                connection=connection,
            )
            for index in range(jobs)
        ]
        worker = start_leadsync_worker(env, log_dir, pool)
        try:
            elapsed = wait_drained(connection.redis, connection.settings.queue, jobs)
            time.sleep(0.2)
            states = {(job_status(j, connection=connection) or {}).get("state") for j in job_ids}
        finally:
            worker.stop()
    if states != {"synced"}:
        raise SystemExit(f"not every job synced: {states}")
    return (jobs - 1) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--pool", default="--concurrency 1", help="celery worker pool options for both sides"
    )
    args = parser.parse_args()
    pool = tuple(args.pool.split())
    log_dir = Path(tempfile.mkdtemp(prefix="leadsync-bench-logs-"))
    url, server = private_redis()
    print(f"jobs per run {args.jobs}, pool: {args.pool}")
    print(f"{'round':>5}  {'no-op jobs/s':>12}  {'leadsync jobs/s':>15}  {'ratio':>6}")
    ratios = []
    try:
        for round_number in range(1, args.rounds + 1):
            baseline = noop_rate(url, args.jobs, log_dir, pool)
            redis.Redis.from_url(url).flushall()
            ours = leadsync_rate(url, args.jobs, log_dir, pool)
            redis.Redis.from_url(url).flushall()
            ratios.append(ours / baseline)
            print(f"{round_number:>5}  {baseline:12.1f}  {ours:15.1f}  {ratios[-1]:6.2f}")
    finally:
        server.stop()  # type: ignore[attr-defined]
    print(f"ratio, median of {len(ratios)} rounds (target >= 0.5): {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
