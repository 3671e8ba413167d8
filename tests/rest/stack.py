"""Helpers shared by the REST and bridge tests: worker environments and sandbox inspection."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.conftest import worker_environment
from worker.producer import Connection, job_status
from worker.sandbox.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

TERMINAL = {"synced", "dead"}


def rest_environment(redis_url: str, sandbox: Any, **extra: str) -> dict[str, str]:
    """A worker environment calling the sandbox over REST (the SOAP variables stay set too)."""
    return worker_environment(
        redis_url,
        sandbox.soap_endpoint,
        MARKETO_API="rest",
        MARKETO_REST_ENDPOINT=f"{sandbox.base_url}/rest",
        MARKETO_REST_IDENTITY_URL=f"{sandbox.base_url}/identity",
        MARKETO_CLIENT_ID=DEFAULT_CLIENT_ID,
        MARKETO_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        **extra,
    )


def wait_terminal(job_id: str, connection: Connection, timeout_s: float = 30) -> dict[str, Any]:
    """The job's status once it is synced or dead."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = job_status(job_id, connection=connection)
        if status and status["state"] in TERMINAL:
            return status
        time.sleep(0.05)
    status = job_status(job_id, connection=connection)
    raise AssertionError(f"job {job_id} did not finish: {status}")


def calls(sandbox: Any, operation: str | None = None) -> list[dict[str, Any]]:
    """The sandbox's call log since its last reset, optionally of one operation."""
    entries = httpx.get(f"{sandbox.base_url}/_sandbox/calls").json()
    return [e for e in entries if operation is None or e["operation"] == operation]


def add_fault(sandbox: Any, key: str, code: str, count: int = 1) -> None:
    """Script the next `count` calls naming `key` to fail with `code`."""
    body = {"key": key, "code": code, "count": count}
    httpx.post(f"{sandbox.base_url}/_sandbox/faults", json=body).raise_for_status()


def configure(sandbox: Any, **changes: Any) -> None:
    """Change the sandbox's config at runtime."""
    httpx.post(f"{sandbox.base_url}/_sandbox/config", json=changes).raise_for_status()


def tokens(sandbox: Any, **action: bool) -> None:
    """Expire (`expire=True`, 602) or revoke (`revoke=True`, 601) every issued token."""
    httpx.post(f"{sandbox.base_url}/_sandbox/rest/tokens", json=action).raise_for_status()
