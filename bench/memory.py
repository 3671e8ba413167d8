"""Memory: Redis bytes per finished job record, and worker resident memory over 10,000 jobs.

One leadsync worker process (one prefork child) syncs N jobs against the sandbox (latency and
limits off, limiter off). Prints `MEMORY USAGE` per finished status record beside the size of its
JSON status object (the baseline: the same facts as text), and the pool child's RSS after N/2 and
N jobs. Targets: ≤ 600 bytes per record; ≤ 150 MB per process, no growth from N/2 to N.

    python bench/memory.py [--jobs 10000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _stack import private_redis, start_leadsync_worker

from tests.conftest import worker_environment
from worker.config import Settings
from worker.policy import keys
from worker.producer import connect, enqueue_sync_lead, job_status
from worker.sandbox import SandboxConfig, start_in_thread


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def pool_children(pid: int) -> list[int]:
    """The prefork pool's child processes of a worker."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def wait_synced(connection: object, job_id: str, timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while (job_status(job_id, connection=connection) or {}).get("state") != "synced":  # type: ignore[arg-type]
        if time.monotonic() > deadline:
            raise TimeoutError(job_id)
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    half = args.jobs // 2
    url, server = private_redis()
    config = SandboxConfig(port=0, rate_limit=None, max_concurrency=None, daily_quota=None)
    try:
        with start_in_thread(config) as sandbox:
            env = worker_environment(url, sandbox.soap_endpoint, LEADSYNC_LIMITER="0")
            connection = connect(Settings.from_env(env, env_file=None))
            job_ids = [
                enqueue_sync_lead(
                    email=f"memory{index}@example.com",
                    attributes={"FirstName": "Mem", "LastName": f"Lead {index}"},
                    connection=connection,
                )
                for index in range(args.jobs)
            ]
            worker = start_leadsync_worker(env, Path(tempfile.mkdtemp()))
            try:
                [child] = pool_children(worker.process.pid)
                wait_synced(connection, job_ids[half - 1])
                rss_half = rss_mb(child)
                wait_synced(connection, job_ids[-1])
                rss_full = rss_mb(child)
                main_rss = rss_mb(worker.process.pid)
            finally:
                worker.stop()
            client = connection.redis
            sizes = [client.memory_usage(keys.job(job_id)) or 0 for job_id in job_ids]
            status_json = [
                len(json.dumps(job_status(job_id, connection=connection)))
                for job_id in job_ids[:100]
            ]
    finally:
        server.stop()  # type: ignore[attr-defined]
    per_record = sum(sizes) / len(sizes)
    print(f"jobs                                  {args.jobs}")
    print(f"Redis bytes per finished record       {per_record:8.1f}   (target <= 600)")
    print(f"  baseline: its status object as JSON {sum(status_json) / len(status_json):8.1f}")
    print(f"pool child RSS after {half:>6} jobs     {rss_half:8.1f} MB")
    print(f"pool child RSS after {args.jobs:>6} jobs     {rss_full:8.1f} MB (target <= 150)")
    print(f"growth from half to full              {rss_full - rss_half:8.1f} MB")
    print(f"worker main process RSS               {main_rss:8.1f} MB")


if __name__ == "__main__":
    main()
