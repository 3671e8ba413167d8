"""Authentication: 20014 for bad users or signatures, 20016 outside the window, header required."""

from __future__ import annotations

from datetime import timedelta

import pytest

from worker.sandbox.auth import signature

from .soapkit import Soap, auth_header, envelope, now_timestamp, record, sync_lead_body

BODY = sync_lead_body(record("auth@x.com"))


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2013-08-01T18:22:30-07:00", "b5e21953ae9f1b263e644da5eccce9ff33802513"),
        ("2013-08-05T16:34:19-07:00", "9890d974aa58ccb96d7a0a3166573f6436c883dd"),
        ("2013-08-20T10:26:07-07:00", "ca67d597ced5bfce7f638e96204d6e1f38d3ffe7"),
    ],
)
def test_the_signature_matches_marketos_official_vectors(timestamp: str, expected: str) -> None:
    assert signature("27272727aa", timestamp, "demo17_1_809934544BFABAE58E5D27") == expected


@pytest.mark.parametrize("zone_hours", [-7, 0, 5.5, 14])
def test_fresh_timestamps_in_any_offset_are_accepted(soap: Soap, zone_hours: float) -> None:
    headers = auth_header(timestamp=now_timestamp(zone_hours=zone_hours))
    assert soap.post(envelope(BODY, headers)).status in ("CREATED", "UPDATED")


def test_an_unknown_user_fails_authentication(soap: Soap) -> None:
    reply = soap.post(envelope(BODY, auth_header(user="someone_else")))
    assert (reply.status_code, reply.fault_code) == (500, 20014)


def test_a_signature_made_with_another_key_fails_authentication(soap: Soap) -> None:
    assert soap.post(envelope(BODY, auth_header(key="wrong"))).fault_code == 20014


def test_a_signature_over_another_timestamp_fails_authentication(soap: Soap) -> None:
    headers = auth_header().replace("</requestTimestamp>", "</requestTimestamp>", 1)
    signed = now_timestamp(offset=timedelta(seconds=-5))
    tampered = headers.replace(headers.split("<requestTimestamp>")[1].split("<")[0], signed)
    assert soap.post(envelope(BODY, tampered)).fault_code == 20014


def test_uppercase_hex_is_not_the_lowercase_signature_marketo_expects(soap: Soap) -> None:
    headers = auth_header()
    sig = headers.split("<requestSignature>")[1].split("<")[0]
    assert soap.post(envelope(BODY, headers.replace(sig, sig.upper()))).fault_code == 20014


@pytest.mark.parametrize("minutes", [-16, 16])
def test_timestamps_outside_fifteen_minutes_either_way_are_expired(
    soap: Soap, minutes: int
) -> None:
    stale = auth_header(timestamp=now_timestamp(offset=timedelta(minutes=minutes)))
    assert soap.post(envelope(BODY, stale)).fault_code == 20016


def test_the_timestamp_window_is_configurable(soap: Soap) -> None:
    soap.configure(timestamp_window_s=60)
    headers = auth_header(timestamp=now_timestamp(offset=timedelta(minutes=-2)))
    assert soap.post(envelope(BODY, headers)).fault_code == 20016
    soap.configure(timestamp_window_s=3600)
    assert soap.post(envelope(BODY, headers)).status == "CREATED"


def test_a_timestamp_without_offset_fails_authentication(soap: Soap) -> None:
    naive = now_timestamp()[:19]
    assert soap.post(envelope(BODY, auth_header(timestamp=naive))).fault_code == 20014


@pytest.mark.parametrize(
    "headers",
    ["", "<ns1:AuthenticationHeader><mktowsUserId>x</mktowsUserId></ns1:AuthenticationHeader>"],
)
def test_a_missing_or_partial_header_is_a_fault_and_never_a_success(
    soap: Soap, headers: str
) -> None:
    reply = soap.post(envelope(BODY, headers))
    assert (reply.status_code, reply.fault_code) == (500, 20014)
    assert soap.leads() == []
    assert [c["outcome"] for c in soap.calls()] == ["FAULT"]
