"""One OAuth access token shared by every worker process through Redis, fetched once at a time.

The token is cached under one key whose TTL ends a margin before Marketo's `expires_in`, so it is
renewed before it expires; a 601/602 answer deletes it (only if it is still the token that failed).
Whoever finds no token takes a short lock and fetches; everyone else waits for its result, so N
workers starting together or seeing the same expiry cause one identity call, not N.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

import redis

from worker.config import Secret
from worker.marketo.errors import TransientError
from worker.marketo.rest_auth import AccessToken
from worker.policy.keys import PREFIX

DEFAULT_LOCK_TTL_S = 30.0  # longer than one identity call; frees the lock if its holder dies
POLL_S = 0.02
LAST_SECOND_S = 1.0  # a token with this little left is not worth using: wait for its successor

# KEYS[1] a key. ARGV[1] the value its owner wrote. Deletes the key only if it still holds that
# value: a late 601 never deletes a newer token, a slow fetcher never frees someone else's lock.
_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def token_scope(identity_url: str, client_id: str) -> str:
    """A short digest naming one Marketo instance and API user, so two never share a token."""
    return hashlib.sha256(f"{identity_url}\n{client_id}".encode()).hexdigest()[:16]


class SharedToken:
    """`get` returns the current token, fetching it if nobody has; `invalidate` drops a bad one."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        fetch: Callable[[], AccessToken],
        scope: str,
        margin_s: float,
        lock_ttl_s: float = DEFAULT_LOCK_TTL_S,
    ) -> None:
        self._redis = client
        self._fetch = fetch
        self._margin_s = margin_s
        self._lock_ttl_s = lock_ttl_s
        self.key = f"{PREFIX}rest:token:{scope}"
        self.lock_key = f"{PREFIX}rest:token-lock:{scope}"
        self._delete_if_equal = client.register_script(_DELETE_IF_EQUAL)

    def get(self) -> Secret:
        """The shared token; raises `TransientError` if another worker's fetch never finishes."""
        deadline = time.monotonic() + self._lock_ttl_s + 5.0
        while True:
            cached = self._read()
            if cached is not None:
                return cached
            holder = secrets.token_hex(8)
            if self._redis.set(self.lock_key, holder, nx=True, px=int(self._lock_ttl_s * 1000)):
                try:
                    return self._read() or self._renew()
                finally:
                    self._delete_if_equal(keys=[self.lock_key], args=[holder])
            if time.monotonic() > deadline:
                raise TransientError("no OAuth token: another worker's token request never ended")
            time.sleep(POLL_S)

    def invalidate(self, token: Secret) -> None:
        """Forget `token` (Marketo answered 601/602 to it) unless a newer one replaced it."""
        self._delete_if_equal(keys=[self.key], args=[token.reveal()])

    def _read(self) -> Secret | None:
        value = self._redis.get(self.key)
        if value is None:
            return None
        return Secret(value.decode() if isinstance(value, bytes) else str(value))

    def _renew(self) -> Secret:
        token = self._fetch()
        if token.expires_in_s <= LAST_SECOND_S:
            # Marketo hands out its current token until that expires, and rounds `expires_in`
            # down: wait out the old one (plus the rounding) and take its successor.
            time.sleep(max(0.0, token.expires_in_s) + LAST_SECOND_S)
            token = self._fetch()
        # Renew a margin before expiry, but never keep less than half of what is left: a token
        # handed back near its end is used for half its remaining life, then asked for again.
        keep_s = token.expires_in_s - min(self._margin_s, token.expires_in_s / 2)
        self._redis.set(self.key, token.value.reveal(), px=max(1, int(keep_s * 1000)))
        return token.value
