"""The sandbox's own WSDL is wire-compatible with Marketo's for the operations it covers."""

from __future__ import annotations

from importlib import resources

import pytest
from lxml import etree

from .soapkit import SHARED_MARKETO

WSDL = "{http://schemas.xmlsoap.org/wsdl/}"
XS = "{http://www.w3.org/2001/XMLSchema}"
SOAP = "{http://schemas.xmlsoap.org/wsdl/soap/}"
REAL = SHARED_MARKETO / "mktows-2_3.wsdl"


def _ours() -> etree._Element:
    text = resources.files("worker.sandbox").joinpath("mktows-2_3.wsdl").read_bytes()
    return etree.fromstring(text)


def _named(root: etree._Element, tag: str) -> dict[str, etree._Element]:
    return {node.get("name"): node for node in root.iter(tag)}


def _describe(node: etree._Element) -> list[tuple[str, ...]]:
    """A node's descendants as (tag, attributes...) without documentation or comments."""
    rows = []
    for element in node.iter():
        if not isinstance(element.tag, str) or element.tag == f"{WSDL}documentation":
            continue
        attributes = sorted((k, v) for k, v in element.attrib.items() if k != "location")
        rows.append((element.tag, *(f"{k}={v}" for k, v in attributes)))
    return rows


@pytest.fixture(scope="module")
def real() -> etree._Element:
    if not REAL.is_file():
        pytest.skip(f"Marketo's WSDL is not at {REAL}")
    return etree.parse(str(REAL)).getroot()


def test_every_schema_type_and_element_is_identical_to_marketos(real: etree._Element) -> None:
    ours = _ours()
    for tag in (f"{XS}complexType", f"{XS}simpleType", f"{XS}element"):
        theirs = _named(real, tag)
        for name, node in _named(ours, tag).items():
            if tag == f"{XS}element" and node.getparent().tag != f"{XS}schema":
                continue
            assert name in theirs, name
            assert _describe(node) == _describe(theirs[name]), name


def test_the_schema_namespace_and_element_form_are_marketos(real: etree._Element) -> None:
    [our_schema], [their_schema] = _ours().iter(f"{XS}schema"), real.iter(f"{XS}schema")
    assert our_schema.get("targetNamespace") == their_schema.get("targetNamespace")
    assert our_schema.get("elementFormDefault") == their_schema.get("elementFormDefault") is None
    assert _ours().get("targetNamespace") == real.get("targetNamespace")


def test_messages_operations_binding_and_service_match(real: etree._Element) -> None:
    ours = _ours()
    for tag in (f"{WSDL}message",):
        theirs = _named(real, tag)
        for name, node in _named(ours, tag).items():
            assert _describe(node) == _describe(theirs[name]), name
    [our_port_type], [their_port_type] = ours.iter(f"{WSDL}portType"), real.iter(f"{WSDL}portType")
    their_ops = _named(their_port_type, f"{WSDL}operation")
    for name, node in _named(our_port_type, f"{WSDL}operation").items():
        assert _describe(node) == _describe(their_ops[name])
    [our_binding], [their_binding] = ours.iter(f"{WSDL}binding"), real.iter(f"{WSDL}binding")
    assert our_binding.get("name") == their_binding.get("name") == "MktowsApiSoapBinding"
    their_bound = _named(their_binding, f"{WSDL}operation")
    our_bound = _named(our_binding, f"{WSDL}operation")
    assert sorted(our_bound) == ["syncLead", "syncMultipleLeads"]
    for name, node in our_bound.items():
        assert _describe(node) == _describe(their_bound[name])
    service = next(ours.iter(f"{WSDL}service"))
    assert service.get("name") == next(real.iter(f"{WSDL}service")).get("name")
    assert service[0].get("name") == "MktowsApiSoapPort"
    assert service[0][0].tag == f"{SOAP}address"
