"""Browser form capture: `POST /v1/forms/{name}` (urlencoded or multipart) and its CORS preflight.

Public, so guarded by the form's origin allow-list, a per-address rate limit, a small body cap, a
honeypot field and a double-click window; the Munchkin cookie links the lead to its web visits.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from worker.intake import keys
from worker.intake.body import media_type, read_body
from worker.intake.errors import ClientError
from worker.intake.forms import COOKIE_FIELD, FormConfig
from worker.intake.once import fingerprint
from worker.intake.state import IntakeState, intake_of
from worker.intake.validation import checked
from worker.jobs import SyncLeadJob

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_FIELDS = 200
PREFLIGHT_MAX_AGE_S = 600
ALLOWED_REQUEST_HEADERS = "Accept, Content-Type"


async def form_endpoint(request: Request) -> Response:
    """Dispatch a form's POST and its OPTIONS preflight."""
    form = _form(request)
    origin = request.headers.get("origin")
    if not form.allows_origin(origin):
        raise ClientError(403, "this origin may not post this form", [("Origin", "not allowed")])
    cors = _cors_headers(origin)
    try:
        if request.method == "OPTIONS":
            return _preflight(request, origin, cors)
        return await _post(request, form, cors)
    except ClientError as error:
        error.headers |= cors  # so the page's script can read why it was refused
        raise


def _form(request: Request) -> FormConfig:
    name = request.path_params["name"]
    form = intake_of(request).settings.forms.get(name)
    if form is None:
        raise ClientError(404, "no such form", [("name", "unknown form")])
    return form


def _preflight(request: Request, origin: str | None, cors: dict[str, str]) -> Response:
    if origin is None:
        raise ClientError(400, "a preflight needs an Origin", [("Origin", "required")])
    asked = request.headers.get("access-control-request-method", "POST").upper()
    if asked != "POST":
        raise ClientError(405, "forms take POST only", [("Access-Control-Request-Method", "POST")])
    headers = cors | {
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
        "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
    }
    return Response(status_code=204, headers=headers)


async def _post(request: Request, form: FormConfig, cors: dict[str, str]) -> Response:
    intake = intake_of(request)
    address = request.client.host if request.client else "unknown"
    await intake.form_rate.hit(address)
    if media_type(request) not in FORM_TYPES:
        raise ClientError(415, "send a form post", [("Content-Type", " or ".join(FORM_TYPES))])
    body = await read_body(request, limit_bytes=intake.settings.form_max_body_bytes)
    values = await _parse_form(request, body, intake.settings.form_max_body_bytes)
    cookie = request.cookies.get(COOKIE_FIELD) or values.get(COOKIE_FIELD)
    if form.honeypot and values.get(form.honeypot, "").strip():
        # Look accepted so a bot learns nothing; nothing is enqueued.
        job_id = secrets.token_hex(16)
    else:
        job_id = await _enqueue_once(intake, form, _job(form, values, cookie))
    if _wants_json(request) or not form.thank_you_url:
        return JSONResponse({"job_id": job_id}, status_code=202, headers=cors)
    return RedirectResponse(form.thank_you_url, status_code=303, headers=cors)


async def _parse_form(request: Request, body: bytes, limit_bytes: int) -> dict[str, str]:
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        data: FormData = await Request(request.scope, replay).form(
            max_files=MAX_FORM_FIELDS, max_fields=MAX_FORM_FIELDS, max_part_size=limit_bytes
        )
    except (HTTPException, ValueError) as error:
        raise ClientError(
            400, "malformed form body", [("body", str(getattr(error, "detail", error))[:200])]
        ) from None
    values: dict[str, str] = {}
    for name, value in data.multi_items():
        if isinstance(value, str) and name not in values:
            values[name] = value  # the first value of a repeated field wins; files are ignored
    await data.close()
    return values


def _job(form: FormConfig, values: dict[str, str], cookie: str | None) -> SyncLeadJob:
    fields: dict[str, Any] = {
        "attributes": {
            attribute: values[field]
            for field, attribute in form.fields.items()
            if values.get(field, "").strip()  # a blank optional field never clears Marketo data
        }
    }
    email = values.get(form.email_field, "").strip()
    for name, value in (
        ("email", email),
        ("marketo_cookie", cookie),
        ("workspace", form.workspace),
    ):
        if value:
            fields[name] = value
    try:
        return checked(fields)
    except ClientError as error:
        # Name the form's own field: "email" and the lead-key rule both mean the email field.
        error.errors = [(_form_field(form, f), r) for f, r in error.errors]
        raise


def _form_field(form: FormConfig, field: str) -> str:
    return form.email_field if "email" in field.replace(",", " ").split() else field


async def _enqueue_once(intake: IntakeState, form: FormConfig, job: SyncLeadJob) -> str:
    key = keys.form_post(form.name, fingerprint(job.to_message()))
    return await intake.enqueue_once(key, "form", job, ttl_s=intake.settings.form_dedupe_window_s)


def _cors_headers(origin: str | None) -> dict[str, str]:
    if origin is None:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept
