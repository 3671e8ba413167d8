"""syncLead semantics (FACTS §4): key precedence, written keys, cookies, returnLead, fields."""

from __future__ import annotations

from .soapkit import Soap, envelope, record, sync_lead_body


def test_a_new_email_is_created_and_the_same_email_again_is_updated_with_the_same_id(
    soap: Soap,
) -> None:
    first = soap.sync_lead(record("ann@x.com", attrs={"FirstName": "Ann"}))
    second = soap.sync_lead(record("ANN@x.com", attrs={"LastName": "Lee"}))
    assert (first.status, second.status) == ("CREATED", "UPDATED")
    assert first.lead_id == second.lead_id == 1_000_001
    [lead] = soap.leads()
    assert lead["attributes"] == {"FirstName": "Ann", "LastName": "Lee"}


def test_id_beats_every_other_key_and_writes_the_foreign_id_onto_that_lead(soap: Soap) -> None:
    ann = soap.sync_lead(record("ann@x.com")).lead_id
    bob = soap.sync_lead(record("bob@x.com", fsp="SF-1", fsp_type="SFDC")).lead_id
    reply = soap.sync_lead(record("bob@x.com", id=ann, fsp="SF-9", fsp_type="SFDC"))
    assert (reply.status, reply.lead_id) == ("UPDATED", ann)
    leads = {lead["id"]: lead for lead in soap.leads()}
    assert leads[ann]["foreign_sys_person_id"] == "SF-9"
    assert leads[bob]["foreign_sys_person_id"] == "SF-1"


def test_foreign_id_beats_email_and_writes_the_email_onto_its_lead(soap: Soap) -> None:
    by_fsp = soap.sync_lead(record("old@x.com", fsp="C-1", fsp_type="CUSTOM")).lead_id
    other = soap.sync_lead(record("new@x.com")).lead_id
    reply = soap.sync_lead(record("new@x.com", fsp="C-1", fsp_type="CUSTOM"))
    assert (reply.status, reply.lead_id) == ("UPDATED", by_fsp)
    leads = {lead["id"]: lead for lead in soap.leads()}
    assert leads[by_fsp]["email"] == "new@x.com"
    assert leads[other]["email"] == "new@x.com"  # email is no unique key


def test_an_unknown_id_is_lead_not_found(soap: Soap) -> None:
    assert soap.sync_lead(record("a@x.com", id=4242)).fault_code == 20103


def test_an_anonymous_lead_found_by_cookie_becomes_known(soap: Soap) -> None:
    cookie = "id:561-HYG-937&token:_mch-example.com-1374552656411-90718"
    anonymous = soap.seed(cookie=cookie)
    assert anonymous["anonymous"] is True
    reply = soap.sync_lead(record("known@x.com", attrs={"FirstName": "Kim"}), cookie=cookie)
    assert (reply.status, reply.lead_id) == ("UPDATED", anonymous["id"])
    [lead] = soap.leads()
    assert (lead["email"], lead["anonymous"], lead["cookies"]) == ("known@x.com", False, [cookie])


def test_a_cookie_on_a_new_lead_is_associated_with_it(soap: Soap) -> None:
    reply = soap.sync_lead(record("c@x.com"), cookie="id:1&token:t")
    assert reply.status == "CREATED"
    assert soap.sync_lead(record("other@x.com"), cookie="id:1&token:t").lead_id == reply.lead_id


def test_return_lead_returns_the_full_record_and_otherwise_a_nil_record(soap: Soap) -> None:
    plain = soap.sync_lead(record("r@x.com"))
    assert plain.root.xpath("//result/leadRecord/@*[local-name()='nil']") == ["true"]
    full = soap.sync_lead(
        record("r@x.com", fsp="N-7", fsp_type="NETSUITE", attrs={"City": "Lyon"}), return_lead=True
    )
    lead_record = full.root.xpath("//result/leadRecord")[0]
    assert [child.tag for child in lead_record] == [
        "Id", "Email", "ForeignSysPersonId", "ForeignSysType", "leadAttributeList",
    ]  # fmt: skip
    assert lead_record.findtext("Id") == str(plain.lead_id)
    assert lead_record.findtext("leadAttributeList/attribute/attrValue") == "Lyon"


def test_unknown_attribute_names_are_20105_unless_configured_as_custom_fields(soap: Soap) -> None:
    reply = soap.sync_lead(record("u@x.com", attrs={"Favourite_Colour__c": "teal"}))
    assert reply.fault_code == 20105
    assert "Unknown lead field" in (reply.find("//faultstring") or "")
    soap.configure(custom_fields=["Favourite_Colour__c"])
    assert soap.sync_lead(record("u@x.com", attrs={"Favourite_Colour__c": "teal"})).status == (
        "CREATED"
    )


def test_attribute_names_are_case_sensitive(soap: Soap) -> None:
    assert soap.sync_lead(record("u@x.com", attrs={"firstname": "x"})).fault_code == 20105


def test_missing_required_parameters_are_faults(soap: Soap) -> None:
    no_return_lead = "<ns1:paramsSyncLead>" + record("p@x.com") + "</ns1:paramsSyncLead>"
    assert soap.post(envelope(no_return_lead)).fault_code == 20109
    no_record = "<ns1:paramsSyncLead><returnLead>false</returnLead></ns1:paramsSyncLead>"
    assert soap.post(envelope(no_record)).fault_code == 20017
    assert soap.sync_lead("<leadRecord/>").fault_code == 20101
    assert soap.sync_lead(record(fsp="X-1")).fault_code == 20109
    assert soap.sync_lead(record(fsp="X-1", fsp_type="ORACLE")).fault_code == 20110
    bad_flag = sync_lead_body(record("p@x.com")).replace(">false<", ">maybe<")
    assert soap.post(envelope(bad_flag)).fault_code == 20110
    assert soap.leads() == []
