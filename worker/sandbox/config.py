"""The sandbox's settings: one frozen object, replaced whole when changed at runtime."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8788
DEFAULT_USER_ID = "sandbox1_0A1B2C3D4E5F60718293"
DEFAULT_ENCRYPTION_KEY = "sandbox-secret-0123456789abcdef"
DEFAULT_CLIENT_ID = "sandbox-client-0a1b2c3d"
DEFAULT_CLIENT_SECRET = "sandbox-rest-secret-fedcba9876543210"
DEFAULT_TOKEN_TTL_S = 3600  # Marketo's access tokens live an hour
DEFAULT_RATE_LIMIT = (100, 20.0)
DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_DAILY_QUOTA = 10_000
DEFAULT_TIMESTAMP_WINDOW_S = 900.0
DEFAULT_HANG_S = 120.0
DEFAULT_FIRST_LEAD_ID = 1_000_001
DEFAULT_CALL_LOG_SIZE = 200_000
MAX_BATCH_RECORDS = 300
DEFAULT_WORKSPACE = "Default"

#: Transient fault kinds: HTTP 503 HTML page, HTTP 502 empty body, TCP reset, a hang past the
#: client's timeout, and the two internal-error SOAP faults.
FAULT_KINDS = ("503", "502", "reset", "hang", "10001", "20011")


@dataclass(frozen=True, slots=True)
class Workspace:
    """A Marketo workspace: new leads land in its primary partition unless a rule says otherwise."""

    name: str
    primary_partition: str
    partitions: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Workspace:
        """Parse `NAME=PRIMARY[,OTHER...]`, e.g. `Europe=EU,EU-Archive`."""
        name, sep, rest = text.partition("=")
        parts = tuple(p.strip() for p in rest.split(",") if p.strip())
        if not sep or not name.strip() or not parts:
            raise ValueError(f"workspace: expected NAME=PRIMARY[,OTHER...], got {text!r}")
        return cls(name.strip(), parts[0], parts)


@dataclass(frozen=True, slots=True)
class AssignmentRule:
    """New leads whose `field` equals `value` (case-insensitively) go to `partition`."""

    field: str
    value: str
    partition: str

    @classmethod
    def parse(cls, text: str) -> AssignmentRule:
        """Parse `FIELD=VALUE:PARTITION`, e.g. `Country=France:EU`."""
        condition, sep, partition = text.rpartition(":")
        name, eq, value = condition.partition("=")
        if not sep or not eq or not name or not partition:
            raise ValueError(f"assignment rule: expected FIELD=VALUE:PARTITION, got {text!r}")
        return cls(name, value, partition)


@dataclass(frozen=True, slots=True)
class ScriptedFault:
    """The first `count` calls naming lead key `key` fail with `code` (a Marketo code or a kind)."""

    key: str
    count: int
    code: str

    @classmethod
    def parse(cls, text: str) -> ScriptedFault:
        """Parse `COUNT:CODE:KEY`, e.g. `2:20011:ann@example.com` (the key may hold colons)."""
        count, _, rest = text.partition(":")
        code, sep, key = rest.partition(":")
        if not sep or not key or not count.isdigit() or not _valid_code(code):
            raise ValueError(f"scripted fault: expected COUNT:CODE:KEY, got {text!r}")
        return cls(key, int(count), code)


def _valid_code(code: str) -> bool:
    """A fault kind from FAULT_KINDS or any numeric Marketo fault code."""
    return code in FAULT_KINDS or code.isdigit()


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """How the sandbox listens, authenticates, limits and misbehaves; None switches a limit off."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    user_id: str = DEFAULT_USER_ID
    encryption_key: str = field(default=DEFAULT_ENCRYPTION_KEY, repr=False)
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S
    rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT
    max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY
    daily_quota: int | None = DEFAULT_DAILY_QUOTA
    timestamp_window_s: float = DEFAULT_TIMESTAMP_WINDOW_S
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    hang_s: float = DEFAULT_HANG_S
    scripted_faults: tuple[ScriptedFault, ...] = ()
    duplicate_race: bool = True
    workspaces: tuple[Workspace, ...] | None = None
    assignment_rules: tuple[AssignmentRule, ...] = ()
    custom_fields: frozenset[str] = frozenset()
    first_lead_id: int = DEFAULT_FIRST_LEAD_ID
    call_log_size: int = DEFAULT_CALL_LOG_SIZE
    access_log: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be within 0..1, got {self.fault_rate}")
        if self.latency_ms < 0 or self.jitter_ms < 0 or self.hang_s < 0:
            raise ValueError("latency_ms, jitter_ms and hang_s must not be negative")
        unknown = [k for k in self.fault_kinds if not _valid_code(k)]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
        if self.rate_limit is not None and (self.rate_limit[0] < 1 or self.rate_limit[1] <= 0):
            raise ValueError(f"rate_limit must be positive calls and seconds: {self.rate_limit}")
        for name in ("max_concurrency", "daily_quota"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 or None (off), got {value}")


def parse_rate_limit(text: str) -> tuple[int, float] | None:
    """Parse `CALLS/SECONDS` (e.g. `100/20`) or `off`."""
    if text.strip().lower() == "off":
        return None
    calls, sep, seconds = text.partition("/")
    try:
        limit = (int(calls), float(seconds))
    except ValueError:
        raise ValueError(f"rate limit: expected CALLS/SECONDS or off, got {text!r}") from None
    if not sep or limit[0] < 1 or limit[1] <= 0:
        raise ValueError(f"rate limit: calls and seconds must be positive, got {text!r}")
    return limit


def parse_optional_int(text: str) -> int | None:
    """Parse a positive whole number, or `off` for no limit."""
    if text.strip().lower() == "off":
        return None
    value = int(text)
    if value < 1:
        raise ValueError(f"expected a positive number or off, got {text!r}")
    return value
