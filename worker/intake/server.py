"""Serving the intake with uvicorn: `leadsync intake` in the foreground, or a thread for tests."""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time

import uvicorn
from starlette.applications import Starlette

from worker.config import ConfigError, Settings
from worker.intake.app import create_app
from worker.intake.settings import IntakeSettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
STARTUP_TIMEOUT_S = 10.0


def make_server(app: Starlette, *, access_log: bool = False) -> uvicorn.Server:
    """A uvicorn server for `app`; X-Forwarded-For is trusted from the addresses uvicorn trusts."""
    config = uvicorn.Config(
        app,
        lifespan="off",
        access_log=access_log,
        log_config=None,  # leadsync's logging pipeline, configured by the caller, handles records
        proxy_headers=True,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class RunningIntake:
    """An intake serving from a background thread; `stop()` shuts it down and joins the thread."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, base_url: str) -> None:
        self._server = server
        self._thread = thread
        self.base_url = base_url

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_in_thread(app: Starlette, *, host: str = DEFAULT_HOST) -> RunningIntake:
    """Serve `app` on a free port from a daemon thread; returns once it accepts connections."""
    sock = socket.create_server((host, 0))
    server = make_server(app)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="leadsync-intake", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the intake server did not start")
        time.sleep(0.005)
    port = sock.getsockname()[1]
    return RunningIntake(server, thread, f"http://{host}:{port}")


def main(argv: list[str] | None = None) -> int:
    """`leadsync intake [--host H] [--port P]`: serve until interrupted."""
    parser = argparse.ArgumentParser(prog="leadsync intake", description=__doc__)
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    args = parser.parse_args(argv)
    from worker.logs import configure_logging

    try:
        settings = Settings.from_env()
        intake_settings = IntakeSettings.from_env()
    except ConfigError as error:
        print(f"leadsync intake: {error}", file=sys.stderr)
        return 2
    secrets = [key.reveal() for key in intake_settings.api_keys]
    configure_logging(
        secrets=[settings.encryption_key.reveal(), *secrets], log_pii=settings.log_pii
    )
    server = make_server(create_app(settings, intake_settings), access_log=True)
    server.config.host, server.config.port = args.host, args.port
    print(f"intake: http://{args.host}:{args.port}  (OpenAPI at /openapi.json)", file=sys.stderr)
    server.run()
    return 0
