"""Serving the sandbox with uvicorn: in a background thread for tests, or in the foreground."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from worker.serving import RunningServer, serve_in_thread

from .app import SOAP_PATH, build_app
from .config import SandboxConfig
from .soap_endpoint import TRANSPORT_EXTENSION


class _TransportProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, handing each request its transport so faults can reset it."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {TRANSPORT_EXTENSION: {"transport": self.transport}}


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


class RunningSandbox(RunningServer):
    """A sandbox serving from a background thread; stop it, or use it as a context manager."""

    @property
    def soap_endpoint(self) -> str:
        """The SOAP endpoint URL (its WSDL is this plus `?WSDL`)."""
        return self.base_url + SOAP_PATH


def start_in_thread(config: SandboxConfig) -> RunningSandbox:
    """Serve `config` on a daemon thread; returns once the server accepts connections."""
    sock = bind(config.host, config.port)
    return serve_in_thread(make_server(config), sock, name="sandbox", handle=RunningSandbox)
