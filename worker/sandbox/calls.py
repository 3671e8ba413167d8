"""The call log the inspection API serves: one entry per request to the SOAP endpoint."""

from __future__ import annotations

from collections import deque
from typing import Any


class CallLog:
    """The most recent calls (bounded), each numbered from 1 since the last reset."""

    def __init__(self, size: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0

    def clear(self) -> None:
        """Forget every call."""
        self._entries.clear()
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> None:
        """Append one finished call."""
        self._seq += 1
        entry["seq"] = self._seq
        self._entries.append(entry)

    def since(self, seq: int = 0) -> list[dict[str, Any]]:
        """Calls numbered above `seq`, oldest first."""
        return [entry for entry in self._entries if entry["seq"] > seq]
