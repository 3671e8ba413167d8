"""The `leadsync` command line (commands and options fixed in PRODUCT.md)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from worker import stack
from worker.config import ConfigError, Settings
from worker.embedded import EmbeddedRedisError
from worker.jobs import InvalidJob

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `leadsync` console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    # Celery and the sandbox parse their own options: hand the rest of the line over untouched.
    if args[:1] == ["worker"]:
        return _guarded(lambda: cmd_worker(args[1:]))
    if args[:1] == ["sandbox"]:
        from worker.sandbox import main as sandbox_main

        return sandbox_main(args[1:])
    if args[:1] == ["intake"]:
        from worker.intake import main as intake_main

        return intake_main(args[1:])
    parser = _parser()
    options = parser.parse_args(args)
    if not hasattr(options, "handler"):
        parser.print_help()
        return EXIT_USAGE
    return _guarded(lambda: options.handler(options))


def _guarded(command: Any) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so atexit stops what we started
    try:
        return int(command() or 0)
    except (ConfigError, EmbeddedRedisError) as error:
        print(f"leadsync: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadsync", description=__doc__)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", help="all-in-one: Redis, sandbox if needed, one worker")
    run.set_defaults(handler=stack.cmd_run)
    demo = commands.add_parser("demo", help="sync sample leads end to end and print the results")
    demo.set_defaults(handler=stack.cmd_demo)
    commands.add_parser("worker", help="a Celery worker (accepts celery worker options)")
    commands.add_parser("sandbox", help="the Marketo SOAP emulator (see leadsync sandbox --help)")
    commands.add_parser("intake", help="the HTTP intake: JSON API and form capture")

    enqueue = commands.add_parser("enqueue", help="validate and enqueue one syncLead job")
    enqueue.add_argument("--email")
    enqueue.add_argument("--id", dest="lead_id")
    enqueue.add_argument("--fsp-id", dest="foreign_sys_person_id")
    enqueue.add_argument("--fsp-type", dest="foreign_sys_type")
    enqueue.add_argument("--cookie", dest="marketo_cookie")
    enqueue.add_argument("--workspace")
    enqueue.add_argument("--return-lead", action="store_true")
    enqueue.add_argument(
        "--attr", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
    )
    enqueue.set_defaults(handler=cmd_enqueue)

    status = commands.add_parser("status", help="a job's state")
    status.add_argument("job_id")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)

    stats = commands.add_parser("stats", help="live view of queue, throughput, limits, retries")
    stats.add_argument("--json", action="store_true", help="print one snapshot as JSON and exit")
    stats.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="seconds between readings"
    )
    stats.set_defaults(handler=cmd_stats)

    check = commands.add_parser(
        "check", help="validate config, Redis, the endpoint and one harmless Marketo call"
    )
    check.set_defaults(handler=cmd_check)

    from worker.dead_cli import add_dead_commands

    add_dead_commands(commands)
    return parser


def _take_metrics_port(celery_args: list[str]) -> list[str]:
    """Move `--metrics-port N` (leadsync's, not Celery's) into LEADSYNC_METRICS_PORT."""
    rest: list[str] = []
    args = iter(celery_args)
    for arg in args:
        if arg == "--metrics-port":
            os.environ["LEADSYNC_METRICS_PORT"] = next(args, "")
        elif arg.startswith("--metrics-port="):
            os.environ["LEADSYNC_METRICS_PORT"] = arg.partition("=")[2]
        else:
            rest.append(arg)
    return rest


def cmd_worker(celery_args: list[str]) -> int:
    """Run a Celery worker for the configured Redis and Marketo endpoint.

    `--metrics-port N` (or LEADSYNC_METRICS_PORT) serves Prometheus metrics from the main process,
    merged over the pool's processes through a multiprocess directory the worker owns.
    """
    from worker.ops.exposition import metrics_port, multiprocess_dir

    celery_args = _take_metrics_port(celery_args)
    settings = Settings.from_env()
    missing = settings.missing_marketo_variables()
    if missing:
        print(
            f"leadsync worker: Marketo is not configured (MARKETO_API={settings.api}). "
            f"Set {', '.join(missing)} (or use `leadsync run` for the sandbox).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from worker.producer import connect

    # Resolves REDIS_URL (or the embedded server) and configures Celery; the task's processes
    # read the resolved URL from the environment.
    os.environ["REDIS_URL"] = connect(settings).url
    from worker.celery_app import app

    argv = ["worker", "--loglevel", "INFO", "-Q", settings.queue, *celery_args]
    if metrics_port() is None:
        app.worker_main(argv)
        return 0
    with multiprocess_dir():  # before anything imports prometheus_client in this process
        app.worker_main(argv)
    return 0


def cmd_enqueue(options: argparse.Namespace) -> int:
    """Validate and enqueue one job; print its id first."""
    attributes: list[tuple[str, str]] = []
    for item in options.attr:
        name, sep, value = item.partition("=")
        if not sep:
            print(f"leadsync: attributes: {item!r} must be NAME=VALUE", file=sys.stderr)
            return EXIT_USAGE
        attributes.append((name, value))
    from worker.producer import enqueue_sync_lead

    try:
        job_id = enqueue_sync_lead(
            email=options.email,
            lead_id=options.lead_id,
            foreign_sys_person_id=options.foreign_sys_person_id,
            foreign_sys_type=options.foreign_sys_type,
            marketo_cookie=options.marketo_cookie,
            workspace=options.workspace,
            return_lead=options.return_lead,
            attributes=attributes,
        )
    except InvalidJob as error:
        print(f"leadsync: invalid job: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(job_id)
    return 0


def cmd_status(options: argparse.Namespace) -> int:
    """Print one job's status; exit 1 for an unknown id."""
    from worker.producer import job_status

    status = job_status(options.job_id)
    if status is None:
        print(f"leadsync: no job {options.job_id}", file=sys.stderr)
        return 1
    if options.json:
        print(json.dumps(status))
    else:
        for key, value in status.items():
            print(f"{key:12} {value if value is not None else '-'}")
    return 0


def cmd_stats(options: argparse.Namespace) -> int:
    """Show the shared state live, or print one JSON snapshot."""
    from worker.ops import stats
    from worker.producer import connect

    connection = connect(Settings.from_env())
    show = stats.print_json if options.json else stats.live
    show(connection.redis, connection.settings, interval_s=max(options.interval, 0.05))
    return 0


def cmd_check(_: argparse.Namespace) -> int:
    """Print one line per step; exit 0 when every step is fine, 1 otherwise."""
    from worker.ops.check import run

    failed = False
    for finding in run():
        failed = failed or not finding.ok
        print(f"{'ok  ' if finding.ok else 'FAIL'}  {finding.step:12} {finding.message}")
    return 1 if failed else 0
