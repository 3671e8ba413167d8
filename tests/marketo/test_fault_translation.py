"""Every Marketo fault code of FACTS §5 maps to its error class, and no secret leaks."""

from __future__ import annotations

import http.client
import ssl

import pytest
import requests
import zeep.exceptions
from lxml import etree

from worker.marketo import (
    FaultClass,
    LimitError,
    MarketoError,
    PermanentError,
    QuotaError,
    ResignError,
    TransientError,
    fault_code,
    translate,
)
from worker.marketo.http import ConnectTimeout, ProtocolError, ReadTimeout
from worker.marketo.transport_errors import translated_errors

FACTS_CODES: dict[int, type[MarketoError]] = {
    10001: TransientError,
    20011: TransientError,
    20012: PermanentError,
    20013: PermanentError,
    20014: PermanentError,
    20015: QuotaError,
    20016: ResignError,
    20017: PermanentError,
    20023: LimitError,
    20024: LimitError,
    **{code: PermanentError for code in range(20101, 20111)},
}


def marketo_fault(
    code: int, *, prefix: str = "ns1", faultstring: str | None = None
) -> zeep.exceptions.Fault:
    detail = etree.fromstring(
        f'<detail><{prefix}:serviceException xmlns:{prefix}="http://www.marketo.com/mktows/">'
        f"<name>mktServiceException</name><message>Something ({code})</message>"
        f"<code>{code}</code></{prefix}:serviceException></detail>"
    )
    return zeep.exceptions.Fault(
        faultstring if faultstring is not None else f"{code} - Something",
        code="SOAP-ENV:Client",
        detail=detail,
    )


@pytest.mark.parametrize(("code", "error_type"), sorted(FACTS_CODES.items()))
def test_every_documented_code_maps_to_its_class(code: int, error_type: type) -> None:
    from_detail = translate(marketo_fault(code, faultstring="no digits here"))
    from_faultstring = translate(
        zeep.exceptions.Fault(f"{code} - Something", code="SOAP-ENV:Client")
    )
    for error in (from_detail, from_faultstring):
        assert type(error) is error_type
        assert error.code == code
        assert error.fault_class is error_type.fault_class


def test_the_detail_code_wins_over_the_faultstring_whatever_its_prefix() -> None:
    fault = marketo_fault(20016, prefix="mkt", faultstring="20014 - misleading text")
    assert fault_code(fault) == 20016
    assert isinstance(translate(fault), ResignError)


def test_the_faultstring_code_prefix_is_dropped_from_the_message() -> None:
    error = translate(marketo_fault(20014, faultstring="20014 - Authentication failed"))
    assert str(error) == "20014: Authentication failed"


def test_an_unknown_code_is_permanent_and_no_code_is_transient() -> None:
    assert isinstance(translate(marketo_fault(29999)), PermanentError)
    assert isinstance(translate(zeep.exceptions.Fault("Unknown fault occured")), TransientError)


@pytest.mark.parametrize(
    "foreign",
    [
        requests.ConnectTimeout("connect"),
        requests.ReadTimeout("read"),
        requests.ConnectionError("reset by peer"),
        ConnectTimeout("connect"),
        ReadTimeout("read"),
        ConnectionResetError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "Connection refused"),
        http.client.RemoteDisconnected("Remote end closed connection without response"),
        http.client.IncompleteRead(b"<soap", 100),
        ProtocolError("malformed HTTP response: invalid constant string"),
        ssl.SSLCertVerificationError("certificate verify failed"),
        zeep.exceptions.TransportError("Server returned HTTP status 502", status_code=502),
        zeep.exceptions.TransportError("invalid XML", status_code=503, content=b"<html>"),
        zeep.exceptions.XMLSyntaxError("not XML"),
    ],
)
def test_transport_failures_are_transient_without_a_code(foreign: Exception) -> None:
    error = translate(foreign)
    assert type(error) is TransientError
    assert error.code is None
    assert error.fault_class is FaultClass.TRANSIENT


def test_secrets_never_reach_the_error_text() -> None:
    key, signature = "s3cr3t-key", "0123456789abcdef0123456789abcdef01234567"
    fault = zeep.exceptions.Fault(f"20014 - bad key {key} signed {signature}")
    with pytest.raises(PermanentError) as caught, translated_errors(secrets=(key, signature)):
        raise fault
    text = str(caught.value) + repr(caught.value) + caught.value.message
    assert key not in text and signature not in text
    assert caught.value.__cause__ is fault


def test_marketo_errors_pass_through_the_boundary_untouched() -> None:
    original = QuotaError("spent", code=20015)
    with pytest.raises(QuotaError) as caught, translated_errors():
        raise original
    assert caught.value is original
