"""The intake's own settings (`LEADSYNC_API_KEYS`, `LEADSYNC_FORMS`, limits), read once at start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from worker.config import ConfigError, RateLimit, Secret, read_environment
from worker.intake.forms import FormConfig, load_forms

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024  # a full batch of 1,000 jobs with a few attributes each
DEFAULT_FORM_MAX_BODY_BYTES = 64 * 1024  # a browser form post, files excluded
DEFAULT_FORM_RATE_LIMIT = "20/60"  # form posts per client IP per window of seconds
DEFAULT_IDEMPOTENCY_TTL_S = 24 * 3600  # how long an Idempotency-Key remembers its job ids
DEFAULT_FORM_DEDUPE_WINDOW_S = 10  # an identical form post within this window is a double click
MAX_BATCH_JOBS = 1000


@dataclass(frozen=True, slots=True)
class IntakeSettings:
    """What the HTTP intake needs beyond the shared `Settings`; API keys stay hidden in `Secret`."""

    api_keys: tuple[Secret, ...] = ()
    forms: Mapping[str, FormConfig] = field(default_factory=dict)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    form_max_body_bytes: int = DEFAULT_FORM_MAX_BODY_BYTES
    form_rate_limit: RateLimit = field(
        default_factory=lambda: RateLimit.parse(DEFAULT_FORM_RATE_LIMIT)
    )
    idempotency_ttl_s: int = DEFAULT_IDEMPOTENCY_TTL_S
    form_dedupe_window_s: int = DEFAULT_FORM_DEDUPE_WINDOW_S

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> IntakeSettings:
        """Read the `LEADSYNC_*` intake variables listed in the README."""
        # `.env` counts only for the process environment, not for an explicit mapping.
        env = read_environment(environ, env_file=Path(".env") if environ is None else None)

        def text(name: str) -> str:
            return env.get(name, "").strip()

        def positive(name: str, default: int) -> int:
            raw = text(name)
            if not raw:
                return default
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigError(f"{name}: expected a positive whole number, got {raw!r}")
            return int(raw)

        keys = tuple(
            Secret(key.strip()) for key in text("LEADSYNC_API_KEYS").split(",") if key.strip()
        )
        forms_path = text("LEADSYNC_FORMS")
        rate = text("LEADSYNC_FORM_RATE_LIMIT") or DEFAULT_FORM_RATE_LIMIT
        return cls(
            api_keys=keys,
            forms=load_forms(Path(forms_path)) if forms_path else {},
            max_body_bytes=positive("LEADSYNC_INTAKE_MAX_BODY", DEFAULT_MAX_BODY_BYTES),
            form_max_body_bytes=positive("LEADSYNC_FORM_MAX_BODY", DEFAULT_FORM_MAX_BODY_BYTES),
            form_rate_limit=RateLimit.parse(rate, name="LEADSYNC_FORM_RATE_LIMIT"),
            idempotency_ttl_s=positive("LEADSYNC_IDEMPOTENCY_TTL", DEFAULT_IDEMPOTENCY_TTL_S),
            form_dedupe_window_s=positive(
                "LEADSYNC_FORM_DEDUPE_WINDOW", DEFAULT_FORM_DEDUPE_WINDOW_S
            ),
        )
