"""The legacy SOAP bridge: unchanged syncLead callers land on leadsync's queue (issue 7).

`POST /soap/mktows/2_3` takes a syncLead envelope signed with `LEADSYNC_LEGACY_USER_ID` and
`LEADSYNC_LEGACY_ENCRYPTION_KEY` (FACTS §2), enqueues it as a job through the one producer path,
waits up to `LEADSYNC_BRIDGE_WAIT` seconds for the worker's outcome and answers successSyncLead or a
Marketo fault. The job runs over whichever transport the workers use, so a legacy client syncs over
REST unchanged. A retried request (same signed bytes) finds its first job instead of enqueueing a
second: the body's digest is taken with SET NX. `GET ?WSDL` serves the WSDL addressed to the bridge.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from worker.config import ConfigError, Secret, Settings
from worker.intake.bridge_wire import (
    CONTENT_TYPE,
    LegacyCall,
    LegacyFault,
    fault,
    parse_sync_lead,
    success_sync_lead,
)
from worker.intake.errors import ClientError
from worker.intake.state import intake_of
from worker.jobs import InvalidJob, validate_job
from worker.policy.keys import PREFIX
from worker.sandbox.wsdl import render as render_wsdl

BRIDGE_PATH = "/soap/mktows/2_3"
DEFAULT_WAIT_S = 30.0  # how long a call waits for its job's outcome before a retryable fault
TIMESTAMP_WINDOW_S = 900.0  # signatures older (or newer) than this are 20016, like the sandbox
REQUEST_TTL_S = 3600  # a retried request finds its job this long (well past the window)
MAX_BODY_BYTES = 1024 * 1024
POLL_S = 0.05
_LEADING_CODE = re.compile(r"^\s*(\d+)")
# What a REST-coded outcome means to a SOAP caller; anything else is "Lead Sync Failed".
_SOAP_CODES = {601: 20014, 602: 20014, 603: 20013, 607: 20015, 1004: 20103, 1006: 20105}


def bridge_wait_s(environ: Mapping[str, str] | None = None) -> float:
    """`LEADSYNC_BRIDGE_WAIT` in seconds (default 30)."""
    raw = (os.environ if environ is None else environ).get("LEADSYNC_BRIDGE_WAIT", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_WAIT_S
    except ValueError:
        raise ConfigError(f"LEADSYNC_BRIDGE_WAIT: expected seconds, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"LEADSYNC_BRIDGE_WAIT: must be positive, got {raw!r}")
    return value


def bridge_routes(settings: Settings, *, wait_s: float | None = None) -> list[Route]:
    """The bridge's route when legacy credentials are configured, else none (bridge off)."""
    if not settings.legacy_user_id or not settings.legacy_encryption_key:
        return []
    bridge = LegacyBridge(
        settings.legacy_user_id, settings.legacy_encryption_key, wait_s or bridge_wait_s()
    )
    return [Route(BRIDGE_PATH, bridge.endpoint, methods=["GET", "POST"])]


