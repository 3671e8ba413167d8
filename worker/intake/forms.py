"""Per-form configuration: which form fields become which Marketo attributes, and who may post.

The file named by `LEADSYNC_FORMS` is JSON or TOML (by its suffix) with one table per form:

    [forms.contact]
    email_field = "email"                 # the form field holding the lead's email (its key)
    fields = { first_name = "FirstName", company = "Company" }   # form field -> attribute
    thank_you_url = "https://www.example.com/thanks"             # 303 target; JSON if absent
    allowed_origins = ["https://www.example.com"]                # CORS allow-list
    honeypot = "website"                  # a hidden field humans leave empty
    workspace = "Europe"                  # optional Marketo workspace for this form's leads

Form fields that are not mapped are ignored, so a crafted post cannot set other attributes.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.config import ConfigError

COOKIE_FIELD = "_mkto_trk"  # Munchkin's cookie name, also accepted as a hidden form field


@dataclass(frozen=True, slots=True)
class FormConfig:
    """One form's mapping, redirect, CORS allow-list and honeypot."""

    name: str
    email_field: str = "email"
    fields: Mapping[str, str] = field(default_factory=dict)
    thank_you_url: str | None = None
    allowed_origins: frozenset[str] = frozenset()
    honeypot: str | None = None
    workspace: str | None = None

    def allows_origin(self, origin: str | None) -> bool:
        """True when a browser at `origin` may post (no Origin header: not a browser, allowed)."""
        return origin is None or origin in self.allowed_origins


def load_forms(path: Path) -> dict[str, FormConfig]:
    """Read the forms file; a malformed one stops the intake with a message naming the entry."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as error:
        raise ConfigError(f"LEADSYNC_FORMS: cannot read {path}: {error}") from None
    forms = data.get("forms") if isinstance(data, dict) else None
    if not isinstance(forms, dict):
        raise ConfigError(f"LEADSYNC_FORMS: {path} needs a top-level 'forms' table")
    return {name: _form(name, entry) for name, entry in forms.items()}


def _form(name: str, entry: Any) -> FormConfig:
    where = f"LEADSYNC_FORMS: forms.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a table")
    known = {"email_field", "fields", "thank_you_url", "allowed_origins", "honeypot", "workspace"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}")
    fields = entry.get("fields", {})
    if not isinstance(fields, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in fields.items()
    ):
        raise ConfigError(f"{where}.fields: must map form field names to attribute names")
    origins = entry.get("allowed_origins", [])
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ConfigError(f"{where}.allowed_origins: must be a list of origins")
    for setting in ("email_field", "thank_you_url", "honeypot", "workspace"):
        if setting in entry and not isinstance(entry[setting], str):
            raise ConfigError(f"{where}.{setting}: must be a string")
    return FormConfig(
        name=name,
        email_field=entry.get("email_field", "email"),
        fields=dict(fields),
        thank_you_url=entry.get("thank_you_url"),
        allowed_origins=frozenset(o.rstrip("/") for o in origins),
        honeypot=entry.get("honeypot"),
        workspace=entry.get("workspace"),
    )
