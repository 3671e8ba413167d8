"""Bearer API keys for the JSON API, checked in constant time; a key is never logged or echoed."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

from worker.config import Secret
from worker.intake.errors import ClientError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="leadsync"'}


class ApiKeys:
    """The accepted keys, kept as SHA-256 digests so comparisons take the same time for any key."""

    def __init__(self, keys: tuple[Secret, ...]) -> None:
        self._digests = [_digest(key.reveal()) for key in keys]

    def identify(self, request: Request) -> str:
        """Check the Authorization header; returns a short fingerprint of the key (for scoping)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        presented = _digest(token.strip())
        # Compare against every key without stopping early, so timing reveals nothing.
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(digest, presented)
        if scheme.lower() != "bearer" or not token.strip() or not matched:
            raise ClientError(
                401, "a valid API key is required", [("Authorization", "Bearer <key>")],
                headers=_CHALLENGE,
            )  # fmt: skip
        return presented.hex()[:16]


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
