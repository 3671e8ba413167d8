"""The AuthenticationHeader check: user id, HMAC-SHA1 signature, and the timestamp's age."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from .errors import ApiError


def signature(key: str, timestamp: str, user_id: str) -> str:
    """Lowercase hex HMAC-SHA1 of timestamp + user id, keyed by the encryption key (FACTS §2)."""
    message = (timestamp + user_id).encode()
    return hmac.new(key.encode(), message, hashlib.sha1).hexdigest()


def parse_timestamp(text: str) -> float:
    """Epoch seconds of a W3C timestamp that carries a UTC offset (`Z` or `±HH:MM`)."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError("timestamp has no UTC offset")
    return moment.timestamp()


def check(
    header: dict[str, str] | None,
    *,
    user_id: str,
    key: str,
    window_s: float,
    now: float,
) -> None:
    """20014 for a missing header, unknown user or bad signature; 20016 for a stale timestamp."""
    if header is None:
        raise ApiError(20014, "AuthenticationHeader is missing")
    given_user = header.get("mktowsUserId")
    given_signature = header.get("requestSignature")
    timestamp = header.get("requestTimestamp")
    if not given_user or not given_signature or not timestamp:
        raise ApiError(20014, "AuthenticationHeader lacks mktowsUserId, signature or timestamp")
    expected = signature(key, timestamp, user_id)
    user_ok = hmac.compare_digest(given_user.encode(), user_id.encode())
    signature_ok = hmac.compare_digest(given_signature.encode(), expected.encode())
    if not (user_ok and signature_ok):
        raise ApiError(20014)
    try:
        signed_at = parse_timestamp(timestamp)
    except ValueError:
        raise ApiError(20014, f"requestTimestamp {timestamp!r} is not W3C with an offset") from None
    if abs(now - signed_at) > window_s:
        raise ApiError(20016)
