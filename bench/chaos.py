"""Chaos: does leadsync lose or duplicate jobs when workers, Redis or Marketo misbehave?

    python bench/chaos.py            # every scenario
    python bench/chaos.py a c        # some of them; --jobs N scales every job count

Each scenario runs a private Valkey (append-only file, fsync every second), the sandbox as its own
process behind a TCP gate this script can close, and `leadsync worker` processes, then prints
accepted / synced / dead / pending / lost / duplicated once every job is synced or dead, or the
scenario's wait is over. pending = not finished yet but held somewhere that will deliver it again
(leadsync's schedule, the queue, or Celery's unacknowledged set): a job waiting out a long backoff.
lost = not finished and held nowhere, or its record gone. duplicated = extra leads the sandbox holds
for one job's email (every job has its own email). "repeats" counts jobs whose upsert Marketo
applied more than once: harmless for an upsert, listed to show where at-least-once delivery showed
through.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import redis
from _stack import REPO

from tests.conftest import WorkerProcess
from tests.ops.servers import pump
from worker.config import Settings
from worker.embedded import free_port, launch
from worker.policy import ResultsStore, keys
from worker.producer import connect, enqueue_sync_lead
from worker.sandbox import DEFAULT_ENCRYPTION_KEY, DEFAULT_USER_ID

TERMINAL = {"synced", "dead"}
WORKERS = 2
CONCURRENCY = 4
# Short timeouts keep a run short. Leases are the default 30 s (so a killed worker's job is taken
# over about 30 s later); a message lost between the broker and a killed worker is published again
# after LEADSYNC_REQUEUE_AFTER (default one hour, 60 s here so a run sees it). The retry policy is
# the default one (base 2 s, cap 600 s, 12 attempts).
WORKER_ENV = {
    "LEADSYNC_REQUEUE_AFTER": "60",
    "MARKETO_RATE_LIMIT": "2000/1",
    "MARKETO_MAX_CONCURRENCY": "10",
    "MARKETO_TIMEOUT": "5",
    "LEADSYNC_CONNECT_TIMEOUT": "2",
}


class Gate:
    """A TCP forwarder in front of the sandbox: `close()` refuses and cuts every connection."""

    def __init__(self, backend_port: int) -> None:
        self.port = free_port()
        self._backend = backend_port
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        """Accept connections again on the same port."""
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def close(self) -> None:
        """Refuse new connections and cut the open ones (closed ones are skipped): it is down."""
        assert self._listener is not None
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                backend = socket.create_connection(("127.0.0.1", self._backend))
                with self._lock:
                    self._sockets.update((client, backend))
                for pair in ((client, backend), (backend, client)):
                    threading.Thread(target=pump, args=pair, daemon=True).start()


@dataclass
class Stack:
    """Valkey, the sandbox (behind a gate) and worker processes for one scenario."""

    folder: Path
    redis_port: int = field(default_factory=free_port)
    workers: list[WorkerProcess] = field(default_factory=list)
    started: int = 0  # workers started so far: each gets a log file of its own

    def __post_init__(self) -> None:
        self.redis = launch(self.folder / "valkey", port=self.redis_port)
        sandbox_port = free_port()
        self._sandbox_log = open(self.folder / "sandbox.log", "wb")  # noqa: SIM115 - closed in stop
        self.sandbox = subprocess.Popen(
            [sys.executable, "-m", "worker", "sandbox", "--port", str(sandbox_port),
             "--rate-limit", "off", "--max-concurrency", "off", "--daily-quota", "off"],
            env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=self._sandbox_log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        _wait_for(lambda: httpx.get(f"{self.sandbox_url}/_sandbox/ping").status_code == 200)
        self.gate = Gate(sandbox_port)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "LEADSYNC_"))},
            "REDIS_URL": self.redis.url,
            "MARKETO_SOAP_ENDPOINT": f"http://127.0.0.1:{self.gate.port}/soap/mktows/2_3",
            "MARKETO_USER_ID": DEFAULT_USER_ID,
            "MARKETO_ENCRYPTION_KEY": DEFAULT_ENCRYPTION_KEY,
            "PYTHONPATH": str(REPO),
            **WORKER_ENV,
        }
        self.client = redis.Redis.from_url(self.redis.url, decode_responses=True)

    def start_worker(self) -> WorkerProcess:
        """One more `leadsync worker` process with its pool."""
        self.started += 1
        log = self.folder / f"worker-{self.started}.log"
        worker = WorkerProcess(self.env, concurrency=CONCURRENCY, log_path=log)
        worker.wait_ready(timeout_s=60)
        self.workers.append(worker)
        return worker

    def sandbox_config(self, **changes: Any) -> None:
        """Change the sandbox's behaviour at runtime (latency, faults)."""
        httpx.post(f"{self.sandbox_url}/_sandbox/config", json=changes).raise_for_status()

    def stop(self) -> None:
        """Stop every process this stack started."""
        for worker in self.workers:
            worker.stop()
        self.gate.close()
        self.sandbox.terminate()
        self.sandbox.wait(timeout=15)
        self._sandbox_log.close()
        self.client.close()
        self.redis.stop()


