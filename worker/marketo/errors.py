"""Marketo errors, split first by what the caller does next.

    MarketoError        root; `code` is Marketo's fault code or None, `fault_class` says what to do
    ├── TransientError  retry with backoff (10001, 20011, HTTP 5xx, timeouts, resets, non-XML)
    ├── ResignError     20016: the signature went stale; sign again and retry at once
    ├── LimitError      20023 / 20024: wait for the account-wide limiter, then retry
    ├── QuotaError      20015: the daily quota is spent; wait for midnight America/Chicago
    └── PermanentError  anything else: retrying cannot help (bad key, bad field, bad request)

Every foreign error (zeep faults; HTTP, socket and requests errors) becomes one of these at the
client boundary, so the policy layer never sees transport exceptions. Messages carry Marketo's text,
never credentials.
"""

from __future__ import annotations

from enum import StrEnum


class FaultClass(StrEnum):
    """What a caller should do about a failure."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    RESIGN = "re-sign"
    LIMIT = "limit"
    QUOTA = "quota"


# FACTS.md §5. Codes not listed are permanent: an unknown fault is safer dead than retried forever.
FAULT_CLASSES: dict[int, FaultClass] = {
    10001: FaultClass.TRANSIENT,
    20011: FaultClass.TRANSIENT,
    20012: FaultClass.PERMANENT,
    20013: FaultClass.PERMANENT,
    20014: FaultClass.PERMANENT,
    20015: FaultClass.QUOTA,
    20016: FaultClass.RESIGN,
    20017: FaultClass.PERMANENT,
    20023: FaultClass.LIMIT,
    20024: FaultClass.LIMIT,
    **{code: FaultClass.PERMANENT for code in range(20101, 20111)},
}


def classify(code: int | None) -> FaultClass:
    """The class of a Marketo fault code; None (no code at all) means a transport failure."""
    if code is None:
        return FaultClass.TRANSIENT
    return FAULT_CLASSES.get(code, FaultClass.PERMANENT)


class MarketoError(Exception):
    """A syncLead call did not succeed."""

    fault_class: FaultClass = FaultClass.PERMANENT

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message if self.code is None else f"{self.code}: {self.message}"


class TransientError(MarketoError):
    """Retry later with backoff."""

    fault_class = FaultClass.TRANSIENT


class PermanentError(MarketoError):
    """Retrying cannot help."""

    fault_class = FaultClass.PERMANENT


class ResignError(MarketoError):
    """The request expired (20016); a freshly signed retry is expected to succeed."""

    fault_class = FaultClass.RESIGN


class LimitError(MarketoError):
    """The account's rate (20023) or concurrency (20024) limit was hit."""

    fault_class = FaultClass.LIMIT


class QuotaError(MarketoError):
    """The daily call quota (20015) is spent until midnight America/Chicago."""

    fault_class = FaultClass.QUOTA


_ERROR_TYPES: dict[FaultClass, type[MarketoError]] = {
    FaultClass.TRANSIENT: TransientError,
    FaultClass.PERMANENT: PermanentError,
    FaultClass.RESIGN: ResignError,
    FaultClass.LIMIT: LimitError,
    FaultClass.QUOTA: QuotaError,
}


def error_for_code(code: int | None, message: str) -> MarketoError:
    """The error instance for a Marketo fault code (None: a transport-level failure)."""
    return _ERROR_TYPES[classify(code)](message, code=code)
