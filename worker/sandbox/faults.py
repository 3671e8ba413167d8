"""Fault injection: latency with jitter, random transient faults, scripted faults per lead key."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from .config import SandboxConfig, ScriptedFault

#: The body of the injected HTTP 503, like a load balancer's error page (no Marketo code in it).
UNAVAILABLE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>\n"
)


def key_of(value: object) -> str:
    """How a lead key is compared: as text, case-insensitively (emails are case-insensitive)."""
    return str(value).strip().lower()


class FaultInjector:
    """Picks the fault a call suffers, if any, and how long it is delayed."""

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)
        self._scripted: dict[str, list[list[Any]]] = {}

    def load(self, faults: Iterable[ScriptedFault]) -> None:
        """Replace the scripted faults."""
        self._scripted = {}
        self.add(faults)

    def add(self, faults: Iterable[ScriptedFault]) -> None:
        """Queue scripted faults; those for the same key fire in the order added."""
        for fault in faults:
            self._scripted.setdefault(key_of(fault.key), []).append([fault.count, fault.code])

    def scripted(self) -> list[dict[str, Any]]:
        """The scripted faults still to fire."""
        return [
            {"key": key, "count": count, "code": code}
            for key, entries in self._scripted.items()
            for count, code in entries
        ]

    def pick(self, config: SandboxConfig, keys: Iterable[object]) -> str | None:
        """A scripted fault for one of the call's keys, else one drawn at `fault_rate`, or None."""
        if self._scripted:
            for value in keys:
                entries = self._scripted.get(key_of(value))
                if entries:
                    entries[0][0] -= 1
                    code = entries[0][1]
                    if entries[0][0] <= 0:
                        entries.pop(0)
                    return str(code)
        if config.fault_rate and self._random.random() < config.fault_rate:
            return self._random.choice(config.fault_kinds)
        return None

    def delay_s(self, config: SandboxConfig) -> float:
        """Fixed latency plus uniform jitter, in seconds."""
        jitter = self._random.uniform(0.0, config.jitter_ms) if config.jitter_ms else 0.0
        return (config.latency_ms + jitter) / 1000.0
