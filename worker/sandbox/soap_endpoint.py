"""The SOAP endpoint as a bare ASGI app: Starlette only routes to it; no Request or Response
objects stand between the socket and lxml."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

from . import auth, soap_wire, wsdl
from .errors import ApiError
from .faults import UNAVAILABLE_PAGE
from .operations import SYNC_LEAD, decide_early, execute, read_call
from .state import SandboxState

#: The scope extension through which the sandbox's server hands over the TCP transport (resets).
TRANSPORT_EXTENSION = "leadsync.transport"
Scope = dict[str, Any]
_XML = soap_wire.CONTENT_TYPE.encode()


class ClientGone(Exception):
    """The client closed the connection before its request was read."""


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Any, status: int, body: bytes, content_type: bytes = _XML) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _client_leaves_within(receive: Any, timeout_s: float) -> bool:
    """Hang: wait for the client to give up (True) or for `timeout_s` to pass (False)."""
    try:
        async with asyncio.timeout(timeout_s):
            while (await receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True


def _reset(scope: Scope) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
    transport = scope["extensions"][TRANSPORT_EXTENSION]["transport"]
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class SoapEndpoint:
    """POST: a SOAP call; GET with `?WSDL`: the WSDL addressed to the URL it was fetched from."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["method"] == "POST":
            await self._call(scope, receive, send)
        elif scope["method"] in ("GET", "HEAD") and scope["query_string"].lower() == b"wsdl":
            host = dict(scope["headers"]).get(b"host", b"localhost").decode("latin-1")
            address = f"{scope['scheme']}://{host}{scope['root_path']}{scope['path']}"
            await _respond(send, 200, wsdl.render(address))
        else:
            body = b"POST SOAP 1.1 requests here; the WSDL is at ?WSDL\n"
            await _respond(send, 405, body, b"text/plain; charset=utf-8")

    async def _call(self, scope: Scope, receive: Any, send: Any) -> None:
        state = self.state
        config = state.config
        received_at = time.time()
        entry: dict[str, Any] = {
            "received_at": received_at,
            "operation": None,
            "keys": [],
            "lead_ids": [],
            "statuses": [],
            "outcome": None,
            "fault_code": None,
            "http_status": 500,
            "injected": None,
        }
        admitted = False
        try:
            envelope = soap_wire.parse_envelope(await _read_body(receive), state.parser)
            entry["operation"] = envelope.operation
            auth.check(
                envelope.auth,
                user_id=config.user_id,
                key=config.encryption_key,
                window_s=config.timestamp_window_s,
                now=received_at,
            )
            call = read_call(envelope)
            entry["keys"] = call.keys()
            state.limits.admit(config, received_at)
            admitted = True
            injected = state.faults.pick(config, call.key_values())
            if injected == "reset" and TRANSPORT_EXTENSION not in scope.get("extensions", {}):
                injected = "502"
            entry["injected"] = injected
            decision = None
            if config.duplicate_race and call.operation == SYNC_LEAD:
                decision = decide_early(call, state.upserter)
            delay_s = state.faults.delay_s(config)
            if delay_s:
                await asyncio.sleep(delay_s)
            if injected is not None and injected != "hang":
                await self._inject(injected, scope, send, entry)
                return
            outcome = execute(call, state.upserter, decision)
            entry.update(outcome=outcome.outcome, lead_ids=outcome.lead_ids)
            entry["statuses"] = outcome.statuses
            if injected == "hang" and await _client_leaves_within(receive, config.hang_s):
                entry.update(outcome="HANG", http_status=None)
                return
            entry["http_status"] = 200
            await _respond(send, 200, outcome.body)
        except ApiError as error:
            entry.update(outcome="FAULT", fault_code=error.code, http_status=500)
            await _respond(send, 500, soap_wire.fault_response(error))
        except ClientGone:
            entry.update(outcome="CLIENT_GONE", http_status=None)
        finally:
            if admitted:
                state.limits.release()
            entry["completed_at"] = time.time()
            state.calls.record(entry)

    async def _inject(self, kind: str, scope: Scope, send: Any, entry: dict[str, Any]) -> None:
        """Answer with an injected transient fault instead of running the call."""
        if kind == "reset":
            _reset(scope)
            entry.update(outcome="RESET", http_status=None)
        elif kind == "503":
            entry.update(outcome="HTTP_503", http_status=503)
            await _respond(send, 503, UNAVAILABLE_PAGE, b"text/html; charset=utf-8")
        elif kind == "502":
            entry.update(outcome="HTTP_502", http_status=502)
            await _respond(send, 502, b"", b"text/html")
        else:
            raise ApiError(int(kind))
