"""Client errors as one exception carrying the status and the fields at fault, rendered as JSON.

ClientError            any 4xx the intake answers; `errors` lists (field, rule)
(redis.RedisError)     translated at the app boundary into 503: the client may retry
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.responses import JSONResponse


class ClientError(Exception):
    """A request the intake refuses; `status` is the 4xx to answer, `errors` the fields at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Sequence[tuple[str, str]] = (),
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})


def error_response(
    status: int,
    message: str,
    errors: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one JSON error shape: `{"error": message, "errors": [{"field", "rule"}]}`."""
    body = {"error": message, "errors": [{"field": f, "rule": r} for f, r in errors]}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
