"""syncLead envelopes filled in from a template zeep rendered once per shape of call.

The client sends what zeep itself renders for the call, byte for byte, whatever the call's shape
and values; these tests hold that, without a server (no envelope here is sent).
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from fake_marketo import REAL_WSDL, USER_ID
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import ValidationError

from worker.config import Secret
from worker.jobs import SyncLeadJob
from worker.marketo.soap import (
    MAX_TEMPLATE_VALUES,
    MAX_TEMPLATES,
    SoapClient,
    _Shape,
    _Template,
    sync_lead_params,
)

# Any text a job accepts, XML's metacharacters and non-ASCII included.
TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("&<>\"'\t\n"), max_size=12
)
NAMES = st.text(string.ascii_letters, min_size=1, max_size=10)


def new_client(wsdl: str | None = None) -> SoapClient:
    return SoapClient(
        endpoint="http://127.0.0.1:9/soap/mktows/2_3",
        user_id=USER_ID,
        encryption_key=Secret("not used"),
        wsdl=wsdl,
    )


CLIENT = new_client()


@st.composite
def jobs(draw: st.DrawFn) -> SyncLeadJob:
    foreign_id = draw(st.none() | NAMES)
    fields: dict[str, Any] = {
        "lead_id": draw(st.none() | st.integers(1, 2**31 - 1)),
        "email": draw(st.none() | st.sampled_from(["a@example.com", "o'hara+x@ex-ample.org"])),
        "foreign_sys_person_id": foreign_id,
        "foreign_sys_type": foreign_id and draw(st.sampled_from(["SFDC", "CUSTOM"])),
        "marketo_cookie": draw(st.none() | NAMES),
        "attributes": draw(st.dictionaries(NAMES, TEXT, max_size=4)),
        "return_lead": draw(st.booleans()),
        "workspace": draw(st.none() | NAMES),
    }
    try:
        return SyncLeadJob(**fields)
    except ValidationError:
        assume(False)
        raise


def calls(job: SyncLeadJob, signature: str) -> dict[str, object]:
    auth = {
        "mktowsUserId": USER_ID,
        "requestSignature": signature,
        "requestTimestamp": "2026-12-04T23:59:59+01:00",
    }
    return {"params": sync_lead_params(job), "auth": auth, "workspace": job.workspace}


def rendered(client: SoapClient, call: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    envelope, headers = client._render("syncLead", **call)  # type: ignore[arg-type]
    return etree.tostring(envelope), headers


def from_template(client: SoapClient, call: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    envelope, headers = client._from_template("syncLead", call)
    return etree.tostring(envelope), headers


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(job=jobs(), signature=st.text(string.hexdigits, min_size=1, max_size=40))
def test_a_filled_template_is_what_zeep_renders_for_the_call(
    job: SyncLeadJob, signature: str
) -> None:
    # One client across every example: templates are built, reused for other values, and never
    # changed by a call.
    call = calls(job, signature)
    assert from_template(CLIENT, call) == rendered(CLIENT, call)
    assert from_template(CLIENT, call) == rendered(CLIENT, call)


@pytest.mark.skipif(not REAL_WSDL.is_file(), reason="../shared/marketo is not present")
def test_templates_hold_with_marketos_own_wsdl() -> None:
    client = new_client(str(REAL_WSDL))
    job = SyncLeadJob(
        lead_id=7,
        email="a@example.com",
        foreign_sys_person_id="SF-1",
        foreign_sys_type="SFDC",  # an enumeration in the WSDL: its placeholder renders all the same
        marketo_cookie="id:561-HYG-937&token:_mch-marketo.com-1374552656411-90718",
        attributes={"A": "<&>", "B": ""},
        return_lead=True,
        workspace="EMEA",
    )
    for signature in ("first", "second"):
        call = calls(job, signature)
        assert from_template(client, call) == rendered(client, call)


def test_each_shape_gets_its_own_template_and_the_number_kept_is_bounded() -> None:
    client = new_client()
    shapes = [
        SyncLeadJob(email="a@example.com", attributes={f"A{i}": "v" for i in range(count)})
        for count in range(MAX_TEMPLATES + 5)
    ]
    for job in [*shapes, *shapes[:3]]:
        call = calls(job, "sig")
        assert from_template(client, call) == rendered(client, call)
    assert len(client._templates) == MAX_TEMPLATES


def test_a_call_with_very_many_values_is_rendered_afresh() -> None:
    client = new_client()
    job = SyncLeadJob(
        email="a@example.com", attributes={f"A{i}": "v" for i in range(MAX_TEMPLATE_VALUES // 2)}
    )
    call = calls(job, "sig")
    assert from_template(client, call) == rendered(client, call)
    assert client._templates == {}


def test_a_shape_whose_values_are_not_whole_element_texts_gets_no_template() -> None:
    shape = _Shape({"a": "x", "b": "y"})
    first, second = shape.marks

    def envelope(*texts: str) -> etree._Element:
        root = etree.Element("root")
        for text in texts:
            etree.SubElement(root, "item").text = text
        return root

    assert _Template.rendered(shape, (envelope(first, second), {})) is not None
    assert _Template.rendered(shape, (envelope(first), {})) is None  # one value went elsewhere
    assert _Template.rendered(shape, (envelope(first, first, second), {})) is None
    assert _Template.rendered(shape, (envelope(first + "!", second), {})) is None  # changed


def test_a_shape_is_its_names_lengths_and_flags_not_its_values() -> None:
    def key(call: dict[str, object]) -> object:
        return _Shape(call).key

    assert key({"a": "x", "n": 1}) == key({"a": "y", "n": 2})
    assert key({"a": "x"}) != key({"b": "x"})
    assert key({"a": ["x"]}) != key({"a": ["x", "y"]})
    assert key({"flag": True}) != key({"flag": False})
    assert key({"a": None}) != key({"a": "x"})
    assert key({"a": 1}) != key({"a": "1"})
    shape = _Shape({"id": 7, "list": ["x", "y"]})
    assert shape.values == ["7", "x", "y"]
    assert shape.params == {"id": int(shape.marks[0]), "list": shape.marks[1:]}
