"""Scrape-time collectors: leadsync's shared state from Redis, and the pool's per-process files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import redis
from prometheus_client import REGISTRY, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric

from worker.config import Settings
from worker.ops.snapshot import take


class RedisCollector:
    """Queue depth, calls in flight, dead letters and limiter use, read from Redis per scrape."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._client = client
        self._settings = settings

    def collect(self) -> Iterator[Metric]:
        """One reading; `leadsync_redis_up` is 0 (and nothing else is reported) if Redis fails."""
        try:
            snap = take(self._client, self._settings)
        except (redis.RedisError, OSError):
            yield GaugeMetricFamily("leadsync_redis_up", "Redis answered this scrape.", value=0)
            return
        yield GaugeMetricFamily("leadsync_redis_up", "Redis answered this scrape.", value=1)
        depth = GaugeMetricFamily(
            "leadsync_queue_depth", "Jobs waiting, by where they wait.", labels=["state"]
        )
        depth.add_metric(["queued"], snap.queued)
        depth.add_metric(["unacked"], snap.unacked)
        depth.add_metric(["scheduled"], snap.scheduled)
        yield depth
        yield GaugeMetricFamily(
            "leadsync_marketo_calls_in_flight",
            "Concurrency leases held across every worker (calls in flight or about to be).",
            value=snap.in_flight,
        )
        yield GaugeMetricFamily(
            "leadsync_marketo_max_concurrency",
            "MARKETO_MAX_CONCURRENCY.",
            value=snap.max_concurrency,
        )
        yield GaugeMetricFamily(
            "leadsync_dead_letters", "Dead letters kept in the store.", value=snap.dead_letters
        )
        yield GaugeMetricFamily(
            "leadsync_limiter_window_calls",
            "Calls made in the last rolling window of MARKETO_RATE_LIMIT.",
            value=snap.window_calls,
        )
        yield GaugeMetricFamily(
            "leadsync_limiter_window_limit",
            "Calls allowed per rolling window.",
            value=snap.rate_calls,
        )


class ThisProcessCollector:
    """The metrics of this process alone (the intake, or any process without a pool)."""

    def collect(self) -> Iterator[Metric]:
        """Everything in prometheus-client's default registry."""
        yield from REGISTRY.collect()


class PoolCollector:
    """Metrics of every process writing into one multiprocess directory, the dead ones pruned."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def collect(self) -> Iterator[Metric]:
        """Mark exited processes dead (their live gauges go), then merge every file."""
        for pid in _writer_pids(self._path):
            if not _alive(pid):
                multiprocess.mark_process_dead(pid, str(self._path))
        yield from multiprocess.MultiProcessCollector(None, str(self._path)).collect()


def _writer_pids(path: Path) -> set[int]:
    # prometheus-client names live-gauge files `gauge_live<mode>_<pid>.db`.
    pids = set()
    for file in path.glob("gauge_live*_*.db"):
        suffix = file.stem.rpartition("_")[2]
        if suffix.isdigit():
            pids.add(int(suffix))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
