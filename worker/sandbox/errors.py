"""Marketo's SOAP error codes and the one exception that carries them to the wire."""

from __future__ import annotations

#: Marketo's documented SOAP error codes and their messages (SOAP API "Error Codes" page).
TITLES = {
    10001: "Internal Error",
    20011: "Internal Error",
    20012: "Request Not Understood",
    20013: "Access Denied",
    20014: "Authentication failed",
    20015: "Request Limit Exceeded",
    20016: "Request Expired",
    20017: "Invalid Request",
    20019: "Unsupported Operation",
    20023: "Rate Limit Exceeded",
    20024: "Concurrency Limit Exceeded",
    20101: "Lead Key Required",
    20102: "Lead Key Bad",
    20103: "Lead Not Found",
    20104: "Lead Detail Required",
    20105: "Unknown lead field",
    20106: "Lead Sync Failed",
    20109: "Parameter Required",
    20110: "Parameter Bad",
}

#: Codes a server-side failure produces; the rest blame the client (SOAP faultcode).
SERVER_CODES = frozenset({10001, 20011})


class ApiError(Exception):
    """A Marketo error: a SOAP fault for a call, a FAILED syncStatus for a batch record."""

    def __init__(self, code: int, detail: str | None = None) -> None:
        self.code = code
        self.title = TITLES.get(code, "Error")
        self.detail = detail or self.title
        super().__init__(f"{code} - {self.detail}")
