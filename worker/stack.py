"""`leadsync run` and `leadsync demo`: the all-in-one stack on embedded defaults.

Embedded Valkey when REDIS_URL is unset, the built-in sandbox when no Marketo endpoint is
configured, and one worker process; everything stops with the command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from worker.config import Secret, Settings
from worker.embedded import ensure_embedded

TERMINAL_STATES = {"synced", "dead"}
DEMO_TIMEOUT_S = 60.0
DEMO_LEADS = Path(__file__).with_name("demo_leads.json")


@contextlib.contextmanager
def _stack(settings: Settings) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Embedded Redis if needed, the sandbox if no endpoint: yields settings and worker env."""
    env = dict(os.environ)
    sandbox = None
    if not settings.redis_url:
        settings = settings.with_overrides(redis_url=ensure_embedded(settings.state_dir).url)
    env["REDIS_URL"] = str(settings.redis_url)
    try:
        if not settings.endpoint:
            sandbox, settings = _start_sandbox(settings, env)
        wired = {
            "MARKETO_SOAP_ENDPOINT": settings.soap_endpoint,
            "MARKETO_USER_ID": settings.user_id,
            "MARKETO_ENCRYPTION_KEY": settings.encryption_key.reveal(),
            "MARKETO_REST_ENDPOINT": settings.rest_endpoint,
            "MARKETO_REST_IDENTITY_URL": settings.rest_identity_url,
            "MARKETO_CLIENT_ID": settings.client_id,
            "MARKETO_CLIENT_SECRET": settings.client_secret.reveal(),
        }
        env.update({name: value for name, value in wired.items() if value})
        yield settings, env
    finally:
        if sandbox is not None:
            sandbox.stop()


def _start_sandbox(settings: Settings, env: dict[str, str]) -> tuple[Any, Settings]:
    """The built-in sandbox on a free port, with its SOAP and REST credentials wired in."""
    from worker.sandbox import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_ENCRYPTION_KEY,
        DEFAULT_USER_ID,
        SandboxConfig,
        start_in_thread,
    )
    from worker.sandbox.rest_leads import FSP_FIELD

    sandbox = start_in_thread(SandboxConfig(host="127.0.0.1", port=0))
    settings = settings.with_overrides(
        soap_endpoint=sandbox.soap_endpoint,
        rest_endpoint=f"{sandbox.base_url}/rest",
        rest_identity_url=f"{sandbox.base_url}/identity",
    )
    if not settings.user_id:
        settings = settings.with_overrides(
            user_id=DEFAULT_USER_ID, encryption_key=Secret(DEFAULT_ENCRYPTION_KEY)
        )
    if not settings.client_id:
        settings = settings.with_overrides(
            client_id=DEFAULT_CLIENT_ID, client_secret=Secret(DEFAULT_CLIENT_SECRET)
        )
    # The sandbox's REST face keeps ForeignSysPersonId in this field; a real instance names its
    # own custom field in LEADSYNC_REST_FSP_FIELD.
    env.setdefault("LEADSYNC_REST_FSP_FIELD", FSP_FIELD)
    print(f"sandbox: {sandbox.soap_endpoint} (REST {sandbox.base_url}/rest)", file=sys.stderr)
    return sandbox, settings


@contextlib.contextmanager
def _worker_process(
    env: dict[str, str], *extra: str, log_path: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "worker", "worker", *extra]
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(open(log_path, "ab")) if log_path else None
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cmd_run(_: argparse.Namespace) -> int:
    """Foreground all-in-one; Ctrl-C stops everything."""
    with _stack(Settings.from_env()) as (settings, env), _worker_process(env) as process:
        print(f"redis: {settings.redis_url}", file=sys.stderr)
        try:
            return process.wait()
        except KeyboardInterrupt:
            return 0


def cmd_demo(_: argparse.Namespace) -> int:
    """Sync the sample leads end to end, print a table, exit 0 when all synced."""
    from worker.producer import connect, enqueue_sync_lead, job_status

    leads = json.loads(DEMO_LEADS.read_text(encoding="utf-8"))
    settings = Settings.from_env()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.state_dir / "demo-worker.log"
    print(f"worker log: {log_path}", file=sys.stderr)
    with (
        _stack(settings) as (settings, env),
        _worker_process(env, "--concurrency", "2", log_path=log_path) as process,
    ):
        connection = connect(settings)
        job_ids = [enqueue_sync_lead(connection=connection, **lead) for lead in leads]
        deadline = time.monotonic() + DEMO_TIMEOUT_S
        statuses: list[dict[str, Any]] = []
        while time.monotonic() < deadline and process.poll() is None:
            statuses = [job_status(job_id, connection=connection) or {} for job_id in job_ids]
            if all(status.get("state") in TERMINAL_STATES for status in statuses):
                break
            time.sleep(0.2)
    _print_table(leads, statuses)
    return 0 if statuses and all(s.get("state") == "synced" for s in statuses) else 1


def _print_table(leads: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> None:
    rows = [("lead", "job id", "state", "status", "lead id", "attempts")]
    for lead, status in zip(leads, statuses, strict=False):
        rows.append(
            (
                lead.get("email") or lead.get("foreign_sys_person_id") or "?",
                str(status.get("job_id", "")),
                str(status.get("state", "")),
                str(status.get("sync_status") or "-"),
                str(status.get("lead_id") or "-"),
                str(status.get("attempts", "")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
