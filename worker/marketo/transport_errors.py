"""The one boundary where zeep, HTTP and socket failures become leadsync's `MarketoError` tree.

Marketo's fault code is read from `detail/serviceException/code` (any prefix), else from the
leading digits of the faultstring; everything without a code (HTTP 5xx pages, empty or non-XML
bodies, timeouts, resets) is transient. Messages are scrubbed of the secrets handed in, so no
encryption key or signature can leak through an exception's text.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import requests
import zeep.exceptions
from lxml import etree

from worker.marketo.errors import MarketoError, PermanentError, TransientError, error_for_code
from worker.marketo.http import ConnectTimeout, ReadTimeout

_LEADING_CODE = re.compile(r"^\s*(\d+)")
_CODE_PREFIX = re.compile(r"^\s*\d+\s*-\s*")
_REDACTED = "[redacted]"


# What zeep, requests (fetching a WSDL or a REST token) and `worker.marketo.http` (every SOAP
# call: its own HTTP/1.1 connection, raising the standard library's `HTTPException` types, and the
# socket under it) raise.
FOREIGN_ERRORS = (
    zeep.exceptions.Error,
    requests.RequestException,
    http.client.HTTPException,
    OSError,
)


@contextmanager
def translated_errors(secrets: Iterable[str] = ()) -> Iterator[None]:
    """Run one Marketo call, re-raising any foreign failure as a `MarketoError` (chained)."""
    hidden = [secret for secret in secrets if secret]
    try:
        yield
    except MarketoError:
        raise
    except FOREIGN_ERRORS as error:
        raise translate(error, hidden) from error


def translate(error: Exception, secrets: Iterable[str] = ()) -> MarketoError:
    """The `MarketoError` for a foreign failure, its message free of the given secrets."""
    hidden = [secret for secret in secrets if secret]
    if isinstance(error, zeep.exceptions.Fault):
        code = fault_code(error)
        message = _CODE_PREFIX.sub("", error.message or "") or "SOAP fault without a message"
        return error_for_code(code, _scrub(message, hidden))
    if isinstance(error, zeep.exceptions.ValidationError):
        # The request could not even be built: sending it again cannot help.
        return PermanentError(_scrub(f"invalid request: {error.message}", hidden))
    return TransientError(_scrub(_describe_transport(error), hidden))


def fault_code(fault: zeep.exceptions.Fault) -> int | None:
    """Marketo's fault code: detail/serviceException/code, else faultstring's leading digits."""
    detail = fault.detail
    if isinstance(detail, etree._Element):
        codes = detail.xpath(".//*[local-name()='serviceException']/*[local-name()='code']/text()")
        for text in codes:
            if str(text).strip().isdigit():
                return int(str(text).strip())
    match = _LEADING_CODE.match(fault.message or "")
    return int(match.group(1)) if match else None


def _describe_transport(error: Exception) -> str:
    # SOAP calls go through worker.marketo.http; a WSDL fetched by URL and REST go through requests.
    if isinstance(error, requests.ConnectTimeout | ConnectTimeout):
        return "connect timeout: Marketo did not accept the connection in time"
    if isinstance(error, requests.ReadTimeout | ReadTimeout):
        return "read timeout: no answer in time (the call may still have been applied)"
    if isinstance(error, requests.ConnectionError | http.client.HTTPException | OSError):
        return f"connection failed or was reset: {type(error).__name__}"
    if isinstance(error, zeep.exceptions.TransportError):
        content = error.content if isinstance(error.content, bytes) else b""
        kind = "empty body" if not content.strip() else "a body that is not SOAP XML"
        return f"HTTP {error.status_code} with {kind}"
    if isinstance(error, zeep.exceptions.Error):
        return f"unusable response: {error.message}"
    return f"HTTP failure: {type(error).__name__}"


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, _REDACTED)
    return text
