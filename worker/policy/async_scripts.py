"""Lua scripts on asyncio, sent on redis-py connections directly: the intake's enqueue path.

redis-py's asyncio client wraps every command in its pool's lock and health check, observability
hooks and event dispatch. On the HTTP intake, where each accepted job is one script call, that
bookkeeping cost more CPU than parsing and validating the request. `AsyncScripts` keeps idle
connections of its own, made by the client's pool (so the URL, password, TLS, database and
timeouts are the client's), and sends EVALSHA on them; the reply parsing is redis-py's.

A connection that fails mid-command is closed, never reused: its reply may still be on the way. A
connection that idled may have been closed by the server (a restart, `timeout`): if it fails, the
idle ones are dropped and the call is sent once more on a fresh connection, as redis-py's own
retry would. Scripts are loaded on first NOSCRIPT, so a flushed or restarted server is no error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from typing import Any

import hiredis
import redis.asyncio
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError, NoScriptError

MAX_IDLE_CONNECTIONS = 64


@cache
def script_sha(script: str) -> str:
    """The SHA1 digest Redis names a script by."""
    return hashlib.sha1(script.encode()).hexdigest()


def pack_evalsha(
    connection: Any, script: str, keys: Sequence[str], args: Sequence[Any]
) -> list[bytes]:
    """EVALSHA `script` packed for `connection.send_packed_command`.

    hiredis packs the strings and integers of a script call in a quarter of the time redis-py's
    own packer takes (which re-encodes each argument in Python); a connection set to encode text
    other than as UTF-8 keeps redis-py's packer.
    """
    command = ("EVALSHA", script_sha(script), len(keys), *keys, *args)
    if connection.encoder.encoding.lower().replace("-", "") != "utf8":
        return list(connection.pack_command(*command))
    return [hiredis.pack_command(command)]


class AsyncScripts:
    """Runs Lua scripts for one event loop, on connections to the server of `client`."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._pool = client.connection_pool
        self._idle: list[AbstractConnection] = []
        self._closed = False

    async def run(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """EVALSHA `script` (loading it when the server lacks it); returns the decoded reply."""
        while True:
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else self._pool.make_connection()
            try:
                reply = await _execute(
                    connection, script, pack_evalsha(connection, script, keys, args)
                )
            except ConnectionError:
                await connection.disconnect()
                if not reused:
                    raise
                await self._drop_idle()  # they idled as long as this one did
                continue
            except BaseException:  # a timeout or a cancellation: the reply may still come
                await connection.disconnect()
                raise
            if not self._closed and len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
            else:
                await connection.disconnect()
            return reply

    async def aclose(self) -> None:
        """Close the idle connections; the ones in use close when their calls end."""
        self._closed = True
        await self._drop_idle()

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect()


async def _execute(connection: AbstractConnection, script: str, packed: list[bytes]) -> Any:
    await connection.send_packed_command(packed, check_health=False)
    try:
        return await connection.read_response()
    except NoScriptError:
        await connection.send_command("SCRIPT", "LOAD", script)
        await connection.read_response()
        await connection.send_packed_command(packed, check_health=False)
        return await connection.read_response()
