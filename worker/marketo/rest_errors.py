"""The one boundary where REST answers and requests failures become leadsync's `MarketoError` tree.

Marketo's REST API answers errors as HTTP 200 with `success: false, errors: [{code, message}]`
(FACTS §7). Codes map onto the same fault classes the SOAP faults use, so the policy layer retries,
waits and dead-letters REST jobs exactly as it does SOAP ones:

    502 604 608 611 713  -> TransientError   retry with backoff
    606 615              -> LimitError       rate / concurrency limit: wait for the limiter
    601 602              -> ResignError      token invalid / expired: fetch a new one, call again
    607                  -> QuotaError       daily quota: wait for midnight America/Chicago
    anything else (1xxx) -> PermanentError   retrying cannot help
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import requests

from worker.marketo.errors import (
    FaultClass,
    LimitError,
    MarketoError,
    PermanentError,
    QuotaError,
    ResignError,
    TransientError,
)

REST_FAULT_CLASSES: dict[int, FaultClass] = {
    502: FaultClass.TRANSIENT,
    601: FaultClass.RESIGN,
    602: FaultClass.RESIGN,
    604: FaultClass.TRANSIENT,
    606: FaultClass.LIMIT,
    607: FaultClass.QUOTA,
    608: FaultClass.TRANSIENT,
    611: FaultClass.TRANSIENT,
    615: FaultClass.LIMIT,
    713: FaultClass.TRANSIENT,
}
_TYPES: dict[FaultClass, type[MarketoError]] = {
    FaultClass.TRANSIENT: TransientError,
    FaultClass.PERMANENT: PermanentError,
    FaultClass.RESIGN: ResignError,
    FaultClass.LIMIT: LimitError,
    FaultClass.QUOTA: QuotaError,
}
_REDACTED = "[redacted]"


def rest_error(code: int | None, message: str) -> MarketoError:
    """The error for a REST error code; unknown codes (record-level 1xxx included) are permanent."""
    if code is None:
        return TransientError(message)
    return _TYPES[REST_FAULT_CLASSES.get(code, FaultClass.PERMANENT)](message, code=code)


def code_of(value: object) -> int | None:
    """A REST code as an int (Marketo sends them as strings)."""
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def check_answer(response: requests.Response, secrets: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON body of a successful REST answer, or the `MarketoError` its errors mean."""
    hidden = [secret for secret in secrets if secret]
    if response.status_code != 200:
        # Marketo's own errors come as HTTP 200; any other status is the proxy or the platform.
        kind = PermanentError if 400 <= response.status_code < 500 else TransientError
        raise kind(f"HTTP {response.status_code} from Marketo's REST API")
    try:
        body = response.json()
    except ValueError:
        raise TransientError("HTTP 200 with a body that is not JSON") from None
    if not isinstance(body, Mapping):
        raise TransientError("HTTP 200 with a JSON body that is not an object")
    if body.get("success") is False:
        errors = body.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], Mapping) else {}
        message = str(first.get("message") or "REST call failed without a message")
        raise rest_error(code_of(first.get("code")), scrub(message, hidden))
    return dict(body)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` without any of the secrets."""
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text
