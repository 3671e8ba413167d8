"""Settings: one frozen object built from the environment (and `./.env`) at each entry point."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_RATE_LIMIT = "100/20"
DEFAULT_MAX_CONCURRENCY = 10
DEFAULT_READ_TIMEOUT_S = 90.0
DEFAULT_CONNECT_TIMEOUT_S = 10.0
DEFAULT_RESULT_TTL_S = 7 * 24 * 3600
DEFAULT_DEAD_TTL_S = 30 * 24 * 3600
DEFAULT_DEAD_MAX_COUNT = 100_000
DEFAULT_RETRY_BASE_S = 2.0
DEFAULT_RETRY_CAP_S = 600.0
DEFAULT_MAX_ATTEMPTS = 12
DEFAULT_LEASE_TTL_S = 30.0
DEFAULT_REQUEUE_AFTER_S = 3600.0
DEFAULT_STATE_DIR = ".leadsync"
DEFAULT_QUEUE = "leadsync"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Secret:
    """A string whose repr and str never show the value (after starlette's `Secret`)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that signs or authenticates with it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `calls` Marketo calls in any rolling window of `window_s` seconds."""

    calls: int
    window_s: float

    @classmethod
    def parse(cls, text: str, *, name: str = "MARKETO_RATE_LIMIT") -> RateLimit:
        """Parse `CALLS/SECONDS`, e.g. `100/20`."""
        try:
            calls_text, seconds_text = text.split("/")
            calls, window_s = int(calls_text), float(seconds_text)
        except ValueError:
            raise ConfigError(
                f"{name}: expected CALLS/SECONDS such as 100/20, got {text!r}"
            ) from None
        if calls < 1 or window_s <= 0:
            raise ConfigError(f"{name}: calls and seconds must be positive, got {text!r}")
        return cls(calls, window_s)

    def __str__(self) -> str:
        return f"{self.calls}/{self.window_s:g}"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a leadsync process needs to know, resolved once."""

    redis_url: str | None = None
    soap_endpoint: str | None = None
    user_id: str | None = None
    encryption_key: Secret = field(default_factory=lambda: Secret(""))
    wsdl: str | None = None
    workspace: str | None = None
    api: str = "soap"
    rest_endpoint: str | None = None
    rest_identity_url: str | None = None
    client_id: str | None = None
    client_secret: Secret = field(default_factory=lambda: Secret(""))
    legacy_user_id: str | None = None
    legacy_encryption_key: Secret = field(default_factory=lambda: Secret(""))
    rate_limit: RateLimit = field(default_factory=lambda: RateLimit.parse(DEFAULT_RATE_LIMIT))
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S
    result_ttl_s: int = DEFAULT_RESULT_TTL_S
    dead_ttl_s: int = DEFAULT_DEAD_TTL_S
    dead_max_count: int = DEFAULT_DEAD_MAX_COUNT
    retry_base_s: float = DEFAULT_RETRY_BASE_S
    retry_cap_s: float = DEFAULT_RETRY_CAP_S
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    lease_ttl_s: float = DEFAULT_LEASE_TTL_S
    requeue_after_s: float = DEFAULT_REQUEUE_AFTER_S
    limiter_enabled: bool = True
    log_pii: bool = False
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    queue: str = DEFAULT_QUEUE

    @property
    def endpoint(self) -> str | None:
        """The Marketo endpoint of the configured API (`MARKETO_API`)."""
        return self.rest_endpoint if self.api == "rest" else self.soap_endpoint

    def missing_marketo_variables(self) -> list[str]:
        """The variables the configured API still needs; empty when a worker can run."""
        if self.api == "rest":
            needed = {
                "MARKETO_REST_ENDPOINT": self.rest_endpoint,
                "MARKETO_REST_IDENTITY_URL": self.rest_identity_url,
                "MARKETO_CLIENT_ID": self.client_id,
                "MARKETO_CLIENT_SECRET": bool(self.client_secret),
            }
        else:
            needed = {
                "MARKETO_SOAP_ENDPOINT": self.soap_endpoint,
                "MARKETO_USER_ID": self.user_id,
                "MARKETO_ENCRYPTION_KEY": bool(self.encryption_key),
            }
        return [name for name, value in needed.items() if not value]

    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor."""
        return [
            secret.reveal()
            for secret in (self.encryption_key, self.client_secret, self.legacy_encryption_key)
            if secret
        ]

    @property
    def visibility_timeout_s(self) -> int:
        """How long the broker waits before redelivering an unacknowledged message.

        A message is held unacknowledged only while its attempt runs (limiter wait plus one call):
        retries wait in leadsync's own schedule, never as broker ETAs, so this can stay a small
        multiple of the read timeout instead of Celery's one hour.
        """
        return int(max(300.0, 2 * (self.read_timeout_s + self.connect_timeout_s) + 120))

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced (the CLI uses it to wire in the sandbox)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Read the variables of PRODUCT.md and the README; real environment beats `.env`."""
        env = _Env(read_environment(environ, env_file=env_file))
        return cls(
            redis_url=env.text("REDIS_URL"),
            soap_endpoint=env.text("MARKETO_SOAP_ENDPOINT"),
            user_id=env.text("MARKETO_USER_ID"),
            encryption_key=Secret(env.text("MARKETO_ENCRYPTION_KEY") or ""),
            wsdl=env.text("MARKETO_WSDL"),
            workspace=env.text("MARKETO_WORKSPACE"),
            api=env.choice("MARKETO_API", ("soap", "rest"), default="soap"),
            rest_endpoint=env.text("MARKETO_REST_ENDPOINT"),
            rest_identity_url=env.text("MARKETO_REST_IDENTITY_URL"),
            client_id=env.text("MARKETO_CLIENT_ID"),
            client_secret=Secret(env.text("MARKETO_CLIENT_SECRET") or ""),
            legacy_user_id=env.text("LEADSYNC_LEGACY_USER_ID"),
            legacy_encryption_key=Secret(env.text("LEADSYNC_LEGACY_ENCRYPTION_KEY") or ""),
            rate_limit=RateLimit.parse(env.text("MARKETO_RATE_LIMIT") or DEFAULT_RATE_LIMIT),
            max_concurrency=env.integer("MARKETO_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY),
            read_timeout_s=env.number("MARKETO_TIMEOUT", DEFAULT_READ_TIMEOUT_S),
            connect_timeout_s=env.number("LEADSYNC_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT_S),
            result_ttl_s=env.integer("LEADSYNC_RESULT_TTL", DEFAULT_RESULT_TTL_S),
            dead_ttl_s=env.integer("LEADSYNC_DEAD_TTL", DEFAULT_DEAD_TTL_S),
            dead_max_count=env.integer("LEADSYNC_DEAD_MAX", DEFAULT_DEAD_MAX_COUNT),
            retry_base_s=env.number("LEADSYNC_RETRY_BASE", DEFAULT_RETRY_BASE_S),
            retry_cap_s=env.number("LEADSYNC_RETRY_CAP", DEFAULT_RETRY_CAP_S),
            max_attempts=env.integer("LEADSYNC_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS),
            lease_ttl_s=env.number("LEADSYNC_LEASE_TTL", DEFAULT_LEASE_TTL_S),
            requeue_after_s=env.number("LEADSYNC_REQUEUE_AFTER", DEFAULT_REQUEUE_AFTER_S),
            limiter_enabled=env.flag("LEADSYNC_LIMITER", default=True),
            log_pii=env.flag("LEADSYNC_LOG_PII", default=False),
            state_dir=Path(env.text("LEADSYNC_STATE_DIR") or DEFAULT_STATE_DIR),
            queue=env.text("LEADSYNC_QUEUE") or DEFAULT_QUEUE,
        )


def read_environment(
    environ: Mapping[str, str] | None = None, *, env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """`environ` (default: the process environment) over the values of `env_file`, if it exists."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return values


class _Env:
    """Typed reads of environment values, with errors that name the variable."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def text(self, name: str) -> str | None:
        value = self._values.get(name, "").strip()
        return value or None

    def integer(self, name: str, default: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
        if value < 1:
            raise ConfigError(f"{name}: must be at least 1, got {value}")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number of seconds, got {raw!r}") from None
        if value <= 0:
            raise ConfigError(f"{name}: must be positive, got {raw!r}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, default: str) -> str:
        value = (self.text(name) or default).lower()
        if value not in choices:
            raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
        return value

    def flag(self, name: str, *, default: bool) -> bool:
        raw = self.text(name)
        if raw is None:
            return default
        lowered = raw.lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name}: expected 1/0, true/false, yes/no or on/off, got {raw!r}")
