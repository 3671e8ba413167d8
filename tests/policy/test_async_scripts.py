"""AsyncScripts: EVALSHA on connections of its own, against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis
import redis.asyncio

from tests.ops.servers import self_signed_certificate, tls_front, valkey_with_password
from worker.policy.async_scripts import AsyncScripts

ECHO = "redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]"


def scenario(redis_url: str, steps: Callable[[AsyncScripts], Awaitable[None]]) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        scripts = AsyncScripts(client)
        try:
            await steps(scripts)
        finally:
            await scripts.aclose()
            await client.aclose()

    asyncio.run(run())


def test_a_script_the_server_lacks_is_loaded_and_run(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def steps(scripts: AsyncScripts) -> None:
        assert await scripts.run(ECHO, ["k"], ["a & <b>"]) == "a & <b>"
        redis_client.script_flush()  # as after a restart without the script cache
        assert await scripts.run(ECHO, ["k"], ["again"]) == "again"

    scenario(redis_url, steps)
    assert redis_client.get("k") == "again"


def test_concurrent_calls_each_get_a_connection_and_idle_ones_are_reused(
    redis_url: str, redis_client: redis.Redis
) -> None:
    before = len(redis_client.client_list())

    async def steps(scripts: AsyncScripts) -> None:
        replies = await asyncio.gather(*(scripts.run(ECHO, [f"k{i}"], [i]) for i in range(5)))
        assert replies == ["0", "1", "2", "3", "4"]
        opened = len(redis_client.client_list()) - before
        assert 1 <= opened <= 5
        for i in range(20):
            await scripts.run(ECHO, ["k"], [i])
        assert len(redis_client.client_list()) - before == opened

    scenario(redis_url, steps)
    assert len(redis_client.client_list()) == before  # aclose closed them


def test_connections_the_server_closed_while_idle_are_replaced(
    redis_url: str, redis_client: redis.Redis
) -> None:
    before = {client["id"] for client in redis_client.client_list()}

    async def steps(scripts: AsyncScripts) -> None:
        await asyncio.gather(*(scripts.run(ECHO, ["k"], [i]) for i in range(3)))
        for client in redis_client.client_list():
            if client["id"] not in before:  # every idle one of ours, as a server restart would
                redis_client.client_kill_filter(_id=client["id"])
        assert await scripts.run(ECHO, ["k"], ["after"]) == "after"

    scenario(redis_url, steps)
    assert redis_client.get("k") == "after"


def test_a_script_error_raises_and_the_next_call_works(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def steps(scripts: AsyncScripts) -> None:
        with pytest.raises(redis.ResponseError):
            await scripts.run("return redis.call('INCR', KEYS[1])", ["k"], [])
        assert await scripts.run(ECHO, ["n"], ["fine"]) == "fine"

    redis_client.set("k", "not a number")
    scenario(redis_url, steps)


def test_an_unreachable_server_raises_a_connection_error() -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0")
        with pytest.raises(redis.ConnectionError):
            await AsyncScripts(client).run(ECHO, ["k"], ["v"])
        await client.aclose()

    asyncio.run(run())


def test_a_call_that_ends_after_aclose_closes_its_connection(
    redis_url: str, redis_client: redis.Redis
) -> None:
    before = len(redis_client.client_list())

    async def steps(scripts: AsyncScripts) -> None:
        call = asyncio.create_task(scripts.run(ECHO, ["k"], ["v"]))
        await asyncio.sleep(0)  # the call is connecting or awaiting its reply...
        await scripts.aclose()  # ...when the intake shuts down
        assert await call == "v"
        assert len(redis_client.client_list()) == before  # not kept for a next call

    scenario(redis_url, steps)


def test_connections_use_the_clients_password_unix_socket_and_tls(tmp_path: Path) -> None:
    # The intake's enqueue path must reach a Redis behind a password, a socket or TLS as its
    # client does.
    password = "valkey-pass-7c1e0b"
    path = tmp_path / "valkey.sock"
    with valkey_with_password(tmp_path, password, unix_socket=path) as port:
        scenario(f"redis://:{password}@127.0.0.1:{port}/0", echo_once)
        scenario(f"unix://:{password}@{path}?db=2", echo_once)
        try:
            cert, key = self_signed_certificate(tmp_path)
        except (FileNotFoundError, OSError):
            pytest.skip("openssl is needed to make a test certificate")
        with tls_front(port, cert, key) as tls_port:
            query = f"ssl_cert_reqs=required&ssl_ca_certs={cert}"
            scenario(f"rediss://:{password}@127.0.0.1:{tls_port}/0?{query}", echo_once)


async def echo_once(scripts: AsyncScripts) -> None:
    assert await scripts.run(ECHO, ["k"], ["over the wire"]) == "over the wire"
