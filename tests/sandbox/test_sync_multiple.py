"""syncMultipleLeads: up to 300 records, dedupEnabled, one syncStatus per record."""

from __future__ import annotations

from .soapkit import Soap, record


def _statuses(reply: object) -> list[tuple[str, str, str | None]]:
    nodes = reply.root.xpath("//syncStatusList/syncStatus")  # type: ignore[attr-defined]
    return [(n.findtext("leadId"), n.findtext("status"), n.findtext("error")) for n in nodes]


def test_one_sync_status_per_record_in_order(soap: Soap) -> None:
    soap.sync_lead(record("old@x.com"))
    reply = soap.sync_multiple([record("old@x.com"), record("new@x.com"), record("new@x.com")])
    assert reply.status_code == 200
    assert [s[1] for s in _statuses(reply)] == ["UPDATED", "CREATED", "UPDATED"]
    assert reply.root.xpath("//syncStatus/error/@*[local-name()='nil']") == ["true"] * 3
    assert len(soap.leads()) == 2
    [call] = [c for c in soap.calls() if c["operation"] == "syncMultipleLeads"]
    assert call["statuses"] == ["UPDATED", "CREATED", "UPDATED"]


def test_dedup_disabled_creates_duplicates_for_email_only_records(soap: Soap) -> None:
    soap.sync_lead(record("d@x.com", fsp="F-1", fsp_type="CUSTOM"))
    reply = soap.sync_multiple(
        [record("d@x.com"), record("d@x.com", fsp="F-1", fsp_type="CUSTOM")], dedup=False
    )
    assert [s[1] for s in _statuses(reply)] == ["CREATED", "UPDATED"]
    assert len(soap.leads()) == 2


def test_dedup_is_on_by_default(soap: Soap) -> None:
    soap.sync_lead(record("e@x.com"))
    assert [s[1] for s in _statuses(soap.sync_multiple([record("e@x.com")]))] == ["UPDATED"]


def test_a_bad_record_fails_alone_with_its_error(soap: Soap) -> None:
    reply = soap.sync_multiple(
        [
            record("ok@x.com"),
            record("bad@x.com", attrs={"Nope": "1"}),
            "<leadRecord><Id>x</Id></leadRecord>",
        ]
    )
    statuses = _statuses(reply)
    assert [s[1] for s in statuses] == ["CREATED", "FAILED", "FAILED"]
    assert statuses[1][2].startswith("20105") and statuses[2][2].startswith("20102")


def test_three_hundred_records_pass_and_three_hundred_one_are_refused(soap: Soap) -> None:
    batch = [record(f"b{i}@x.com") for i in range(300)]
    assert len(_statuses(soap.sync_multiple(batch))) == 300
    reply = soap.sync_multiple([*batch, record("one-too-many@x.com")])
    assert (reply.status_code, reply.fault_code) == (500, 20110)
    assert len(soap.leads()) == 300
