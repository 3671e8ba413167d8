"""A heartbeat that keeps one delivery's run lease, lead holds and lease alive while it calls.

Leases are short (LEADSYNC_LEASE_TTL, 30 s by default) so that a worker killed mid-call frees its
lead and its place under the cap quickly, and its job is taken over by a surviving worker well
within a minute; a live worker renews them every third of that time however long Marketo takes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog


@contextmanager
def heartbeat(renew: Callable[[], None], *, every_s: float) -> Iterator[None]:
    """Call `renew` every `every_s` seconds on a daemon thread for the duration of the block."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                renew()
            except Exception as error:  # a missed beat is retried; the lease outlives two more
                structlog.get_logger().warning("heartbeat.failed", error=repr(error))

    thread = threading.Thread(target=beat, name="leadsync-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
