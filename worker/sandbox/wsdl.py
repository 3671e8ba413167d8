"""The sandbox's own WSDL, served with soap:address set to the URL it was fetched from."""

from __future__ import annotations

from functools import cache
from importlib import resources
from xml.sax.saxutils import quoteattr

_PLACEHOLDER = '"{{ADDRESS}}"'


@cache
def _template() -> str:
    return resources.files(__package__).joinpath("mktows-2_3.wsdl").read_text(encoding="utf-8")


def render(address: str) -> bytes:
    """The WSDL whose soap:address is `address` (attribute-escaped)."""
    return _template().replace(_PLACEHOLDER, quoteattr(address), 1).encode()