@contextlib.contextmanager
def stack(name: str) -> Iterator[Stack]:
    """A fresh stack with its workers started; everything stopped afterwards."""
    running = Stack(Path(tempfile.mkdtemp(prefix=f"leadsync-chaos-{name}-")))
    try:
        for _ in range(WORKERS):
            running.start_worker()
        yield running
    finally:
        running.stop()


def _wait_for(condition: Callable[[], bool], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if condition():
                return
        time.sleep(0.1)
    raise TimeoutError("condition not met")


def enqueue(running: Stack, name: str, count: int) -> list[str]:
    """Accept `count` jobs, one new email each."""
    connection = connect(Settings.from_env(running.env, env_file=None))
    return [
        enqueue_sync_lead(email=f"{name}-{i}@example.com", connection=connection)
        for i in range(count)
    ]


def states(running: Stack, job_ids: list[str]) -> list[dict[str, Any]]:
    """Each job's status object (empty when the record is gone or Redis does not answer)."""
    store = ResultsStore(running.client, ttl_s=3600)
    try:
        return [store.get(job_id) or {} for job_id in job_ids]
    except (redis.ConnectionError, redis.BusyLoadingError):
        return [{} for _ in job_ids]


def count(records: list[dict[str, Any]], state: str) -> int:
    return sum(1 for record in records if record.get("state") == state)


def wait_settled(running: Stack, job_ids: list[str], timeout_s: float) -> list[dict[str, Any]]:
    """Poll until every job is terminal or `timeout_s` passes; returns the last records."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = states(running, job_ids)
        if all(r.get("state") in TERMINAL for r in records) or time.monotonic() > deadline:
            return records
        tally = collections.Counter(r.get("state") for r in records)
        print(f"  {dict(tally)}", file=sys.stderr, flush=True)
        time.sleep(2)


def wait_synced(running: Stack, job_ids: list[str], at_least: int) -> None:
    """Block until `at_least` jobs are synced."""
    _wait_for(lambda: count(states(running, job_ids), "synced") >= at_least, timeout_s=300)


def held(running: Stack) -> set[str]:
    """Ids of the jobs some copy will deliver again: scheduled by leadsync, queued, unacked."""
    client, queue = running.client, Settings.from_env(running.env, env_file=None).queue
    ids = {json.loads(member)["job_id"] for member in client.zrange(keys.SCHEDULE, 0, -1)}
    entries = client.lrange(queue, 0, -1)
    entries += [json.loads(value)[0] for value in client.hvals("unacked")]  # [message, ex, key]
    for entry in entries:
        message = entry if isinstance(entry, dict) else json.loads(entry)
        ids.add(json.loads(base64.b64decode(message["body"]))[0][0]["job_id"])
    return ids


def report(name: str, running: Stack, records: list[dict[str, Any]], **extra: Any) -> None:
    """Print the scenario's line: accepted / synced / dead / pending / lost / duplicated, more."""
    leads = httpx.get(f"{running.sandbox_url}/_sandbox/leads", timeout=60).json()
    leads = leads["leads"] if isinstance(leads, dict) else leads
    per_email = collections.Counter(lead.get("email") for lead in leads)
    calls = httpx.get(f"{running.sandbox_url}/_sandbox/calls", timeout=60).json()
    calls = calls["calls"] if isinstance(calls, dict) else calls
    applied = collections.Counter(
        keys.get("Email")
        for call in calls
        if call.get("outcome") in ("CREATED", "UPDATED")
        for keys in call.get("keys", [])
    )
    missing = sum(1 for r in records if not r)
    unfinished = {r["job_id"] for r in records if r and r.get("state") not in TERMINAL}
    copies = held(running) if unfinished else set()
    figures = {
        "accepted": len(records),
        "synced": count(records, "synced"),
        "dead": count(records, "dead"),
        "pending": len(unfinished & copies),
        "lost": missing + len(unfinished - copies),
        "duplicated": sum(n - 1 for email, n in per_email.items() if email and n > 1),
        "repeats": sum(1 for email, n in applied.items() if email and n > 1),
        **extra,
    }
    print(f"({name}) " + "  ".join(f"{key}={value}" for key, value in figures.items()), flush=True)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def scenario_a(jobs: int) -> None:
    """SIGKILL a whole worker three times during the run, starting a replacement each time."""
    with stack("a") as running:
        job_ids = enqueue(running, "a", jobs)
        recoveries: list[float] = []
        pending: list[tuple[float, list[str]]] = []
        for share in (0.2, 0.45, 0.7):
            wait_synced(running, job_ids, int(jobs * share))
            victim = running.workers[0]
            records = states(running, job_ids)
            running_ids = [j for j, r in zip(job_ids, records, strict=True)
                           if r.get("state") == "running"]  # fmt: skip
            killed_at = time.time()
            victim.kill()
            running.workers.remove(victim)
            victim.stop()
            pending.append((killed_at, running_ids))
            running.start_worker()
        records = wait_settled(running, job_ids, timeout_s=600)
        by_id = dict(zip(job_ids, records, strict=True))
        for killed_at, ids in pending:
            done = [_epoch(by_id[j]["updated_at"]) - killed_at for j in ids if j in by_id]
            recoveries.append(max(done, default=0.0))
        report(
            "a",
            running,
            records,
            recovery_s="/".join(f"{r:.0f}" for r in recoveries),
        )


def scenario_b(jobs: int) -> None:
    """Crash the Redis server (SIGKILL) mid-run and restart it from its append-only file."""
    with stack("b") as running:
        job_ids = enqueue(running, "b", jobs)
        wait_synced(running, job_ids, int(jobs * 0.4))
        before = count(states(running, job_ids), "synced")
        running.redis.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        running.redis.process.wait()  # type: ignore[union-attr]
        time.sleep(2)
        running.redis = launch(running.folder / "valkey", port=running.redis_port)
        after_restart = states(running, job_ids)
        records = wait_settled(running, job_ids, timeout_s=600)
        report(
            "b",
            running,
            records,
            synced_before_crash=before,
            records_missing_after_restart=sum(1 for r in after_restart if not r),
        )


def scenario_c(jobs: int) -> None:
    """The sandbox is down for 30 s, then answers with 20% transient faults."""
    with stack("c") as running:
        running.gate.close()
        job_ids = enqueue(running, "c", jobs)
        time.sleep(30)
        running.sandbox_config(fault_rate=0.2, fault_kinds=["503", "502", "reset", "10001"])
        running.gate.open()
        records = wait_settled(running, job_ids, timeout_s=600)
        report("c", running, records)


def scenario_d(jobs: int) -> None:
    """The sandbox answers slower than the read timeout for 20 s, then normally."""
    with stack("d") as running:
        running.sandbox_config(latency_ms=7000)  # the workers' read timeout is 5 s
        job_ids = enqueue(running, "d", jobs)
        time.sleep(20)
        stuck_midway = sum(1 for r in states(running, job_ids) if r.get("state") == "running")
        running.sandbox_config(latency_ms=0)
        records = wait_settled(running, job_ids, timeout_s=600)
        report("d", running, records, running_during_slowness=stuck_midway)


SCENARIOS = {"a": (scenario_a, 2000), "b": (scenario_b, 1000), "c": (scenario_c, 500),
             "d": (scenario_d, 200)}  # fmt: skip


def main() -> None:
    """Run the chosen scenarios in order, each in a process of its own."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = sorted(SCENARIOS)
    parser.add_argument("scenarios", nargs="*", help=f"some of {', '.join(names)} (default: all)")
    parser.add_argument("--jobs", type=float, default=1.0, help="scale every job count")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.scenarios = args.scenarios or names
    if unknown := set(args.scenarios) - set(names):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.one:  # a child: the producer's Celery app binds to one broker per process
        [name] = args.scenarios
        run, jobs = SCENARIOS[name]
        run(max(1, int(jobs * args.jobs)))
        return
    print(f"workers={WORKERS}x{CONCURRENCY} env={WORKER_ENV}", flush=True)
    for name in args.scenarios:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, __file__, name, "--one", "--jobs", str(args.jobs)], check=False
        )
        print(f"({name}) took {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