class LegacyBridge:
    """Checks, enqueues and waits for one legacy syncLead call."""

    def __init__(self, user_id: str, key: Secret, wait_s: float) -> None:
        self.user_id = user_id
        self._key = key
        self.wait_s = wait_s

    async def endpoint(self, request: Request) -> Response:
        """GET ?WSDL: the WSDL; POST: a syncLead call."""
        if request.method == "GET":
            if request.url.query.lower() != "wsdl":
                return Response("POST SOAP 1.1 requests here; the WSDL is at ?WSDL\n", 405)
            address = str(request.url.replace(query=""))
            return Response(render_wsdl(address), media_type=CONTENT_TYPE)
        try:
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                raise LegacyFault(20012, f"Request not understood: over {MAX_BODY_BYTES} bytes")
            call = parse_sync_lead(body)
            self._check_signature(call.auth)
            job_id = await self._enqueue_once(request, body, call)
            return await self._answer(request, job_id, call)
        except LegacyFault as error:
            return Response(fault(error.code, error.message), 500, media_type=CONTENT_TYPE)

    def _check_signature(self, auth: dict[str, str]) -> None:
        """20014 for a wrong user or signature, 20016 for a stale timestamp (FACTS §2)."""
        timestamp, given = auth.get("requestTimestamp", ""), auth.get("requestSignature", "")
        message = (timestamp + self.user_id).encode()
        expected = hmac.new(self._key.reveal().encode(), message, hashlib.sha1).hexdigest()
        user_ok = hmac.compare_digest(auth.get("mktowsUserId", "").encode(), self.user_id.encode())
        if not (timestamp and user_ok and hmac.compare_digest(given.encode(), expected.encode())):
            raise LegacyFault(20014, "Authentication failed")
        try:
            signed_at = datetime.fromisoformat(timestamp)
            if signed_at.tzinfo is None:
                raise ValueError("no offset")
        except ValueError:
            raise LegacyFault(20014, "requestTimestamp is not W3C with an offset") from None
        if abs(time.time() - signed_at.timestamp()) > TIMESTAMP_WINDOW_S:
            raise LegacyFault(20016, "Request Expired")

    async def _enqueue_once(self, request: Request, body: bytes, call: LegacyCall) -> str:
        """The job for these exact signed bytes: enqueued by the first arrival, found by retries."""
        state = intake_of(request)
        digest = hashlib.sha256(body).hexdigest()
        try:
            job = validate_job(call.job)
            key = f"{PREFIX}bridge:{digest}"
            return await state.enqueue_once(key, digest, job, ttl_s=REQUEST_TTL_S)
        except InvalidJob as error:  # the job's own fields, or the default workspace
            code = 20101 if "lead key" in str(error) else 20017
            raise LegacyFault(code, f"Invalid request: {error}") from None
        except ClientError:
            raise LegacyFault(
                20011, "Internal Error: the first identical call is still being enqueued"
            ) from None

    async def _answer(self, request: Request, job_id: str, call: LegacyCall) -> Response:
        state = intake_of(request)
        deadline = time.monotonic() + self.wait_s
        while True:
            status = await state.status(job_id) or {}
            if status.get("state") == "synced":
                body = success_sync_lead(
                    status["lead_id"], status["sync_status"], _record(status, call)
                )
                return Response(body, media_type=CONTENT_TYPE)
            if status.get("state") == "dead":
                code, message = _fault_of(status.get("error") or {})
                return Response(fault(code, message), 500, media_type=CONTENT_TYPE)
            if time.monotonic() >= deadline:
                message = (
                    f"Internal Error: job {job_id} is still running; send the same request again"
                )
                return Response(fault(20011, message), 500, media_type=CONTENT_TYPE)
            await asyncio.sleep(POLL_S)


def _record(status: dict[str, Any], call: LegacyCall) -> dict[str, Any] | None:
    """The leadRecord for returnLead: the lead's id with the keys and attributes just written."""
    if not call.job.get("return_lead"):
        return None
    return {
        "Id": status["lead_id"],
        "Email": call.job.get("email"),
        "ForeignSysPersonId": call.job.get("foreign_sys_person_id"),
        "ForeignSysType": call.job.get("foreign_sys_type"),
        "attributes": call.job.get("attributes", []),
    }


def _fault_of(error: dict[str, Any]) -> tuple[int, str]:
    """The SOAP fault for a dead job's error (REST codes translated, SOAP codes kept)."""
    message = str(error.get("message") or "Lead Sync Failed")
    code = error.get("code")
    if code is None:
        match = _LEADING_CODE.match(message)
        code = int(match.group(1)) if match else None
    if isinstance(code, int) and code >= 10000:
        return code, message
    return _SOAP_CODES.get(code, 20106) if isinstance(code, int) else 20106, message
