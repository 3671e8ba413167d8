"""Serving the intake with uvicorn: `leadsync intake` in the foreground, or a thread for tests."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn
from starlette.applications import Starlette

from worker.config import ConfigError, Settings
from worker.intake.app import create_app
from worker.intake.settings import IntakeSettings
from worker.serving import RunningServer, serve_in_thread

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def make_server(app: Starlette, *, access_log: bool = False) -> uvicorn.Server:
    """A uvicorn server for `app`; X-Forwarded-For is trusted from the addresses uvicorn trusts."""
    config = uvicorn.Config(
        app,
        lifespan="on",  # shutdown closes the app's async Redis client
        access_log=access_log,
        log_config=None,  # leadsync's logging pipeline, configured by the caller, handles records
        proxy_headers=True,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class RunningIntake(RunningServer):
    """An intake serving from a background thread; `stop()` shuts it down and joins the thread."""


def start_in_thread(app: Starlette, *, host: str = DEFAULT_HOST) -> RunningIntake:
    """Serve `app` on a free port from a daemon thread; returns once it accepts connections."""
    sock = socket.create_server((host, 0))
    return serve_in_thread(make_server(app), sock, name="intake", handle=RunningIntake)


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
