"""The packaged WSDL ships in the package and matches Marketo's for the operations we call."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_marketo import REAL_WSDL
from lxml import etree

from worker.marketo.soap import PACKAGED_WSDL

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
NS = {"xs": XS, "wsdl": WSDL, "soap": SOAP}
OPERATIONS = ("syncLead", "syncMultipleLeads")
ROOT_ELEMENTS = (
    "AuthenticationHeader",
    "MktowsContextHeader",
    "paramsSyncLead",
    "paramsSyncMultipleLeads",
    "successSyncLead",
    "successSyncMultipleLeads",
)


def load(path: str | Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def schema(root: etree._Element) -> etree._Element:
    return root.find("wsdl:types/xs:schema", NS)


def local(qname: str) -> str:
    return qname.split(":")[-1]


def particles(root: etree._Element, type_name: str) -> list[tuple[str, ...]]:
    """A named type's sequence (or enumeration) with the XSD defaults made explicit."""
    node = schema(root).find(f"*[@name='{type_name}']")
    assert node is not None, type_name
    if node.tag == f"{{{XS}}}simpleType":
        return [("enum", e.get("value")) for e in node.iterfind(".//xs:enumeration", NS)]
    return [
        (
            e.get("name"),
            e.get("type"),
            e.get("minOccurs", "1"),
            e.get("maxOccurs", "1"),
            e.get("nillable", "false"),
        )
        for e in node.find("xs:sequence", NS)
        if e.tag == f"{{{XS}}}element"
    ]


def types_reached(root: etree._Element) -> set[str]:
    """Every schema type our root elements use, followed transitively."""
    seen: set[str] = set()
    pending = [
        local(schema(root).find(f"xs:element[@name='{name}']", NS).get("type"))
        for name in ROOT_ELEMENTS
    ]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += [
                local(item[1])
                for item in particles(root, name)
                if item[0] != "enum" and item[1].startswith("tns:")
            ]
    return seen


def operation_facts(root: etree._Element, name: str) -> dict[str, object]:
    binding = root.find(
        f"wsdl:binding[@name='MktowsApiSoapBinding']/wsdl:operation[@name='{name}']", NS
    )
    port_op = root.find(f"wsdl:portType/wsdl:operation[@name='{name}']", NS)

    def parts(message: str) -> list[tuple[str | None, str | None]]:
        msg = root.find(f"wsdl:message[@name='{local(message)}']", NS)
        return [(p.get("name"), p.get("element")) for p in msg]

    return {
        "soapAction": binding.find("soap:operation", NS).get("soapAction"),
        "headers": [
            (h.get("part"), parts(h.get("message")), h.get("use"))
            for h in binding.iterfind("wsdl:input/soap:header", NS)
        ],
        "input": parts(port_op.find("wsdl:input", NS).get("message")),
        "output": parts(port_op.find("wsdl:output", NS).get("message")),
    }


def test_the_wsdl_is_installed_as_package_data() -> None:
    assert Path(PACKAGED_WSDL).is_file()
    root = load(PACKAGED_WSDL)
    assert root.get("targetNamespace") == "http://www.marketo.com/mktows/"
    assert schema(root).get("elementFormDefault") is None  # children stay unqualified
    service = root.find("wsdl:service", NS)
    assert service.get("name") == "MktMktowsApiService"
    port = service.find("wsdl:port", NS)
    assert (port.get("name"), local(port.get("binding"))) == (
        "MktowsApiSoapPort",
        "MktowsApiSoapBinding",
    )
    assert root.find("wsdl:binding/soap:binding", NS).get("style") == "document"


@pytest.mark.skipif(not REAL_WSDL.is_file(), reason="../shared/marketo is not present")
def test_types_elements_and_operations_match_marketos_wsdl() -> None:
    ours, real = load(PACKAGED_WSDL), load(REAL_WSDL)
    assert schema(real).get("elementFormDefault") == schema(ours).get("elementFormDefault")
    assert schema(real).get("targetNamespace") == schema(ours).get("targetNamespace")
    for name in ROOT_ELEMENTS:
        xpath = f"xs:element[@name='{name}']"
        assert schema(ours).find(xpath, NS).get("type") == schema(real).find(xpath, NS).get("type")
    reached = types_reached(ours)
    assert {"LeadRecord", "Attribute", "SyncStatus", "ForeignSysType", "LeadSyncStatus"} <= reached
    for type_name in sorted(reached):
        assert particles(ours, type_name) == particles(real, type_name), type_name
    for operation in OPERATIONS:
        assert operation_facts(ours, operation) == operation_facts(real, operation), operation
    for root in (ours, real):
        service = root.find("wsdl:service", NS)
        port = service.find("wsdl:port", NS)
        assert (service.get("name"), port.get("name"), port.get("binding")) == (
            "MktMktowsApiService",
            "MktowsApiSoapPort",
            "tns:MktowsApiSoapBinding",
        )
