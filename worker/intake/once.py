"""Do an enqueue at most once per key, even when duplicates arrive at the same moment.

The first request takes the key with an atomic `SET NX` placeholder, enqueues, then replaces the
placeholder with its job ids. A concurrent duplicate sees the placeholder and waits for those ids;
a later one reads them at once. If the first request fails, it removes its own placeholder only.
Runs on the intake's event loop over `redis.asyncio`: a waiting duplicate sleeps without a thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio

from worker.intake.errors import ClientError

PENDING_TTL_S = 60  # a placeholder outlives any one enqueue; frees the key if its holder dies
WAIT_FOR_FIRST_S = 10.0  # how long a duplicate waits for the first request's job ids
POLL_S = 0.02

# KEYS[1] the once-key. ARGV[1] the holder's placeholder. Deletes the key only if still that
# placeholder, so a failed request never removes a key someone else took after it expired.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def fingerprint(value: Any) -> str:
    """A stable digest of JSON-safe content: equal requests, equal fingerprints."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class OnceStore:
    """Keys that remember the first request's result; `fingerprint` tells a reuse from a replay."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._redis = client
        self._release = client.register_script(_RELEASE)

    async def run(
        self,
        key: str,
        fingerprint: str,
        *,
        ttl_s: int,
        work: Callable[[], Awaitable[dict[str, Any]]],
    ) -> tuple[dict[str, Any], bool]:
        """`await work()`'s result and True if first for `key`, else the first one's and False."""
        deadline = time.monotonic() + WAIT_FOR_FIRST_S
        while True:
            placeholder = json.dumps({"fp": fingerprint, "holder": secrets.token_hex(8)})
            if await self._redis.set(key, placeholder, nx=True, ex=PENDING_TTL_S):
                return await self._hold(key, placeholder, fingerprint, ttl_s, work), True
            raw = await self._redis.get(key)
            if raw is None:
                continue  # the first request failed and let go: try to take the key
            record = json.loads(raw)
            if record.get("fp") != fingerprint:
                raise ClientError(
                    422,
                    "this Idempotency-Key was already used with a different request",
                    [("Idempotency-Key", "reuse only with the identical request")],
                )
            if "result" in record:
                return record["result"], False
            if time.monotonic() > deadline:
                raise ClientError(
                    409,
                    "a request with this key is still in progress",
                    [("Idempotency-Key", "retry when the first request has finished")],
                    headers={"Retry-After": "1"},
                )
            await asyncio.sleep(POLL_S)

    async def _hold(
        self,
        key: str,
        placeholder: str,
        fingerprint: str,
        ttl_s: int,
        work: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        try:
            result = await work()
        except BaseException:
            await self._release(keys=[key], args=[placeholder])
            raise
        await self._redis.set(key, json.dumps({"fp": fingerprint, "result": result}), ex=ttl_s)
        return result
