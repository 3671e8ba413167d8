"""uvicorn on a background thread: how tests, the demo and `leadsync run` host ASGI apps."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self, TypeVar

import uvicorn

STARTUP_TIMEOUT_S = 10.0
R = TypeVar("R", bound="RunningServer")


def base_url_of(sock: socket.socket) -> str:
    """http://HOST:PORT of a bound socket (IPv6 hosts bracketed)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class RunningServer:
    """A server serving from a daemon thread; stop it, or use it as a context manager."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, base_url: str) -> None:
        self._server = server
        self._thread = thread
        self.base_url = base_url

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_in_thread(
    server: uvicorn.Server, sock: socket.socket, *, name: str, handle: type[R]
) -> R:
    """Run `server` on `sock` in a daemon thread; returns a `handle` once it accepts connections."""
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.005)
    return handle(server, thread, base_url_of(sock))
