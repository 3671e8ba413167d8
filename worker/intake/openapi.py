"""The intake's OpenAPI 3.1 document, written by hand and held in step with the routes by a test."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from worker.intake.settings import MAX_BATCH_JOBS
from worker.jobs import FOREIGN_SYS_TYPES, MAX_ATTRIBUTES, MAX_KEY_CHARS, MAX_LEAD_ID

_KEY_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS}
_ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(*codes: int, ok: dict[str, Any] | None = None) -> dict[str, Any]:
    reasons = {
        400: "Malformed body",
        401: "No valid API key",
        403: "Origin not allowed for this form",
        404: "Unknown id or form",
        405: "Method not allowed",
        409: "The first request with this Idempotency-Key is still in progress",
        413: "Body too large",
        415: "Wrong content type",
        422: "Invalid field; the error names it",
        429: "Too many posts from this address",
        503: "Redis unavailable; retry",
    }
    responses = dict(ok or {})
    for code in codes:
        content = {"application/json": {"schema": _ERROR}}
        responses[str(code)] = {"description": reasons[code], "content": content}
    return responses


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


JOB_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "anyOf": [
        {"required": ["email"]},
        {"required": ["lead_id"]},
        {"required": ["foreign_sys_person_id"]},
    ],
    "properties": {
        "email": {"type": "string", "format": "email", "maxLength": 254},
        "lead_id": {"type": "integer", "minimum": 1, "maximum": MAX_LEAD_ID},
        "foreign_sys_person_id": _KEY_TEXT,
        "foreign_sys_type": {"type": "string", "enum": list(FOREIGN_SYS_TYPES)},
        "marketo_cookie": _KEY_TEXT,
        "workspace": _KEY_TEXT,
        "return_lead": {"type": "boolean"},
        "attributes": {
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "maxProperties": MAX_ATTRIBUTES,
                },
                {
                    "type": "array",
                    "maxItems": MAX_ATTRIBUTES,
                    "items": {
                        "type": "array",
                        "prefixItems": [{"type": "string"}, {"type": "string"}],
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
            ]
        },
    },
}

_STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["job_id", "state", "attempts", "lead_id", "sync_status", "error"],
    "properties": {
        "job_id": {"type": "string"},
        "state": {"enum": ["queued", "running", "retrying", "synced", "dead"]},
        "attempts": {"type": "integer"},
        "lead_id": {"type": ["integer", "null"]},
        "sync_status": {"enum": ["CREATED", "UPDATED", "FAILED", None]},
        "error": {"type": ["object", "null"]},
        "created_at": {"type": ["string", "null"]},
        "updated_at": {"type": ["string", "null"]},
    },
}

_FORM_BODY = {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "leadsync intake", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Job": JOB_SCHEMA,
            "Batch": {
                "type": "object",
                "additionalProperties": False,
                "required": ["jobs"],
                "properties": {
                    "jobs": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH_JOBS,
                        "items": {"$ref": "#/components/schemas/Job"},
                    }
                },
            },
            "JobStatus": _STATUS_SCHEMA,
            "Error": {
                "type": "object",
                "required": ["error", "errors"],
                "properties": {
                    "error": {"type": "string"},
                    "errors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"field": {"type": "string"}, "rule": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
    "paths": {
        "/v1/leads": {
            "post": {
                "summary": "Enqueue one job or a batch; all are validated before any is enqueued",
                "security": _BEARER,
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"$ref": "#/components/schemas/Job"},
                                    {"$ref": "#/components/schemas/Batch"},
                                ]
                            }
                        }
                    },
                },
                "responses": _responses(
                    400,
                    401,
                    409,
                    413,
                    415,
                    422,
                    503,
                    ok={
                        "202": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "job_id": {"type": "string"},
                                    "job_ids": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                            "Accepted",
                        )
                    },
                ),
            }
        },
        "/v1/jobs/{job_id}": {
            "get": {
                "summary": "The job's status object",
                "security": _BEARER,
                "parameters": [
                    {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": _responses(
                    401,
                    404,
                    503,
                    ok={
                        "200": _json(
                            {"$ref": "#/components/schemas/JobStatus"}, "The status object"
                        )
                    },
                ),
            }
        },
        "/v1/forms/{name}": {
            "post": {
                "summary": "A browser form post: 303 to its thank-you page, or JSON if asked",
                "parameters": [_NAME],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": _FORM_BODY,
                        "multipart/form-data": _FORM_BODY,
                    },
                },
                "responses": _responses(
                    400,
                    403,
                    404,
                    413,
                    415,
                    422,
                    429,
                    503,
                    ok={
                        "202": _json(
                            {"type": "object", "properties": {"job_id": {"type": "string"}}},
                            "Accepted",
                        ),
                        "303": {"description": "Accepted; see the thank-you page"},
                    },
                ),
            },
            "options": {
                "summary": "CORS preflight against the form's allow-list",
                "parameters": [_NAME],
                "responses": _responses(400, 403, 404, 405, ok={"204": {"description": "Allowed"}}),
            },
        },
        "/healthz": {
            "get": {
                "summary": "The process is up",
                "responses": {"200": _json({"type": "object"}, "Up")},
            }
        },
        "/readyz": {
            "get": {
                "summary": "Redis answers PING",
                "responses": {
                    "200": _json({"type": "object"}, "Ready"),
                    "503": _json({"type": "object"}, "Redis unavailable"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
    },
}


async def openapi_document(_: Request) -> JSONResponse:
    """Serve the document so clients and fuzzers can read the contract."""
    return JSONResponse(DOCUMENT)
