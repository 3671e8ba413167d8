"""The sandbox's identity service: client-credentials tokens, reused until they expire."""

from __future__ import annotations

import hmac
import secrets

from .config import SandboxConfig
from .rest_errors import RestError


class TokenIssuer:
    """Issues and checks bearer tokens; counts nothing itself (the call log does)."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._current: str | None = None

    def issue(
        self, config: SandboxConfig, client_id: str, secret: str, now: float
    ) -> tuple[str, int]:
        """The current token and its seconds left (a new one once it expired); None: bad client."""
        id_ok = hmac.compare_digest(client_id.encode(), config.client_id.encode())
        secret_ok = hmac.compare_digest(secret.encode(), config.client_secret.encode())
        if not (id_ok and secret_ok):
            raise PermissionError("Bad client credentials")
        current = self._current
        if current is None or self._expiry.get(current, 0.0) <= now:
            current = f"{secrets.token_hex(16)}:sj"
            self._expiry[current] = now + config.token_ttl_s
            self._current = current
        return current, max(0, int(self._expiry[current] - now))

    def check(self, authorization: str | None, now: float) -> None:
        """600 without a Bearer token, 601 for an unknown one, 602 for an expired one."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RestError(600, "Access token not specified")
        expiry = self._expiry.get(token.strip())
        if expiry is None:
            raise RestError(601, "Access token invalid")
        if expiry <= now:
            raise RestError(602, "Access token expired")

    def expire_all(self) -> None:
        """Every token issued so far expires now (its next use answers 602)."""
        self._expiry = dict.fromkeys(self._expiry, 0.0)

    def revoke_all(self) -> None:
        """Forget every token (its next use answers 601)."""
        self._expiry.clear()
        self._current = None
