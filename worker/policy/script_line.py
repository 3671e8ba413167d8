"""Lua scripts on one redis-py connection per thread, in order, with replies that can wait.

A synced delivery's finish script needs no answer before the worker takes its next job: what
guarantees the job is the watchdog copy that the script cancels, not the reply. `send` writes a
call and returns; its reply is read before the thread's next call (the next delivery's begin,
whose reply is behind it on the same connection anyway) or by `settle`, and a failure found in it
is handed to the sender's `on_error` then. One connection carries a thread's calls, so Redis runs
them in the order they were made: a begin never overtakes the finish before it. A script is
loaded on a connection before it is first sent without waiting; should the server still answer
NOSCRIPT (SCRIPT FLUSH), the call is mended when its reply is read: the script is loaded and sent
again. At most one reply is ever unread, so the mended call keeps its place.

Connections are made by the client's pool, so the URL, password, TLS, database and timeouts are
the client's. A connection that fails is closed, and a reply still unread on it is reported to its
`on_error` as that failure. A call on a connection that had been used before is sent once
more on a fresh one when the connection turns out to be broken (a server restart or `timeout`),
as redis-py's own retry would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.connection import ConnectionInterface
from redis.exceptions import ConnectionError, NoScriptError

from worker.policy.async_scripts import pack_evalsha, script_sha

ErrorHandler = Callable[[Exception], None]


@dataclass(frozen=True, slots=True)
class _Sent:
    script: str
    packed: list[bytes]
    on_error: ErrorHandler


class _Line(threading.local):
    connection: ConnectionInterface | None = None
    used = False  # carried a call before: it may have gone stale while idle
    loaded: frozenset[str] = frozenset()  # scripts known to the server since it connected
    unread: _Sent | None = None


class ScriptLine:
    """Runs Lua scripts on one connection per thread to the server of `client`, in order."""

    def __init__(self, client: redis.Redis) -> None:
        self._pool = client.connection_pool
        self._line = _Line()

    def call(
        self,
        script: str,
        keys: Sequence[str],
        args: Sequence[Any],
        *,
        meanwhile: Callable[[], None] | None = None,
    ) -> Any:
        """EVALSHA `script` and return its decoded reply (earlier unread replies read first);
        `meanwhile` runs once while the server works on it."""
        self.settle()
        return self._send(script, keys, args, wait=True, meanwhile=meanwhile)

    def send(
        self, script: str, keys: Sequence[str], args: Sequence[Any], *, on_error: ErrorHandler
    ) -> None:
        """EVALSHA `script` without waiting; a failure is passed to `on_error` when found."""
        self.settle()
        self._send(script, keys, args, wait=False, on_error=on_error)

    def settle(self) -> None:
        """Read this thread's unread reply, if any, reporting a failure to its sender."""
        line = self._line
        sent = line.unread
        if sent is None:
            return
        assert line.connection is not None
        try:
            reply = _read(line.connection, sent.script, sent.packed)
        except ConnectionError as error:
            self._break(error)
            return
        except Exception as error:  # a script error: the connection itself is fine
            reply = error
        line.unread = None
        if isinstance(reply, Exception):
            sent.on_error(reply)

    def close(self) -> None:
        """Settle this thread's calls and close its connection."""
        self.settle()
        if self._line.connection is not None:
            self._line.connection.disconnect()
            self._line.connection = None

    def _send(
        self,
        script: str,
        keys: Sequence[str],
        args: Sequence[Any],
        *,
        wait: bool,
        on_error: ErrorHandler | None = None,
        meanwhile: Callable[[], None] | None = None,
    ) -> Any:
        line = self._line
        while True:
            if line.connection is None:
                line.connection, line.used = self._pool.make_connection(), False
                line.loaded = frozenset()
            connection, reused = line.connection, line.used
            sha = script_sha(script)
            packed = pack_evalsha(connection, script, keys, args)
            try:
                if not wait and sha not in line.loaded:
                    # Loaded first, so a reply nobody waits for is not a NOSCRIPT to mend later.
                    connection.send_command("SCRIPT", "LOAD", script)
                    connection.read_response()
                    line.loaded |= {sha}
                connection.send_packed_command(packed, check_health=False)
                line.used = True
                if not wait:
                    assert on_error is not None
                    line.unread = _Sent(script, packed, on_error)
                    return None
                if meanwhile is not None:
                    try:
                        meanwhile()
                    finally:
                        meanwhile = None  # once, even if the call is sent again
                reply = _read(connection, script, packed)
                line.loaded |= {sha}
                return reply
            except ConnectionError as error:
                self._break(error)
                if not reused:
                    raise
            except BaseException:  # a timeout or an interruption: the reply may still come
                self._break(ConnectionError("the connection was abandoned mid-call"))
                raise

    def _break(self, error: ConnectionError) -> None:
        line = self._line
        if line.connection is not None:
            line.connection.disconnect()
            line.connection = None
        sent, line.unread = line.unread, None
        if sent is not None:
            sent.on_error(error)


def _read(connection: ConnectionInterface, script: str, packed: list[bytes]) -> Any:
    try:
        return connection.read_response()
    except NoScriptError:
        connection.send_command("SCRIPT", "LOAD", script)
        connection.read_response()
        connection.send_packed_command(packed, check_health=False)
        return connection.read_response()
