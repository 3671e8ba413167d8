"""What every intake route shares: the producer connection and the Redis-backed guards.

Routes run on uvicorn's event loop and reach Redis through one `redis.asyncio` client, never a
thread, and enqueue through `AsyncScripts` on connections of that client's server: both are
opened on first use inside the serving loop (their connections belong to that loop; `create_app`
may run in another thread before any loop exists) and closed at shutdown.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

import redis.asyncio
from starlette.requests import Request

from worker.intake.auth import ApiKeys
from worker.intake.once import OnceStore
from worker.intake.ratelimit import ClientRateLimit
from worker.intake.settings import IntakeSettings
from worker.jobs import SyncLeadJob
from worker.policy.async_scripts import AsyncScripts
from worker.producer import Connection, job_status_async, submit_job


class _LoopRedis(NamedTuple):
    """The async client and the guards on it, for the one event loop they were opened in."""

    loop: asyncio.AbstractEventLoop
    client: redis.asyncio.Redis
    scripts: AsyncScripts
    once: OnceStore
    form_rate: ClientRateLimit


class IntakeState:
    """Built once by `create_app`; routes reach it through `request.app.state.intake`."""

    def __init__(self, connection: Connection, settings: IntakeSettings) -> None:
        self.connection = connection
        self.settings = settings
        self.api_keys = ApiKeys(settings.api_keys)
        self._redis: _LoopRedis | None = None

    @property
    def once(self) -> OnceStore:
        """Idempotency keys and the form double-post guard."""
        return self._loop_redis().once

    @property
    def form_rate(self) -> ClientRateLimit:
        """The per-address form post limit."""
        return self._loop_redis().form_rate

    async def enqueue(self, jobs: list[SyncLeadJob]) -> list[str]:
        """Enqueue jobs the job model already accepted, through the producer's one enqueue path."""
        scripts = self._loop_redis().scripts
        return [await submit_job(job, connection=self.connection, scripts=scripts) for job in jobs]

    async def enqueue_once(
        self, key: str, fingerprint: str, job: SyncLeadJob, *, ttl_s: int
    ) -> str:
        """`job`'s id: enqueued by the first request holding `key`, the same id for repeats."""

        async def work() -> dict[str, Any]:
            return {"job_id": (await self.enqueue([job]))[0]}

        result, _ = await self.once.run(key, fingerprint, ttl_s=ttl_s, work=work)
        return str(result["job_id"])

    async def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's status object, as `leadsync status --json` prints it."""
        return await job_status_async(job_id, client=self._loop_redis().client)

    async def ping(self) -> None:
        """Raise `redis.RedisError` unless Redis answers PING."""
        await self._loop_redis().client.ping()

    async def close(self) -> None:
        """Close the async client (at shutdown, in its loop); a later request opens a new one."""
        current, self._redis = self._redis, None
        if current is not None and current.loop is asyncio.get_running_loop():
            await current.scripts.aclose()
            await current.client.aclose()

    def _loop_redis(self) -> _LoopRedis:
        loop = asyncio.get_running_loop()
        current = self._redis
        if current is None or current.loop is not loop:
            client = self.connection.open_async()
            rate = ClientRateLimit(client, self.settings.form_rate_limit)
            current = _LoopRedis(loop, client, AsyncScripts(client), OnceStore(client), rate)
            self._redis = current
        return current


def intake_of(request: Request) -> IntakeState:
    """The app's shared state."""
    state: IntakeState = request.app.state.intake
    return state
