"""Marketo's SOAP API for leadsync: signing, the zeep client, and the error tree callers branch on.

No Celery and no Redis here: this package makes one call and says how it went.
"""

from __future__ import annotations

from worker.marketo.errors import (
    FaultClass,
    LimitError,
    MarketoError,
    PermanentError,
    QuotaError,
    ResignError,
    TransientError,
    classify,
    error_for_code,
)
from worker.marketo.rest import RestClient
from worker.marketo.result import SyncResult, SyncStatus
from worker.marketo.signing import authentication_header, request_timestamp, sign
from worker.marketo.soap import SoapClient, load_wsdl
from worker.marketo.transport_errors import fault_code, translate

__all__ = [
    "FaultClass",
    "LimitError",
    "MarketoError",
    "PermanentError",
    "QuotaError",
    "ResignError",
    "RestClient",
    "SoapClient",
    "SyncResult",
    "SyncStatus",
    "TransientError",
    "authentication_header",
    "classify",
    "error_for_code",
    "fault_code",
    "load_wsdl",
    "request_timestamp",
    "sign",
    "translate",
]
