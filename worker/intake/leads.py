"""The JSON API for services: `POST /v1/leads` (one job or a batch) and `GET /v1/jobs/{id}`."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from worker.intake import keys
from worker.intake.body import media_type, parse_json, read_body
from worker.intake.errors import ClientError
from worker.intake.once import fingerprint
from worker.intake.state import intake_of
from worker.intake.validation import batch_jobs, is_batch, single_job
from worker.jobs import SyncLeadJob

MAX_IDEMPOTENCY_KEY_CHARS = 255
MAX_JOB_ID_CHARS = 128
INLINE_BODY_BYTES = 64 * 1024  # bodies up to this are parsed and validated on the event loop


async def post_leads(request: Request) -> JSONResponse:
    """Validate every job first, then enqueue them all: 202 with the job id(s)."""
    intake = intake_of(request)
    scope = intake.api_keys.identify(request)
    kind = media_type(request)
    if kind != "application/json" and not kind.endswith("+json"):
        raise ClientError(415, "send application/json", [("Content-Type", "application/json")])
    idempotency_key = _idempotency_key(request)
    body = await read_body(request, limit_bytes=intake.settings.max_body_bytes)
    if len(body) <= INLINE_BODY_BYTES:
        batch, jobs = _jobs(body)
    else:  # a big batch: parse and validate off the event loop, so other requests keep flowing
        batch, jobs = await run_in_threadpool(_jobs, body)

    async def work() -> dict[str, Any]:
        job_ids = await intake.enqueue(jobs)
        return {"job_ids": job_ids} if batch else {"job_id": job_ids[0]}

    if idempotency_key is None:
        result, first = await work(), True
    else:
        result, first = await intake.once.run(
            keys.idempotency(scope, idempotency_key),
            fingerprint({"batch": batch, "jobs": [job.to_message() for job in jobs]}),
            ttl_s=intake.settings.idempotency_ttl_s,
            work=work,
        )
    headers = {} if first else {"Idempotent-Replayed": "true"}
    if "job_id" in result:
        headers["Location"] = f"/v1/jobs/{result['job_id']}"
    return JSONResponse(result, status_code=202, headers=headers)


async def get_job(request: Request) -> JSONResponse:
    """The job's status object, or 404 for an id that is unknown (or expired)."""
    intake = intake_of(request)
    intake.api_keys.identify(request)
    job_id: str = request.path_params["job_id"]
    status = None
    if len(job_id) <= MAX_JOB_ID_CHARS:
        status = await intake.status(job_id)
    if status is None:
        raise ClientError(404, "no such job", [("job_id", "unknown or expired")])
    return JSONResponse(status)


def _jobs(body: bytes) -> tuple[bool, list[SyncLeadJob]]:
    """Whether the body is a batch, and its jobs, each validated once by the job model."""
    parsed = parse_json(body)
    if is_batch(parsed):
        return True, batch_jobs(parsed)
    return False, [single_job(parsed)]


def _idempotency_key(request: Request) -> str | None:
    value = request.headers.get("idempotency-key")
    if value is None:
        return None
    if not value.strip() or len(value) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise ClientError(
            422,
            "invalid Idempotency-Key",
            [("Idempotency-Key", f"1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters")],
        )
    return value
