"""Marketo's limits: rate (20023), calls in flight (20024), daily quota (20015); each can be off."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from worker.sandbox.limits import next_quota_reset

from .soapkit import Reply, Soap, envelope, record, sync_lead_body


def _codes(soap: Soap, count: int) -> list[int | None]:
    return [soap.sync_lead(record(f"l{i}@x.com")).fault_code for i in range(count)]


def test_the_rate_limit_faults_calls_beyond_n_per_window_then_lets_them_through(soap: Soap) -> None:
    soap.configure(rate_limit="3/0.5")
    assert _codes(soap, 4) == [None, None, None, 20023]
    soap.configure(rate_limit="off")
    assert _codes(soap, 5) == [None] * 5


def test_the_rate_window_rolls(soap: Soap) -> None:
    soap.configure(rate_limit=[2, 0.3])
    assert _codes(soap, 3) == [None, None, 20023]
    import time

    time.sleep(0.35)
    assert _codes(soap, 1) == [None]


def test_calls_in_flight_beyond_the_limit_are_refused(soap: Soap) -> None:
    soap.configure(max_concurrency=2, latency_ms=400)
    xml = [envelope(sync_lead_body(record(f"c{i}@x.com"))).encode() for i in range(3)]

    def post(body: bytes) -> int | None:
        return Reply(httpx.post(soap.endpoint, content=body, timeout=5)).fault_code

    with ThreadPoolExecutor(3) as pool:
        codes = list(pool.map(post, xml))
    assert sorted(codes, key=str) == [20024, None, None]
    soap.configure(max_concurrency=None, latency_ms=0)
    assert _codes(soap, 1) == [None]


def test_the_daily_quota_faults_once_used_up_and_can_be_switched_off(soap: Soap) -> None:
    soap.configure(daily_quota=2)
    assert _codes(soap, 3) == [None, None, 20015]
    soap.configure(daily_quota="off")
    assert _codes(soap, 1) == [None]


def test_the_quota_resets_at_midnight_in_chicago() -> None:
    # 2024-07-01T12:00:00Z is 07:00 in Chicago (CDT, UTC-5): the reset is at 05:00 UTC next day.
    assert next_quota_reset(1719835200.0) == 1719896400.0


def test_refused_calls_are_logged_with_their_codes(soap: Soap) -> None:
    soap.configure(rate_limit="1/60")
    _codes(soap, 2)
    assert [(c["outcome"], c["fault_code"]) for c in soap.calls()] == [
        ("CREATED", None),
        ("FAULT", 20023),
    ]


def test_the_defaults_are_marketos(soap: Soap) -> None:
    from worker.sandbox import SandboxConfig

    config = SandboxConfig()
    assert (config.rate_limit, config.max_concurrency, config.daily_quota) == (
        (100, 20.0),
        10,
        10_000,
    )
    assert config.timestamp_window_s == 900
    assert soap.post(envelope(sync_lead_body(record("x@x.com")))).status == "CREATED"
