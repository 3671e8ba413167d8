"""The `leadsync` command line (commands and options fixed in PRODUCT.md)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from worker.config import ConfigError, Secret, Settings
from worker.embedded import EmbeddedRedisError, ensure_embedded
from worker.jobs import InvalidJob

TERMINAL_STATES = {"synced", "dead"}
DEMO_TIMEOUT_S = 60.0
DEMO_LEADS = Path(__file__).with_name("demo_leads.json")
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
    run.set_defaults(handler=cmd_run)
    demo = commands.add_parser("demo", help="sync sample leads end to end and print the results")
    demo.set_defaults(handler=cmd_demo)
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
        "check", help="validate config, Redis, WSDL, endpoint and one harmless signed call"
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


@contextlib.contextmanager
def _stack(settings: Settings) -> Iterator[tuple[Settings, dict[str, str]]]:
    """Embedded Redis if needed, the sandbox if no endpoint: yields settings and worker env."""
    env = dict(os.environ)
    sandbox = None
    if not settings.redis_url:
        settings = settings.with_overrides(redis_url=ensure_embedded(settings.state_dir).url)
    env["REDIS_URL"] = str(settings.redis_url)
    try:
        if not settings.endpoint:
            sandbox, settings = _start_sandbox(settings, env)
        wired = {
            "MARKETO_SOAP_ENDPOINT": settings.soap_endpoint,
            "MARKETO_USER_ID": settings.user_id,
            "MARKETO_ENCRYPTION_KEY": settings.encryption_key.reveal(),
            "MARKETO_REST_ENDPOINT": settings.rest_endpoint,
            "MARKETO_REST_IDENTITY_URL": settings.rest_identity_url,
            "MARKETO_CLIENT_ID": settings.client_id,
            "MARKETO_CLIENT_SECRET": settings.client_secret.reveal(),
        }
        env.update({name: value for name, value in wired.items() if value})
        yield settings, env
    finally:
        if sandbox is not None:
            sandbox.stop()


def _start_sandbox(settings: Settings, env: dict[str, str]) -> tuple[Any, Settings]:
    """The built-in sandbox on a free port, with its SOAP and REST credentials wired in."""
    from worker.sandbox import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_ENCRYPTION_KEY,
        DEFAULT_USER_ID,
        SandboxConfig,
        start_in_thread,
    )
    from worker.sandbox.rest_leads import FSP_FIELD

    sandbox = start_in_thread(SandboxConfig(host="127.0.0.1", port=0))
    settings = settings.with_overrides(
        soap_endpoint=sandbox.soap_endpoint,
        rest_endpoint=f"{sandbox.base_url}/rest",
        rest_identity_url=f"{sandbox.base_url}/identity",
    )
    if not settings.user_id:
        settings = settings.with_overrides(
            user_id=DEFAULT_USER_ID, encryption_key=Secret(DEFAULT_ENCRYPTION_KEY)
        )
    if not settings.client_id:
        settings = settings.with_overrides(
            client_id=DEFAULT_CLIENT_ID, client_secret=Secret(DEFAULT_CLIENT_SECRET)
        )
    # The sandbox's REST face keeps ForeignSysPersonId in this field; a real instance names its
    # own custom field in LEADSYNC_REST_FSP_FIELD.
    env.setdefault("LEADSYNC_REST_FSP_FIELD", FSP_FIELD)
    print(f"sandbox: {sandbox.soap_endpoint} (REST {sandbox.base_url}/rest)", file=sys.stderr)
    return sandbox, settings


@contextlib.contextmanager
def _worker_process(
    env: dict[str, str], *extra: str, log_path: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "worker", "worker", *extra]
    with contextlib.ExitStack() as stack:
        output = stack.enter_context(open(log_path, "ab")) if log_path else None
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cmd_run(_: argparse.Namespace) -> int:
    """Foreground all-in-one; Ctrl-C stops everything."""
    with _stack(Settings.from_env()) as (settings, env), _worker_process(env) as process:
        print(f"redis: {settings.redis_url}", file=sys.stderr)
        try:
            return process.wait()
        except KeyboardInterrupt:
            return 0


def cmd_demo(_: argparse.Namespace) -> int:
    """Sync the sample leads end to end, print a table, exit 0 when all synced."""
    from worker.producer import connect, enqueue_sync_lead, job_status

    leads = json.loads(DEMO_LEADS.read_text(encoding="utf-8"))
    settings = Settings.from_env()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.state_dir / "demo-worker.log"
    print(f"worker log: {log_path}", file=sys.stderr)
    with (
        _stack(settings) as (settings, env),
        _worker_process(env, "--concurrency", "2", log_path=log_path) as process,
    ):
        connection = connect(settings)
        job_ids = [enqueue_sync_lead(connection=connection, **lead) for lead in leads]
        deadline = time.monotonic() + DEMO_TIMEOUT_S
        statuses: list[dict[str, Any]] = []
        while time.monotonic() < deadline and process.poll() is None:
            statuses = [job_status(job_id, connection=connection) or {} for job_id in job_ids]
            if all(status.get("state") in TERMINAL_STATES for status in statuses):
                break
            time.sleep(0.2)
    _print_table(leads, statuses)
    return 0 if statuses and all(s.get("state") == "synced" for s in statuses) else 1


def _print_table(leads: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> None:
    rows = [("lead", "job id", "state", "status", "lead id", "attempts")]
    for lead, status in zip(leads, statuses, strict=False):
        rows.append(
            (
                lead.get("email") or lead.get("foreign_sys_person_id") or "?",
                str(status.get("job_id", "")),
                str(status.get("state", "")),
                str(status.get("sync_status") or "-"),
                str(status.get("lead_id") or "-"),
                str(status.get("attempts", "")),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
