"""The JSON inspection API (`/_sandbox/...`): not part of Marketo, for tests and benchmarks."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .config import (
    AssignmentRule,
    SandboxConfig,
    ScriptedFault,
    Workspace,
    parse_optional_int,
    parse_rate_limit,
)
from .state import SandboxState
from .store import LeadChanges


def _limit(value: Any, parse: Any) -> Any:
    """A limit from JSON: null or "off" switch it off; text is parsed like the flag."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse(value)
    return tuple(value) if isinstance(value, list) else value


#: Runtime-changeable config fields and how to read each from JSON.
_SETTERS: dict[str, Any] = {
    "latency_ms": float,
    "jitter_ms": float,
    "fault_rate": float,
    "fault_kinds": lambda v: tuple(str(k) for k in v),
    "hang_s": float,
    "timestamp_window_s": float,
    "duplicate_race": bool,
    "rate_limit": lambda v: _limit(v, parse_rate_limit),
    "max_concurrency": lambda v: _limit(v, parse_optional_int),
    "daily_quota": lambda v: _limit(v, parse_optional_int),
    "custom_fields": frozenset,
    "workspaces": lambda v: None if v is None else tuple(Workspace.parse(w) for w in v),
    "assignment_rules": lambda v: tuple(AssignmentRule.parse(r) for r in v),
}


def config_json(config: SandboxConfig) -> dict[str, Any]:
    """The config as JSON, without the encryption key."""
    return {
        "user_id": config.user_id,
        "rate_limit": None if config.rate_limit is None else list(config.rate_limit),
        "max_concurrency": config.max_concurrency,
        "daily_quota": config.daily_quota,
        "timestamp_window_s": config.timestamp_window_s,
        "latency_ms": config.latency_ms,
        "jitter_ms": config.jitter_ms,
        "fault_rate": config.fault_rate,
        "fault_kinds": list(config.fault_kinds),
        "hang_s": config.hang_s,
        "duplicate_race": config.duplicate_race,
        "workspaces": None
        if config.workspaces is None
        else [f"{w.name}={','.join(w.partitions)}" for w in config.workspaces],
        "assignment_rules": [f"{r.field}={r.value}:{r.partition}" for r in config.assignment_rules],
        "custom_fields": sorted(config.custom_fields),
    }


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def routes(state: SandboxState) -> list[Route]:
    """The inspection routes over one sandbox's state."""

    async def leads(request: Request) -> Response:
        if request.method == "POST":
            return await _add_lead(request)
        email = request.query_params.get("email")
        found = state.store.by_email(email) if email else list(state.store)
        return JSONResponse(
            [lead.to_json(state.workspaces.workspace_of(lead.partition)) for lead in found]
        )

    async def _add_lead(request: Request) -> Response:
        """Seed a lead directly, e.g. an anonymous one known only by its Munchkin cookie."""
        data = await request.json()
        partition = data.get("partition") or state.workspaces.default.primary_partition
        if not state.workspaces.known_partition(partition):
            return _bad_request(f"unknown partition {partition!r}")
        changes = LeadChanges(
            email=data.get("email"),
            foreign_sys_person_id=data.get("foreign_sys_person_id"),
            foreign_sys_type=data.get("foreign_sys_type"),
            cookie=data.get("cookie"),
            attributes={str(k): str(v) for k, v in (data.get("attributes") or {}).items()},
        )
        lead = state.store.create(partition, changes)
        return JSONResponse(lead.to_json(state.workspaces.workspace_of(partition)), status_code=201)

    async def calls(request: Request) -> Response:
        since = int(request.query_params.get("since", "0"))
        return JSONResponse(state.calls.since(since))

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def config(request: Request) -> Response:
        if request.method == "POST":
            data = await request.json()
            unknown = sorted(set(data) - set(_SETTERS))
            if unknown:
                return _bad_request(f"not changeable at runtime: {unknown}")
            try:
                state.update(**{name: _SETTERS[name](value) for name, value in data.items()})
            except (TypeError, ValueError) as exc:
                return _bad_request(str(exc))
        return JSONResponse(config_json(state.config))

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.load(())
        elif request.method == "POST":
            data = await request.json()
            items = data.get("faults", [data]) if isinstance(data, dict) else data
            try:
                scripted = [
                    ScriptedFault.parse(f"{f['count']}:{f['code']}:{f['key']}") for f in items
                ]
            except (KeyError, TypeError, ValueError) as exc:
                return _bad_request(f"expected {{key, count, code}}: {exc}")
            state.faults.add(scripted)
        return JSONResponse(state.faults.scripted())

    async def ping(request: Request) -> Response:
        return PlainTextResponse("pong")

    return [
        Route("/_sandbox/leads", leads, methods=["GET", "POST"]),
        Route("/_sandbox/calls", calls, methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route("/_sandbox/config", config, methods=["GET", "POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/ping", ping, methods=["GET"]),
    ]
