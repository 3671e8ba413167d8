"""Marketo's duplicate race: overlapping inserts of one new email both create, unless off."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from .soapkit import Reply, Soap, envelope, record, sync_lead_body


def _two_overlapping_inserts(soap: Soap) -> list[Reply]:
    body = envelope(sync_lead_body(record("race@x.com"))).encode()
    with ThreadPoolExecutor(2) as pool:
        futures = [
            pool.submit(httpx.post, soap.endpoint, content=body, timeout=5) for _ in range(2)
        ]
        return [Reply(f.result()) for f in futures]


def test_two_overlapping_inserts_of_a_new_email_both_create(soap: Soap) -> None:
    soap.configure(latency_ms=300)
    replies = _two_overlapping_inserts(soap)
    assert [r.status for r in replies] == ["CREATED", "CREATED"]
    assert replies[0].lead_id != replies[1].lead_id
    assert [lead["email"] for lead in soap.leads()] == ["race@x.com", "race@x.com"]
    assert soap.sync_lead(record("race@x.com")).status == "UPDATED"  # later calls match one


def test_with_the_race_switched_off_one_creates_and_the_other_updates(soap: Soap) -> None:
    soap.configure(latency_ms=300, duplicate_race=False)
    replies = _two_overlapping_inserts(soap)
    assert sorted(r.status for r in replies) == ["CREATED", "UPDATED"]
    assert len(soap.leads()) == 1


def test_sequential_calls_never_duplicate(soap: Soap) -> None:
    soap.configure(latency_ms=50)
    statuses = [soap.sync_lead(record("seq@x.com")).status for _ in range(3)]
    assert statuses == ["CREATED", "UPDATED", "UPDATED"]
