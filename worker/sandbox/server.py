"""Serving the sandbox with uvicorn: in a background thread for tests, or in the foreground."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from types import FrameType, TracebackType

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .app import SOAP_PATH, build_app
from .config import SandboxConfig
from .soap_endpoint import TRANSPORT_EXTENSION

STARTUP_TIMEOUT_S = 10.0


class _TransportProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, handing each request its transport so faults can reset it."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {TRANSPORT_EXTENSION: self.transport}


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT/SIGTERM without re-raising them: main returns 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._stop) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """First signal: graceful shutdown; a second one: stop at once."""
        self.force_exit = self.should_exit
        self.should_exit = True


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one."""
    sock = socket.create_server((host, port), reuse_port=False)
    sock.set_inheritable(True)
    return sock


def make_server(config: SandboxConfig) -> uvicorn.Server:
    """A uvicorn server for a fresh sandbox app (uvloop and httptools when installed)."""
    return _Server(
        uvicorn.Config(
            build_app(config),
            http=_TransportProtocol,
            lifespan="off",
            access_log=config.access_log,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
    )


def base_url_of(sock: socket.socket) -> str:
    """http://HOST:PORT of a bound socket (IPv6 hosts bracketed)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class RunningSandbox:
    """A sandbox serving from a background thread; stop it, or use it as a context manager."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, base_url: str) -> None:
        self._server = server
        self._thread = thread
        self.base_url = base_url
        self.soap_endpoint = base_url + SOAP_PATH

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_in_thread(config: SandboxConfig) -> RunningSandbox:
    """Serve `config` on a daemon thread; returns once the server accepts connections."""
    sock = bind(config.host, config.port)
    server = make_server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="leadsync-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.005)
    return RunningSandbox(server, thread, base_url_of(sock))
