"""Signing per FACTS §2: the official vectors, and a correct local offset in any time zone."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from worker.marketo import authentication_header, request_timestamp, sign

USER_ID = "demo17_1_809934544BFABAE58E5D27"
KEY = "27272727aa"
VECTORS = [
    ("2013-08-01T18:22:30-07:00", "b5e21953ae9f1b263e644da5eccce9ff33802513"),
    ("2013-08-05T16:34:19-07:00", "9890d974aa58ccb96d7a0a3166573f6436c883dd"),
    ("2013-08-20T10:26:07-07:00", "ca67d597ced5bfce7f638e96204d6e1f38d3ffe7"),
]
SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


@pytest.fixture
def local_zone() -> Iterator[object]:
    """Switch the process's local time zone (TZ + tzset) and put it back afterwards."""
    saved = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.parametrize(("timestamp", "signature"), VECTORS)
def test_the_official_vectors_sign_to_marketos_signatures(timestamp: str, signature: str) -> None:
    assert sign(timestamp, USER_ID, KEY) == signature


@pytest.mark.parametrize(
    ("zone", "wall_clock", "expected"),
    [
        ("America/Los_Angeles", datetime(2013, 8, 1, 18, 22, 30), "2013-08-01T18:22:30-07:00"),
        ("America/Los_Angeles", datetime(2013, 1, 15, 9, 5, 1), "2013-01-15T09:05:01-08:00"),
        ("Asia/Kolkata", datetime(2024, 7, 1, 12, 0, 0), "2024-07-01T12:00:00+05:30"),
        ("UTC", datetime(2024, 7, 1, 12, 0, 0), "2024-07-01T12:00:00+00:00"),
        ("America/St_Johns", datetime(2024, 7, 1, 12, 0, 0), "2024-07-01T12:00:00-02:30"),
        ("America/St_Johns", datetime(2024, 1, 10, 12, 0, 0), "2024-01-10T12:00:00-03:30"),
        ("Australia/Lord_Howe", datetime(2024, 1, 10, 12, 0, 0), "2024-01-10T12:00:00+11:00"),
        ("Europe/Berlin", datetime(2024, 3, 31, 3, 30, 0), "2024-03-31T03:30:00+02:00"),
    ],
)
def test_local_wall_clock_time_carries_the_offset_in_force_dst_included(
    local_zone: object, zone: str, wall_clock: datetime, expected: str
) -> None:
    local_zone(zone)  # type: ignore[operator]
    assert request_timestamp(wall_clock) == expected


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Asia/Kolkata", "UTC", "America/St_Johns"])
def test_now_is_rendered_in_the_local_zone_and_denotes_the_current_instant(
    local_zone: object, zone: str
) -> None:
    local_zone(zone)  # type: ignore[operator]
    stamp = request_timestamp()
    assert SHAPE.fullmatch(stamp)
    assert abs((datetime.fromisoformat(stamp) - datetime.now(UTC)).total_seconds()) < 5
    assert datetime.fromisoformat(stamp).utcoffset() == datetime.now().astimezone().utcoffset()


def test_aware_datetimes_keep_their_own_offset_in_summer_and_winter() -> None:
    pacific = ZoneInfo("America/Los_Angeles")
    summer = datetime(2013, 8, 1, 18, 22, 30, tzinfo=pacific)
    winter = datetime(2013, 12, 1, 18, 22, 30, tzinfo=pacific)
    assert request_timestamp(summer) == "2013-08-01T18:22:30-07:00"
    assert request_timestamp(winter) == "2013-12-01T18:22:30-08:00"
    assert request_timestamp(datetime(2024, 1, 1, 0, 0, 0, 987654, tzinfo=UTC)) == (
        "2024-01-01T00:00:00+00:00"
    )


def test_the_header_signs_exactly_the_timestamp_it_sends() -> None:
    moment = datetime(2013, 8, 20, 10, 26, 7, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert authentication_header(USER_ID, KEY, moment) == {
        "mktowsUserId": USER_ID,
        "requestSignature": "ca67d597ced5bfce7f638e96204d6e1f38d3ffe7",
        "requestTimestamp": "2013-08-20T10:26:07-07:00",
    }


def test_every_header_is_fresh() -> None:
    first = authentication_header(USER_ID, KEY)
    second = authentication_header(USER_ID, KEY)
    assert first is not second
    assert first["requestSignature"] == sign(first["requestTimestamp"], USER_ID, KEY)
    assert re.fullmatch(r"[0-9a-f]{40}", first["requestSignature"])
