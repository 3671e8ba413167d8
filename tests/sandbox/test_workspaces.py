"""Workspaces, partitions and assignment rules, with and without the context header (FACTS §4)."""

from __future__ import annotations

import pytest

from .soapkit import Soap, record


@pytest.fixture
def workspaces(soap: Soap) -> Soap:
    """Europe (primary EU, also EU-Archive) and Americas (primary US); France goes to EU-Archive."""
    soap.configure(
        workspaces=["Europe=EU,EU-Archive", "Americas=US"],
        assignment_rules=["Country=France:EU-Archive"],
    )
    return soap


def _lead(soap: Soap, lead_id: int) -> dict[str, object]:
    return next(lead for lead in soap.leads() if lead["id"] == lead_id)


def test_new_leads_go_to_the_named_workspaces_primary_partition(workspaces: Soap) -> None:
    reply = workspaces.sync_lead(record("eu@x.com"), workspace="Europe")
    lead = _lead(workspaces, reply.lead_id)
    assert (lead["partition"], lead["workspace"]) == ("EU", "Europe")


def test_an_assignment_rule_beats_the_workspace_with_or_without_header(workspaces: Soap) -> None:
    french = workspaces.sync_lead(
        record("fr@x.com", attrs={"Country": "france"}), workspace="Americas"
    )
    assert _lead(workspaces, french.lead_id)["partition"] == "EU-Archive"
    headerless = workspaces.sync_lead(record("fr2@x.com", attrs={"Country": "France"}))
    assert _lead(workspaces, headerless.lead_id)["partition"] == "EU-Archive"


def test_without_header_new_leads_go_to_defaults_primary_partition(workspaces: Soap) -> None:
    reply = workspaces.sync_lead(record("none@x.com"))
    assert _lead(workspaces, reply.lead_id)["partition"] == "Default"


def test_leads_matched_by_id_foreign_id_or_cookie_must_be_in_the_primary_partition(
    workspaces: Soap,
) -> None:
    us = workspaces.sync_lead(record("us@x.com", fsp="S-1", fsp_type="SFDC"), workspace="Americas")
    workspaces.seed(cookie="id:9&token:c", partition="US")
    for other in (
        record(id=us.lead_id, attrs={"City": "Paris"}),
        record(fsp="S-1", fsp_type="SFDC"),
    ):
        assert workspaces.sync_lead(other, workspace="Europe").fault_code == 20103
    by_cookie = workspaces.sync_lead(record("c@x.com"), workspace="Europe", cookie="id:9&token:c")
    assert by_cookie.fault_code == 20103
    assert workspaces.sync_lead(record(id=us.lead_id), workspace="Americas").status == "UPDATED"


def test_a_lead_matched_by_email_is_updated_in_its_own_partition(workspaces: Soap) -> None:
    us = workspaces.sync_lead(record("mail@x.com"), workspace="Americas")
    again = workspaces.sync_lead(record("mail@x.com", attrs={"City": "Rome"}), workspace="Europe")
    assert (again.status, again.lead_id) == ("UPDATED", us.lead_id)
    assert _lead(workspaces, us.lead_id)["partition"] == "US"


def test_without_header_existing_leads_are_updated_in_place(workspaces: Soap) -> None:
    eu = workspaces.sync_lead(record("p@x.com"), workspace="Europe")
    reply = workspaces.sync_lead(record(id=eu.lead_id, attrs={"City": "Oslo"}))
    assert reply.status == "UPDATED"
    assert _lead(workspaces, eu.lead_id)["partition"] == "EU"


def test_an_unknown_workspace_is_a_bad_parameter(workspaces: Soap) -> None:
    assert workspaces.sync_lead(record("x@x.com"), workspace="Asia").fault_code == 20110


def test_with_workspaces_disabled_only_default_may_be_named(soap: Soap) -> None:
    assert soap.sync_lead(record("d@x.com"), workspace="Europe").fault_code == 20110
    assert soap.sync_lead(record("d@x.com"), workspace="Default").status == "CREATED"
    assert soap.sync_lead(record("d@x.com"), workspace="default").status == "UPDATED"
    assert soap.sync_lead(record("d@x.com")).status == "UPDATED"
    [lead] = soap.leads()
    assert (lead["partition"], lead["workspace"]) == ("Default", "Default")
