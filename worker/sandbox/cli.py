"""`leadsync sandbox` / `python -m worker.sandbox`: the Marketo SOAP emulator in the foreground."""

from __future__ import annotations

import argparse

from worker.serving import base_url_of

from .app import SOAP_PATH
from .config import (
    DEFAULT_HANG_S,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_TIMESTAMP_WINDOW_S,
    FAULT_KINDS,
    AssignmentRule,
    SandboxConfig,
    ScriptedFault,
    Workspace,
    parse_optional_int,
    parse_rate_limit,
)
from .rest import IDENTITY_PATH, REST_PATH
from .server import bind, make_server

_DEFAULTS = SandboxConfig()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leadsync sandbox",
        description="Marketo SOAP API emulator (syncLead, syncMultipleLeads) with a REST face.",
    )
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST)
    add("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    add("--user-id", default=_DEFAULTS.user_id)
    add("--encryption-key", default=_DEFAULTS.encryption_key)
    add("--client-id", default=_DEFAULTS.client_id, help="REST API client id")
    add("--client-secret", default=_DEFAULTS.client_secret, help="REST API client secret")
    add(
        "--token-ttl",
        type=float,
        default=_DEFAULTS.token_ttl_s,
        metavar="S",
        help="how long a REST access token lives, seconds",
    )
    add("--rate-limit", type=parse_rate_limit, default=_DEFAULTS.rate_limit, metavar="N/S|off")
    add(
        "--max-concurrency",
        type=parse_optional_int,
        default=_DEFAULTS.max_concurrency,
        metavar="N|off",
    )
    add("--daily-quota", type=parse_optional_int, default=_DEFAULTS.daily_quota, metavar="N|off")
    add(
        "--timestamp-window",
        type=float,
        default=DEFAULT_TIMESTAMP_WINDOW_S,
        metavar="S",
        help="accepted signature age either way, seconds (20016 outside)",
    )
    add("--latency-ms", type=float, default=0.0)
    add("--jitter-ms", type=float, default=0.0, help="uniform extra latency, 0..MS")
    add(
        "--fault-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="probability of a transient fault",
    )
    add(
        "--fault-kinds",
        type=lambda t: tuple(t.split(",")),
        default=FAULT_KINDS,
        metavar="K,K",
        help=f"kinds drawn at --fault-rate (default {','.join(FAULT_KINDS)})",
    )
    add("--hang-s", type=float, default=DEFAULT_HANG_S, help="how long a 'hang' fault holds a call")
    add(
        "--script-fault",
        type=ScriptedFault.parse,
        action="append",
        default=[],
        metavar="COUNT:CODE:KEY",
        help="the first COUNT calls naming lead key KEY fail with CODE",
    )
    add(
        "--no-duplicate-race",
        dest="duplicate_race",
        action="store_false",
        help="decide insert-or-update after the latency, so overlapping inserts cannot duplicate",
    )
    add(
        "--workspace",
        type=Workspace.parse,
        action="append",
        default=None,
        metavar="NAME=PRIMARY[,OTHER...]",
        help="enable workspaces and declare one (repeatable)",
    )
    add(
        "--assignment-rule",
        type=AssignmentRule.parse,
        action="append",
        default=[],
        metavar="FIELD=VALUE:PARTITION",
        help="route new leads to a partition (repeatable)",
    )
    add(
        "--custom-field",
        action="append",
        default=[],
        metavar="NAME",
        help="accept this custom lead field besides Marketo's standard ones (repeatable)",
    )
    add("--first-lead-id", type=int, default=_DEFAULTS.first_lead_id)
    add("--access-log", action="store_true")
    return parser


def config_from_args(argv: list[str] | None) -> SandboxConfig:
    """Parse the command line into a config; errors exit 2 with argparse's message."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return SandboxConfig(
            host=args.host,
            port=args.port,
            user_id=args.user_id,
            encryption_key=args.encryption_key,
            client_id=args.client_id,
            client_secret=args.client_secret,
            token_ttl_s=args.token_ttl,
            rate_limit=args.rate_limit,
            max_concurrency=args.max_concurrency,
            daily_quota=args.daily_quota,
            timestamp_window_s=args.timestamp_window,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            fault_rate=args.fault_rate,
            fault_kinds=args.fault_kinds,
            hang_s=args.hang_s,
            scripted_faults=tuple(args.script_fault),
            duplicate_race=args.duplicate_race,
            workspaces=None if args.workspace is None else tuple(args.workspace),
            assignment_rules=tuple(args.assignment_rule),
            custom_fields=frozenset(f for names in args.custom_field for f in names.split(",")),
            first_lead_id=args.first_lead_id,
            access_log=args.access_log,
        )
    except ValueError as exc:
        parser.error(str(exc))


def _off(value: object) -> str:
    return "off" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT or SIGTERM, after printing the endpoint and the credentials."""
    config = config_from_args(argv)
    sock = bind(config.host, config.port)
    server = make_server(config)
    endpoint = base_url_of(sock) + SOAP_PATH
    rate = (
        "off" if config.rate_limit is None else f"{config.rate_limit[0]}/{config.rate_limit[1]:g}s"
    )
    print(
        "leadsync sandbox: Marketo SOAP emulator\n"
        f"  MARKETO_SOAP_ENDPOINT={endpoint}\n"
        f"  MARKETO_USER_ID={config.user_id}\n"
        f"  MARKETO_ENCRYPTION_KEY={config.encryption_key}\n"
        f"  WSDL {endpoint}?WSDL\n"
        f"  MARKETO_REST_ENDPOINT={base_url_of(sock)}{REST_PATH}\n"
        f"  MARKETO_REST_IDENTITY_URL={base_url_of(sock)}{IDENTITY_PATH}\n"
        f"  MARKETO_CLIENT_ID={config.client_id}\n"
        f"  MARKETO_CLIENT_SECRET={config.client_secret}\n"
        f"  inspection {base_url_of(sock)}/_sandbox/leads, /_sandbox/calls, /_sandbox/reset\n"
        f"  limits: rate {rate}, concurrency {_off(config.max_concurrency)}, "
        f"daily quota {_off(config.daily_quota)}; latency {config.latency_ms:g} ms "
        f"+ jitter {config.jitter_ms:g} ms; fault rate {config.fault_rate:g}",
        flush=True,
    )
    server.run(sockets=[sock])
    return 0
