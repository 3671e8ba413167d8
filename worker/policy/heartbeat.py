"""A heartbeat that keeps running deliveries' run leases, lead holds and leases alive.

Leases are short (LEADSYNC_LEASE_TTL, 30 s by default) so that a worker killed mid-call frees its
lead and its place under the cap quickly, and its job is taken over by a surviving worker well
within a minute; a live worker renews them every third of that time however long Marketo takes.
One daemon thread per process renews every delivery registered with it, so a call costs a dict
insert and delete rather than a thread start and join.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog

from worker.logs import describe_error


class Heartbeat:
    """Calls each registered `renew` function every `every_s` seconds while it is registered."""

    def __init__(self, *, every_s: float) -> None:
        self._every_s = every_s
        self._renewers: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def keep_alive(self, renew: Callable[[], None]) -> Iterator[None]:
        """Renew with `renew` for the duration of the block."""
        beat_id = next(self._ids)
        with self._lock:
            self._renewers[beat_id] = renew
            if self._thread is None or not self._thread.is_alive():
                # Started lazily, so it lives in the process that runs calls (after a fork).
                self._thread = threading.Thread(
                    target=self._beat, name="leadsync-heartbeat", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                del self._renewers[beat_id]

    def _beat(self) -> None:
        log = structlog.get_logger(__name__)
        while True:
            time.sleep(self._every_s)
            with self._lock:
                renewers = list(self._renewers.values())
            for renew in renewers:
                try:
                    renew()
                except Exception as error:  # a missed beat is retried; the lease outlives two more
                    log.warning("heartbeat.failed", error=describe_error(error))
