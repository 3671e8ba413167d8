"""One real sandbox over HTTP for this folder (limits off; tests switch them on at runtime)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from worker.sandbox import RunningSandbox, SandboxConfig, start_in_thread

from .soapkit import Soap


@pytest.fixture(scope="session")
def sandbox_running() -> Iterator[RunningSandbox]:
    """This folder's sandbox: limits off by default (tests switch them on at runtime)."""
    config = SandboxConfig(port=0, rate_limit=None, max_concurrency=None, daily_quota=None)
    with start_in_thread(config) as running:
        yield running


@pytest.fixture
def soap(sandbox_running: RunningSandbox) -> Iterator[Soap]:
    """A client of the sandbox, reset to its startup state before the test."""
    with httpx.Client(timeout=10) as http:
        http.post(f"{sandbox_running.base_url}/_sandbox/reset").raise_for_status()
        yield Soap(sandbox_running, http)
