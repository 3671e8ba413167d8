"""The inspection API: leads, calls with their times and outcomes, runtime config, reset."""

from __future__ import annotations

from .soapkit import Soap, record


def test_each_call_records_times_operation_keys_outcome_and_code(soap: Soap) -> None:
    soap.sync_lead(record("i@x.com", fsp="F-2", fsp_type="SFDC"), cookie="id:5&token:z")
    soap.sync_lead(record("i@x.com", attrs={"Bogus": "1"}))
    created, fault = soap.calls()
    assert created["operation"] == "syncLead"
    assert created["keys"] == [
        {"Email": "i@x.com", "ForeignSysPersonId": "F-2", "marketoCookie": "id:5&token:z"}
    ]
    assert (created["outcome"], created["fault_code"], created["http_status"]) == (
        "CREATED",
        None,
        200,
    )
    assert created["lead_ids"] == [1_000_001]
    assert created["received_at"] <= created["completed_at"] <= fault["received_at"]
    assert (fault["outcome"], fault["fault_code"], fault["http_status"]) == ("FAULT", 20105, 500)
    assert [c["seq"] for c in soap.calls()] == [1, 2]
    assert soap.http.get(f"{soap.base_url}/_sandbox/calls?since=1").json() == [fault]


def test_leads_show_keys_attributes_workspace_and_partition(soap: Soap) -> None:
    soap.sync_lead(record("l@x.com", fsp="C-3", fsp_type="CUSTOM", attrs={"Title": "CTO"}))
    [lead] = soap.leads()
    assert {k: lead[k] for k in ("email", "foreign_sys_person_id", "foreign_sys_type")} == {
        "email": "l@x.com",
        "foreign_sys_person_id": "C-3",
        "foreign_sys_type": "CUSTOM",
    }
    assert (lead["attributes"], lead["workspace"], lead["partition"]) == (
        {"Title": "CTO"},
        "Default",
        "Default",
    )
    by_email = soap.http.get(f"{soap.base_url}/_sandbox/leads", params={"email": "L@x.com"})
    assert by_email.json() == [lead]


def test_reset_forgets_leads_calls_and_runtime_changes(soap: Soap) -> None:
    soap.configure(latency_ms=5, rate_limit="50/10")
    soap.sync_lead(record("z@x.com"))
    assert soap.http.post(f"{soap.base_url}/_sandbox/reset").json() == {"reset": True}
    assert (soap.leads(), soap.calls()) == ([], [])
    config = soap.http.get(f"{soap.base_url}/_sandbox/config").json()
    assert (config["latency_ms"], config["rate_limit"]) == (0.0, None)
    assert soap.sync_lead(record("z@x.com")).lead_id == 1_000_001


def test_config_never_shows_the_key_and_refuses_bad_changes(soap: Soap) -> None:
    config = soap.configure()
    assert "encryption_key" not in config and config["user_id"]
    url = f"{soap.base_url}/_sandbox/config"
    assert soap.http.post(url, json={"user_id": "x"}).status_code == 400
    assert soap.http.post(url, json={"fault_rate": 2}).status_code == 400
    assert soap.http.post(url, json={"rate_limit": "fast"}).status_code == 400
    assert soap.http.post(url, json={"assignment_rules": ["Country=X:Nowhere"]}).status_code == 400


def test_seeding_a_lead_into_an_unknown_partition_is_refused(soap: Soap) -> None:
    response = soap.http.post(f"{soap.base_url}/_sandbox/leads", json={"partition": "Mars"})
    assert response.status_code == 400


def test_a_get_without_wsdl_is_not_a_soap_call(soap: Soap) -> None:
    assert soap.http.get(soap.endpoint).status_code == 405
    assert soap.calls() == []
