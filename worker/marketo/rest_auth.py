"""OAuth2 client credentials against Marketo's identity service (FACTS §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import requests

from worker.config import Secret
from worker.marketo.errors import PermanentError, TransientError
from worker.marketo.rest_errors import check_answer
from worker.marketo.transport_errors import translated_errors


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and how many seconds Marketo says it has left."""

    value: Secret
    expires_in_s: float


class TokenSource(Protocol):
    """Where a client gets its bearer token (one shared through Redis, in the workers)."""

    def get(self) -> Secret:
        """The current token."""
        ...

    def invalidate(self, token: Secret) -> None:
        """Marketo refused `token` (601/602): do not hand it out again."""
        ...


def fetch_token(
    session: requests.Session,
    *,
    identity_url: str,
    client_id: str,
    client_secret: Secret,
    timeouts: tuple[float, float],
) -> AccessToken:
    """Ask the identity service for a token; the secret goes in the POST body, never the URL."""
    secret = client_secret.reveal()
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    with translated_errors(secrets=(secret,)):
        response = session.post(
            f"{identity_url.rstrip('/')}/oauth/token", data=form, timeout=timeouts
        )
    if response.status_code in (400, 401):
        raise PermanentError(
            f"Marketo refused the client credentials (HTTP {response.status_code}): "
            "check MARKETO_CLIENT_ID and MARKETO_CLIENT_SECRET"
        )
    body = check_answer(response, secrets=(secret,))
    value, expires_in = body.get("access_token"), body.get("expires_in")
    if not isinstance(value, str) or not value or not isinstance(expires_in, int | float):
        raise TransientError("the identity service answered without access_token or expires_in")
    return AccessToken(Secret(value), float(expires_in))
