"""The intake's Redis keys, under leadsync's one `leadsync:` namespace."""

from __future__ import annotations

import hashlib

from worker.policy.keys import PREFIX

INTAKE = f"{PREFIX}intake:"


def idempotency(scope: str, key: str) -> str:
    """The remembered outcome of one Idempotency-Key, scoped to the API key that sent it."""
    return f"{INTAKE}idem:{scope}:{_hash(key)}"


def form_post(form: str, fingerprint: str) -> str:
    """The remembered outcome of one form post's content (double-click guard)."""
    return f"{INTAKE}form:{form}:{fingerprint}"


def rate(client: str) -> str:
    """The per-client form post counter of the current window."""
    return f"{INTAKE}rate:{client}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
