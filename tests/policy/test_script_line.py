"""ScriptLine against a real Valkey: in-order calls, replies read later, broken connections."""

from __future__ import annotations

import gc
import threading
import time

import pytest
import redis

from worker.policy.script_line import ScriptLine

SET_AND_ECHO = "redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]"
GET = "return redis.call('GET', KEYS[1])"
FAIL = "return redis.error_reply('ERR broken on purpose')"


@pytest.fixture
def line(rds: redis.Redis) -> ScriptLine:
    script_line = ScriptLine(rds)
    yield script_line
    script_line.close()


def test_a_call_returns_the_reply_and_loads_a_flushed_script(
    line: ScriptLine, rds: redis.Redis
) -> None:
    assert line.call(SET_AND_ECHO, ["k"], ["one"]) == "one"
    rds.script_flush()
    assert line.call(SET_AND_ECHO, ["k"], ["two"]) == "two"
    assert rds.get("k") == "two"


def test_a_sent_script_runs_before_the_next_call_whose_reply_comes_after_it(
    line: ScriptLine,
) -> None:
    errors: list[Exception] = []
    line.send(SET_AND_ECHO, ["k"], ["sent"], on_error=errors.append)
    assert line.call(GET, ["k"], []) == "sent"
    assert errors == []


def test_a_failure_in_a_sent_script_goes_to_its_sender_and_the_line_goes_on(
    line: ScriptLine,
) -> None:
    errors: list[Exception] = []
    line.send(FAIL, [], [], on_error=errors.append)
    assert errors == []  # nobody has read the reply yet
    line.settle()
    assert [str(error) for error in errors] == ["broken on purpose"]
    assert line.call(SET_AND_ECHO, ["k"], ["after"]) == "after"


def test_a_connection_killed_while_idle_is_replaced(line: ScriptLine, rds: redis.Redis) -> None:
    errors: list[Exception] = []
    line.send(SET_AND_ECHO, ["k"], ["ran"], on_error=errors.append)
    time.sleep(0.05)  # the reply arrives, then the server drops the connection
    rds.client_kill_filter(skipme=True)  # as a server restart or its idle `timeout` would
    assert line.call(SET_AND_ECHO, ["k2"], ["again"]) == "again"
    assert errors == []  # the reply that had arrived was still read
    assert rds.mget("k", "k2") == ["ran", "again"]


def test_a_connection_broken_before_a_sent_scripts_reply_reports_it_to_the_sender(
    line: ScriptLine, rds: redis.Redis
) -> None:
    errors: list[Exception] = []
    assert line.call(SET_AND_ECHO, ["k"], ["first"]) == "first"  # connected, script loaded
    rds.client_pause(10_000, all=False)  # write scripts wait: the next one cannot run yet
    try:
        line.send(SET_AND_ECHO, ["k"], ["lost"], on_error=errors.append)
        rds.client_kill_filter(skipme=True)  # its connection breaks with the script unrun
    finally:
        rds.client_unpause()
    line.settle()
    assert [type(error) for error in errors] == [redis.ConnectionError]
    assert rds.get("k") == "first"
    assert line.call(SET_AND_ECHO, ["k"], ["again"]) == "again"  # on a fresh connection


def _line_connections(rds: redis.Redis) -> int:
    gc.collect()  # connections of threads gone earlier are closed when collected
    return sum(client["cmd"] == "evalsha" for client in rds.client_list())


def test_each_thread_has_a_connection_of_its_own(line: ScriptLine, rds: redis.Redis) -> None:
    barrier = threading.Barrier(4)

    def work() -> None:
        for _ in range(3):
            line.call(GET, ["k"], [])
        barrier.wait()  # every thread has called: count the connections
        barrier.wait()

    before = _line_connections(rds)
    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    barrier.wait()
    assert _line_connections(rds) == before + 3
    barrier.wait()
    for thread in threads:
        thread.join()


def test_close_reads_what_is_unread_and_disconnects(line: ScriptLine, rds: redis.Redis) -> None:
    before = _line_connections(rds)
    errors: list[Exception] = []
    line.send(FAIL, [], [], on_error=errors.append)
    line.send(FAIL, [], [], on_error=errors.append)
    assert _line_connections(rds) == before + 1
    line.close()
    assert len(errors) == 2
    assert _line_connections(rds) == before


def test_a_script_sent_first_on_a_fresh_server_runs_at_once(
    line: ScriptLine, rds: redis.Redis
) -> None:
    rds.script_flush()
    errors: list[Exception] = []
    line.send(SET_AND_ECHO, ["k"], ["now"], on_error=errors.append)
    deadline = time.monotonic() + 5
    while rds.get("k") != "now" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert rds.get("k") == "now"  # not waiting for a later call to mend a NOSCRIPT
    line.settle()
    assert errors == []


@pytest.mark.parametrize(("encoding", "stored"), [("utf-8", "é".encode()), ("latin-1", b"\xe9")])
def test_text_is_sent_in_the_clients_encoding(
    redis_url: str, rds: redis.Redis, encoding: str, stored: bytes
) -> None:
    client = redis.Redis.from_url(redis_url, encoding=encoding, decode_responses=True)
    line = ScriptLine(client)
    try:
        assert line.call(SET_AND_ECHO, ["k"], ["é"]) == "é"
    finally:
        line.close()
        client.close()
    with redis.Redis.from_url(redis_url) as raw:
        assert raw.get("k") == stored
