"""The shared OAuth token: one fetch for many concurrent workers, renewed before it expires."""

from __future__ import annotations

import threading
import time

import redis

from worker.config import Secret
from worker.marketo.rest_auth import AccessToken
from worker.policy.tokens import SharedToken


class Identity:
    """Counts fetches; each one takes a moment, as a real identity call does."""

    def __init__(self, expires_in_s: float = 3600, delay_s: float = 0.2) -> None:
        self.fetches = 0
        self.expires_in_s = expires_in_s
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self) -> AccessToken:
        with self._lock:
            self.fetches += 1
            number = self.fetches
        time.sleep(self.delay_s)
        return AccessToken(Secret(f"token-{number}"), self.expires_in_s)


def shared(client: redis.Redis, identity: Identity, margin_s: float = 60) -> SharedToken:
    return SharedToken(client, fetch=identity, scope="test", margin_s=margin_s)


def test_concurrent_workers_cause_one_fetch_and_share_its_token(redis_client: redis.Redis) -> None:
    identity = Identity()
    seen: list[str] = []
    # One SharedToken per thread, as each worker process builds its own.
    threads = [
        threading.Thread(target=lambda: seen.append(shared(redis_client, identity).get().reveal()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert identity.fetches == 1
    assert seen == ["token-1"] * 8


def test_the_token_is_renewed_a_margin_before_it_expires(redis_client: redis.Redis) -> None:
    identity = Identity(expires_in_s=2.0, delay_s=0)
    token = shared(redis_client, identity, margin_s=0.5)
    assert token.get().reveal() == "token-1"
    ttl_ms = redis_client.pttl(token.key)
    assert 1000 < ttl_ms <= 1500  # kept 2.0 - 0.5 s, so it is gone before Marketo expires it
    time.sleep(1.6)
    assert token.get().reveal() == "token-2"


def test_invalidating_drops_only_the_token_that_failed(redis_client: redis.Redis) -> None:
    identity = Identity(delay_s=0)
    token = shared(redis_client, identity)
    first = token.get()
    token.invalidate(first)
    second = token.get()
    assert second.reveal() == "token-2"
    token.invalidate(first)  # a late 601 for the old token must not drop the new one
    assert token.get() == second
    assert identity.fetches == 2


def test_the_token_is_never_in_a_repr() -> None:
    assert "token-1" not in repr(AccessToken(Secret("token-1"), 10))
