"""`leadsync stats`: a live terminal view of the shared state, or one JSON snapshot for scripts."""

from __future__ import annotations

import json
import time
from typing import Any

import redis
from rich.console import Console
from rich.live import Live
from rich.table import Table

from worker.config import Settings
from worker.ops.snapshot import rates, sample, take

DEFAULT_INTERVAL_S = 1.0


def print_json(client: redis.Redis, settings: Settings, *, interval_s: float) -> None:
    """One snapshot, with rates measured over `interval_s`, as one JSON object on stdout."""
    print(json.dumps(sample(client, settings, interval_s)))


def live(client: redis.Redis, settings: Settings, *, interval_s: float) -> None:
    """Redraw the view every `interval_s` until interrupted."""
    before = take(client, settings)
    with Live(_table(before.as_dict()), console=Console(), auto_refresh=False) as view:
        while True:
            time.sleep(interval_s)
            after = take(client, settings)
            view.update(_table({**after.as_dict(), **rates(before, after)}), refresh=True)
            before = after


def _table(data: dict[str, Any]) -> Table:
    table = Table(title="leadsync", show_header=False, min_width=48)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    rows = [
        ("queued", data["queued"]),
        ("delivered, unacknowledged", data["unacked"]),
        ("waiting to retry (schedule)", data["scheduled"]),
        ("throughput", f"{data.get('synced_per_s', 0.0):.1f} synced/s"),
        ("retries", f"{data.get('retried_per_s', 0.0):.1f}/s  ({data['retried_total']} total)"),
        ("dead letters", f"{data['dead_letters']}  (+{data.get('dead_per_s', 0.0):.1f}/s)"),
        ("calls in flight", f"{data['in_flight']} / {data['max_concurrency']}"),
        (
            "limiter",
            f"{data['limiter_utilization']:.0%} of {data['rate_calls']} "
            f"per {data['rate_window_s']:g} s  ({data['booked_ahead']} waiting for a slot)",
        ),
        ("synced (all time)", data["synced_total"]),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table
