"""REST error codes, and the SOAP codes the limits and fault injection raise, in REST terms."""

from __future__ import annotations

from .errors import ApiError

#: Marketo's REST error messages (REST API "Error Codes" page).
MESSAGES = {
    502: "Bad Gateway",
    600: "Access token not specified",
    601: "Access token invalid",
    602: "Access token expired",
    603: "Access denied",
    604: "Request timed out",
    606: "Max rate limit exceeded",
    607: "Daily quota reached",
    608: "API Temporarily Unavailable",
    609: "Invalid JSON",
    610: "Requested resource not found",
    611: "System error",
    615: "Concurrent access limit reached",
    713: "Transient Error",
    1003: "Invalid value",
    1004: "Lead not found",
    1005: "Lead already exists",
    1006: "Field not found",
}

#: The REST code for each SOAP code the shared limits and faults raise; unlisted ones become 1003.
FROM_SOAP = {
    10001: 611,
    20011: 611,
    20012: 609,
    20013: 603,
    20014: 601,
    20015: 607,
    20016: 602,
    20017: 609,
    20023: 606,
    20024: 615,
    20103: 1004,
    20105: 1006,
}


class RestError(Exception):
    """A REST error: a call's `errors` entry, or (1xxx) a record's skip reason."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        super().__init__(f"{code} - {self.message}")

    @classmethod
    def from_api_error(cls, error: ApiError) -> RestError:
        """The REST face of a SOAP-coded error (limits, injected faults, upsert rules)."""
        code = FROM_SOAP.get(error.code, 1003)
        return cls(code, error.detail if code >= 1000 else None)

    @classmethod
    def injected(cls, code: int) -> RestError:
        """An injected numeric fault: REST codes as they are, SOAP codes translated."""
        return cls.from_api_error(ApiError(code)) if code >= 10000 else cls(code)

    def record_level(self) -> bool:
        """1xxx codes are reported per record (status skipped), not for the whole call."""
        return self.code >= 1000

    def to_json(self) -> dict[str, str]:
        """Marketo's `{code, message}` (code as a string, as Marketo sends it)."""
        return {"code": str(self.code), "message": self.message}
