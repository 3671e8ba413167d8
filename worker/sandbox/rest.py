"""The sandbox's REST face: identity service, Sync Leads, Associate Lead, lead reads.

Same store, limits, fault injection and call log as the SOAP endpoint. Errors are Marketo's REST
shape: HTTP 200 with `success: false, errors: [{code, message}]`; 1xxx record errors are skipped
records. Limits answer 606 (rate), 615 (concurrency) and 607 (daily quota); injected faults are
the SOAP kinds (503, 502, reset, hang) and codes, SOAP codes translated (20013 -> 603, ...).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import ApiError
from .faults import UNAVAILABLE_PAGE
from .rest_auth import TokenIssuer
from .rest_errors import RestError
from .rest_leads import RestLeads
from .soap_endpoint import TRANSPORT_EXTENSION, _client_leaves_within, _reset
from .state import SandboxState

IDENTITY_PATH, REST_PATH = "/identity", "/rest"
Scope = dict[str, Any]
Work = Callable[[RestLeads, Request, Any, dict[str, Any]], Any]


def _request_id() -> str:
    return f"{secrets.token_hex(2)}#{secrets.token_hex(6)}"


def _failure(error: RestError) -> JSONResponse:
    body = {"requestId": _request_id(), "success": False, "errors": [error.to_json()]}
    return JSONResponse(body)


class RestApi:
    """One REST API operation as a bare ASGI app: auth, limits, faults, work, call log."""

    def __init__(self, state: SandboxState, tokens: TokenIssuer, operation: str, work: Work):
        self.state, self.tokens, self.operation, self.work = state, tokens, operation, work

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        state, config = self.state, self.state.config
        request = Request(scope, receive)
        now = time.time()
        entry: dict[str, Any] = {
            "received_at": now, "api": "rest", "operation": self.operation, "keys": [],
            "lead_ids": [], "statuses": [], "outcome": None, "fault_code": None,
            "http_status": 200, "injected": None,
        }  # fmt: skip
        admitted = False
        try:
            payload = _json_or_none(await request.body())
            entry["keys"] = _keys_of(request, payload)
            self.tokens.check(request.headers.get("authorization"), now)
            try:
                state.limits.admit(config, now)
            except ApiError as error:
                raise RestError.from_api_error(error) from None
            admitted = True
            injected = state.faults.pick(config, [v for k in entry["keys"] for v in k.values()])
            entry["injected"] = injected
            delay_s = state.faults.delay_s(config)
            if delay_s:
                await asyncio.sleep(delay_s)
            if injected is not None and injected not in ("hang", "10001", "20011"):
                await self._inject(injected, scope, receive, send, entry)
                return
            if injected in ("10001", "20011"):
                raise RestError.injected(int(injected))
            result = self.work(RestLeads(state.upserter), request, payload, entry)
            if injected == "hang" and await _client_leaves_within(receive, config.hang_s):
                entry.update(outcome="HANG", http_status=None)
                return
            entry["outcome"] = entry["outcome"] or "OK"
            body = {"requestId": _request_id(), "result": result, "success": True}
            await JSONResponse(body)(scope, receive, send)
        except RestError as error:
            entry.update(outcome="FAULT", fault_code=error.code)
            await _failure(error)(scope, receive, send)
        finally:
            if admitted:
                state.limits.release()
            entry["completed_at"] = time.time()
            state.calls.record(entry)

    async def _inject(
        self, kind: str, scope: Scope, receive: Any, send: Any, entry: dict[str, Any]
    ) -> None:
        if kind == "reset" and TRANSPORT_EXTENSION in scope.get("extensions", {}):
            _reset(scope)
            entry.update(outcome="RESET", http_status=None)
        elif kind == "503":
            entry.update(outcome="HTTP_503", http_status=503)
            page = Response(UNAVAILABLE_PAGE, 503, media_type="text/html")
            await page(scope, receive, send)
        elif kind in ("502", "reset"):
            entry.update(outcome="HTTP_502", http_status=502)
            await Response(b"", 502, media_type="text/html")(scope, receive, send)
        else:
            error = RestError.injected(int(kind))
            if error.record_level():
                # A record-level code: the call succeeds, its record is skipped with that reason.
                entry.update(outcome="SKIPPED", fault_code=error.code)
                skipped = {"seq": 0, "status": "skipped", "reasons": [error.to_json()]}
                body = {"requestId": _request_id(), "result": [skipped], "success": True}
                await JSONResponse(body)(scope, receive, send)
                return
            raise error


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _keys_of(request: Request, payload: Any) -> list[dict[str, Any]]:
    """The lead keys a call names, for the call log and scripted faults."""
    if "lead_id" in request.path_params:
        keys = {"id": int(request.path_params["lead_id"])}
        cookie = request.query_params.get("cookie")
        return [keys | ({"cookie": cookie} if cookie else {})]
    if request.query_params.get("filterValues"):
        return [{"value": v} for v in request.query_params["filterValues"].split(",")]
    records = payload.get("input") if isinstance(payload, dict) else None
    return [
        {k: v for k, v in record.items() if isinstance(v, str | int) and not isinstance(v, bool)}
        for record in records or []
        if isinstance(record, dict)
    ]


def _sync(leads: RestLeads, request: Request, payload: Any, entry: dict[str, Any]) -> Any:
    if not isinstance(payload, dict):
        raise RestError(609, "Invalid JSON")
    results = leads.sync(payload)
    entry["statuses"] = [str(r["status"]).upper() for r in results]
    entry["lead_ids"] = [r.get("id") for r in results]
    entry["outcome"] = entry["statuses"][0] if len(results) == 1 else "SYNCED"
    return results


def _associate(leads: RestLeads, request: Request, payload: Any, entry: dict[str, Any]) -> Any:
    lead_id = int(request.path_params["lead_id"])
    entry["lead_ids"] = [lead_id]
    leads.associate(lead_id, request.query_params.get("cookie"))
    return []


def _read(leads: RestLeads, request: Request, payload: Any, entry: dict[str, Any]) -> Any:
    params = request.query_params
    fields = [f for f in params.get("fields", "").split(",") if f]
    if "lead_id" in request.path_params:
        return leads.read("id", [str(request.path_params["lead_id"])], fields)
    filter_type = params.get("filterType")
    values = [v for v in params.get("filterValues", "").split(",") if v]
    if not filter_type or not values:
        raise RestError(1003, "filterType and filterValues are required")
    return leads.read(filter_type, values, fields)


def rest_routes(state: SandboxState) -> list[Route]:
    """The identity service, the REST lead endpoints and their inspection route."""
    tokens = TokenIssuer()

    def api(operation: str, work: Work) -> RestApi:
        return RestApi(state, tokens, operation, work)

    async def token(request: Request) -> Response:
        form = await request.form() if request.method == "POST" else {}
        params = {**request.query_params, **{k: str(v) for k, v in form.items()}}
        entry: dict[str, Any] = {
            "received_at": time.time(), "api": "rest", "operation": "token", "keys": [],
            "lead_ids": [], "statuses": [], "outcome": "ISSUED", "fault_code": None,
            "http_status": 200, "injected": None,
        }  # fmt: skip
        try:
            if params.get("grant_type") != "client_credentials":
                raise PermissionError("unsupported grant_type")
            value, expires_in = tokens.issue(
                state.config, params.get("client_id", ""), params.get("client_secret", ""),
                entry["received_at"],
            )  # fmt: skip
        except PermissionError as error:
            entry.update(outcome="REFUSED", http_status=401)
            body = {"error": "invalid_client", "error_description": str(error)}
            return JSONResponse(body, status_code=401)
        finally:
            entry["completed_at"] = time.time()
            state.calls.record(entry)
        return JSONResponse(
            {"access_token": value, "token_type": "bearer", "expires_in": expires_in,
             "scope": f"{state.config.client_id}@sandbox"}
        )  # fmt: skip

    async def inspect_tokens(request: Request) -> Response:
        """Not Marketo: `{"expire": true}` expires every token (602), `{"revoke": true}` (601)."""
        data = await request.json()
        if data.get("expire"):
            tokens.expire_all()
        if data.get("revoke"):
            tokens.revoke_all()
        return JSONResponse({"ok": True})

    leads, lead = f"{REST_PATH}/v1/leads", f"{REST_PATH}/v1/lead"
    return [
        Route(f"{IDENTITY_PATH}/oauth/token", token, methods=["GET", "POST"]),
        Route(f"{leads}.json", api("syncLeads", _sync), methods=["POST"]),
        Route(f"{leads}.json", api("getLeads", _read), methods=["GET"]),
        Route(f"{lead}/{{lead_id:int}}.json", api("getLead", _read), methods=["GET"]),
        Route(
            f"{leads}/{{lead_id:int}}/associate.json",
            api("associateLead", _associate),
            methods=["POST"],
        ),
        Route("/_sandbox/rest/tokens", inspect_tokens, methods=["POST"]),
    ]
